#!/usr/bin/env bash
# Runs the whole test suite on other Node.js versions, taken from the npm
# registry's `node` package (which ships the official binary for this
# platform), without touching the system's Node:
#
#   scripts/test-on-node.sh 26          # newest 26.x
#   scripts/test-on-node.sh 26.10.0
#   scripts/test-on-node.sh 22 24 26    # one after the other; stops at the first failure
#
# The binary is installed into a cache folder (NODE_VERSIONS_DIR, default
# ~/.cache/name-echo/node-VERSION) and put first on PATH, so the test runner
# and every server the tests start (they use process.execPath) run on it.
# `npm test` itself (tsc, then node --test) runs under that node, so the
# command is exactly the one the README gives.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
  echo "usage: scripts/test-on-node.sh VERSION... (e.g. 26, 26.10.0, or 22 24 26)" >&2
  exit 2
fi
if [ "$#" -gt 1 ]; then
  for version in "$@"; do "$0" "$version"; done
  exit 0
fi

version="$1"
prefix="${NODE_VERSIONS_DIR:-$HOME/.cache/name-echo}/node-$version"
node_bin="$prefix/node_modules/node/bin/node"

if [ ! -x "$node_bin" ]; then
  mkdir -p "$prefix"
  # --no-save/--no-package-lock: a throwaway prefix, not a dependency of the project.
  # The package's preinstall script fetches the platform's binary package from the same registry.
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund "node@$version" >/dev/null
fi
if [ ! -x "$node_bin" ]; then
  # If an npm that does not run install scripts skipped that step, install the
  # platform package it would have installed (same registry, same binary).
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
  platform_package="node-$(uname -s | tr '[:upper:]' '[:lower:]')-$arch"
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund "$platform_package@$version" >/dev/null
  node_bin="$prefix/node_modules/$platform_package/bin/node"
fi
if [ ! -x "$node_bin" ]; then
  echo "test-on-node: no node binary at $node_bin after installing node@$version" >&2
  exit 1
fi

export PATH="$(dirname "$node_bin"):$PATH"
echo "test-on-node: running the suite on node $(node --version) ($node_bin)"
npm test
