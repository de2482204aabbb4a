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
#
# `npm run bench:compare -- --workers-preset [compare.py flags]` (or
# NAME_ECHO_BENCH_WORKERS=1) measures what --workers costs instead: name-echo
# as one process and as `--workers 2` in each --balance mode this Node has,
# beside c-epoll (the ratios' baseline), at churn and pingpong. Every server
# is pinned to one core as usual, so the table shows the overhead of the
# design, not scaling (docs/performance.md says how to measure that).
set -euo pipefail

workers_preset=${NAME_ECHO_BENCH_WORKERS:-0}
if [[ ${1:-} == --workers-preset ]]; then
  workers_preset=1
  shift
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$repo/bench
for tool in gcc make python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench-compare: $tool is needed (on Debian: apt-get install gcc make libc6-dev python3)" >&2
    exit 1
  fi
done
[[ -f $repo/dist/src/cli/main.js ]] || (cd "$repo" && npm run build >&2)
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
if [[ $workers_preset == 1 ]]; then
  # The workers run on the LTS line where there is one, so that every mode
  # can be measured: reuseport needs Node 22.12+ / 23.1+ (and Linux).
  preset_node=node
  [[ $lts != none ]] && preset_node=$lts_node
  balances=$(cd "$repo" && "$preset_node" --input-type=module -e \
    'const { reusePortUnavailable } = await import("./dist/src/server/reuse-port.js"); console.log(reusePortUnavailable() === null ? "reuseport shared round-robin" : "shared round-robin")')
  preset_node=$(printf %q "$preset_node")
  targets=(--target "name-echo-quiet=$preset_node $bin serve $flags --quiet")
  for balance in $balances; do
    targets+=(--target "workers2-$balance=$preset_node $bin serve $flags --quiet --workers 2 --balance $balance")
  done
  out=${out%.md}_workers.md
  python3 "$bench/compare.py" --servers c-epoll --workloads churn,pingpong "${targets[@]}" \
    --out "$work/run" "$@" > "$work/table.md"
else
  python3 "$bench/compare.py" "${targets[@]}" --hold-big-servers "$big" \
    --out "$work/run" "$@" > "$work/table.md"
fi
preset_note=""
[[ $workers_preset == 1 ]] && preset_note=" -- --workers-preset"
{
  echo "<!-- npm run bench:compare$preset_note $*; $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) CPUs; node $(node --version)${lts_node:+, name-echo-node$lts on $("$lts_node" --version)} -->"
  cat "$work/table.md"
} > "$out"
echo "bench-compare: table written to ${out#$repo/}" >&2
