#!/usr/bin/env bash
# npm run bench:compare [-- extra compare.py flags]
#
# Builds the yardstick in bench/ (the C load generator and the C and Go
# peers: gcc and make needed, Go optional), runs bench/compare.py with
# name-echo as two more targets, and writes the Markdown table to
# bench/results/<date>.md. Everything it uses is in this repository; see
# bench/README.md.
#
# Extra arguments go to compare.py, e.g. `npm run bench:compare -- --quick`
# or `-- --servers c-epoll,go --workloads pingpong`.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$repo/bench
for tool in gcc make python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench-compare: $tool is needed (on Debian: apt-get install gcc make libc6-dev python3)" >&2
    exit 1
  fi
done
[[ -f $repo/dist/src/cli/main.js ]] || (cd "$repo" && npx tsc -p tsconfig.json)
# Builds bench/build (incremental); without Go the go peer is skipped with a note.
make -C "$bench" >&2

# The run's raw records and server logs go to a temporary folder; only the
# table is kept.
work=$(mktemp -d "${TMPDIR:-/tmp}/name-echo-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Three name-echo targets side by side: as `npm start` runs it (default
# logging: a line per connect and disconnect, summarised past 100 a second),
# with --quiet, so what the log costs is read off one run, and on the
# current LTS line of Node (below).
# --max-connections 20000: the big hold opens 19,800 connections, past the
# default limit of 10,000.
flags="--port {port} --name {name} --max-connections 20000"
bin=$(printf %q "$repo/bin/name-echo")
target="name-echo=node $bin serve $flags"
quiet="name-echo-quiet=node $bin serve $flags --quiet"
# The same server on the current LTS line, from the npm registry (see
# scripts/node-line.sh), beside the machine's Node: what upgrading Node gives.
# NAME_ECHO_BENCH_LTS=none leaves it out; another version number picks that line.
lts=${NAME_ECHO_BENCH_LTS:-24}
targets=(--target "$target" --target "$quiet")
big=c-epoll,go,node-readline,node-raw,bun,name-echo
if [[ $lts != none ]]; then
  lts_node=$("$repo/scripts/node-line.sh" "$lts" 2>/dev/null)
  targets+=(--target "name-echo-node$lts=$(printf %q "$lts_node") $bin serve $flags")
  big+=",name-echo-node$lts"
fi
out=$bench/results/$(date +%Y-%m-%d_%H%M).md
mkdir -p "$bench/results"
python3 "$bench/compare.py" "${targets[@]}" --hold-big-servers "$big" \
  --out "$work/run" "$@" > "$work/table.md"
{
  echo "<!-- npm run bench:compare $*; $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) CPUs; node $(node --version) -->"
  cat "$work/table.md"
} > "$out"
echo "bench-compare: table written to ${out#$repo/}" >&2
