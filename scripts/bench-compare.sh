#!/usr/bin/env bash
# npm run bench:compare [-- extra compare.py flags]
#
# Runs the shared yardstick (../shared/bench beside this repository, or
# $NAME_ECHO_BENCH_DIR) with name-echo as one more target, and writes the
# Markdown table to bench/results/<date>.md. The yardstick folder may be
# read-only, so it is copied to a temporary folder and built there (gcc,
# make; go and socat for those peers: `make deps` installs them on Debian).
#
# Extra arguments go to compare.py, e.g. `npm run bench:compare -- --quick`
# or `-- --servers c-epoll,go --workloads pingpong`.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=${NAME_ECHO_BENCH_DIR:-$repo/../shared/bench}
if [[ ! -f $src/compare.py ]]; then
  echo "bench-compare: no yardstick at $src (set NAME_ECHO_BENCH_DIR to the folder holding compare.py)" >&2
  exit 2
fi
[[ -f $repo/dist/src/cli/main.js ]] || (cd "$repo" && npx tsc -p tsconfig.json)

work=$(mktemp -d "${TMPDIR:-/tmp}/name-echo-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
rm -rf "$work/build" "$work/results"
make -C "$work" >/dev/null

# Two name-echo targets side by side: as `npm start` runs it (default
# logging: a line per connect and disconnect, summarised past 100 a second)
# and with --quiet, so what the log costs is read off one run.
# --max-connections 20000: the big hold opens 19,800 connections, past the
# default limit of 10,000.
flags="--port {port} --name {name} --max-connections 20000"
target="name-echo=node $repo/bin/name-echo serve $flags"
quiet="name-echo-quiet=node $repo/bin/name-echo serve $flags --quiet"
out=$repo/bench/results/$(date +%Y-%m-%d_%H%M).md
mkdir -p "$repo/bench/results"
(cd "$work" && ./compare.py --target "$target" --target "$quiet" --hold-big-servers c-epoll,go,node-readline,name-echo --out "$work/results/run" "$@") > "$out.tmp"
{
  echo "<!-- npm run bench:compare $*; $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) CPUs; node $(node --version) -->"
  cat "$out.tmp"
} > "$out"
rm -f "$out.tmp"
echo "bench-compare: table written to ${out#$repo/}" >&2
