#!/usr/bin/env bash
# CPU profile of the meshlet proxy under wrk load, through the same harness as bench/run.sh (proxy pinned to
# CPU 1, wrk and the nginx backend on CPU 0): one throughput run per runtime with the profiler on, then a
# self-time summary per function/file (bench/profile-summary.mjs).
#
#   bash bench/profile.sh                        # node, /hello, c64, 8 s
#   bash bench/profile.sh --runtimes node,bun,deno --duration 8 --payloads hello
#
# Node and Bun: --cpu-prof (.cpuprofile, summarized with bench/profile-summary.mjs; Node frames are mapped to the
# .ts sources through dist/node/main.js.map). Deno: --v8-flags=--prof (V8 tick log, processed with
# `node --prof-process`; JS frames of the .ts sources keep their file names).
# Profiling slows the proxy (sampling at 1 kHz...): compare the req/s of this run only with itself.
# Other options are passed to the harness (e.g. --conns, --warmup). Results: RUNDIR/prof/ and RUNDIR/profile.md.
set -euo pipefail
{ # one brace group: parsed whole before it runs (safe to edit during a run)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNTIMES="node"; OUT=""
declare -a PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runtimes) RUNTIMES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) PASS+=("$1"); shift ;;
  esac
done
HOME_DIR="${MESHLET_BENCH_HOME:-$HOME/.cache/meshlet-bench}"
if [ -z "${MESHLET_BENCH_HOME:-}" ] && [ "$(id -u)" = 0 ] && command -v runuser >/dev/null \
   && ! runuser -u nobody -- test -x "$HOME" 2>/dev/null; then
  HOME_DIR=/var/tmp/meshlet-bench
fi
[ -n "$OUT" ] || OUT="$HOME_DIR/results/profile-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT/prof"; OUT="$(cd "$OUT" && pwd)"

# bench/run.sh builds the snapshot, resolves the binaries and runs the harness; the profiler flags go in through
# MESHLET_BENCH_{NODE,BUN,DENO}_FLAGS.
PROF="$OUT/prof"
export MESHLET_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=$PROF/node"
export MESHLET_BENCH_BUN_FLAGS="--cpu-prof --cpu-prof-dir=$PROF/bun"
export MESHLET_BENCH_DENO_FLAGS="--v8-flags=--prof,--logfile=$PROF/deno/v8.log,--no-logfile-per-isolate"
mkdir -p "$PROF/node" "$PROF/bun" "$PROF/deno"
rc=0
bash "$REPO/bench/run.sh" --out "$OUT" --runtimes "$RUNTIMES" --only none --no-direct --no-lat --reps 1 \
  --payloads hello "${PASS[@]+"${PASS[@]}"}" || rc=$?

{
  echo "# meshlet CPU profiles ($(date -Is))"
  echo
  echo "Throughput while profiling (profiler overhead included):"
  echo
  awk -F'\t' 'NR>1{printf "- %s %s: %s req/s, proxy CPU %s us/req\n", $2, $1, $4, $11}' "$OUT/results.tsv" 2>/dev/null
  echo
  for p in "$PROF"/node/*.cpuprofile "$PROF"/bun/*.cpuprofile; do
    [ -f "$p" ] || continue
    echo "### $(basename "$(dirname "$p")")"
    node "$REPO/bench/profile-summary.mjs" --top 30 "$p"
  done
  if [ -s "$PROF/deno/v8.log" ]; then
    echo "### deno (node --prof-process on the V8 tick log)"
    echo '```'
    ( cd "$OUT/src" 2>/dev/null || cd "$REPO"; node --prof-process "$PROF/deno/v8.log" 2>/dev/null | sed -n '1,60p' )
    echo '```'
  fi
} > "$OUT/profile.md"
cat "$OUT/profile.md"
echo "profile: $OUT/profile.md (raw profiles in $PROF)"
exit $rc
}
