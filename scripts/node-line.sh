#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given version, taken from the npm
# registry's `node` package (which ships the official binary for this
# platform) and installed once into a cache folder, without touching the
# system's Node:
#
#   scripts/node-line.sh 24          # newest 24.x
#   scripts/node-line.sh 26.10.0
#
# The cache folder is NODE_VERSIONS_DIR (default ~/.cache/name-echo/node-VERSION).
# Used by scripts/test-on-node.sh (the suite on other Node lines) and
# scripts/bench-compare.sh (name-echo on the current LTS beside the machine's Node).
set -euo pipefail

if [ "$#" -ne 1 ]; then
  echo "usage: scripts/node-line.sh VERSION (e.g. 24 or 26.10.0)" >&2
  exit 2
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
  node_bin="$prefix/node_modules/$platform_package/bin/node"
  [ -x "$node_bin" ] || npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund "$platform_package@$version" >/dev/null
fi
if [ ! -x "$node_bin" ]; then
  echo "node-line: no node binary at $node_bin after installing node@$version" >&2
  exit 1
fi
echo "$node_bin"
