#!/usr/bin/env bash
# Runs the whole test suite on other Node.js versions, taken from the npm
# registry's `node` package (which ships the official binary for this
# platform), without touching the system's Node:
#
#   scripts/test-on-node.sh 26          # newest 26.x
#   scripts/test-on-node.sh 26.10.0
#   scripts/test-on-node.sh 22 24 26    # one after the other; stops at the first failure
#
# The binary is installed by scripts/node-line.sh into a cache folder
# (NODE_VERSIONS_DIR, default ~/.cache/name-echo/node-VERSION) and put first on PATH, so the test runner
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
node_bin=$(scripts/node-line.sh "$version")

export PATH="$(dirname "$node_bin"):$PATH"
echo "test-on-node: running the suite on node $(node --version) ($node_bin)"
npm test
