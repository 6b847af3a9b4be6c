#!/usr/bin/env bash
# meshlet HTTP/1.1 benchmark: meshlet on Node, Bun and Deno against direct, nginx and haproxy, all in one run
# of the shared proxy harness (../shared/bench: wrk -> proxy -> nginx upstream, proxy pinned to CPU 1, load and
# backend on CPU 0, interleaved reps, medians). See docs/benchmarks.md.
#
#   bash bench/run.sh                                   # throughput (/hello, /16k at c64) + low-rate latency
#   bash bench/run.sh --duration 8 --reps 3             # any other option goes to the harness
#   bash bench/run.sh --only nginx --no-lat --payloads hello
#   bash bench/run.sh --runtimes node,bun               # which meshlet runtimes (default node,bun,deno)
#
# Own options (everything else is passed through to the harness's run.sh; see `bash bench/run.sh --help`):
#   --runtimes LIST   meshlet runtimes to measure: node,bun,deno (default all three)
#   --no-snapshot     run meshlet from the working tree instead of a frozen copy (see below)
#   --no-build        do not build; use dist/node/main.js as it is
# Environment: MESHLET_BENCH_HOME (harness copy, default ~/.cache/meshlet-bench, or /var/tmp/meshlet-bench when
# running as root with a $HOME the backend's nginx workers cannot read), SHARED_BENCH (the shared harness,
# default ../shared/bench next to the repo or /work/shared/bench).
#
# Snapshot (default): the sources are copied into RUNDIR/src once, the Node bundle is built there with tsup and
# Bun/Deno run the copied .ts files, so every rep of the run measures the same code even when the working tree
# changes meanwhile, and the repo's dist/ is left alone. With --no-snapshot, `npm run build` runs in the repo
# root when dist/node/main.js is missing or older than a source file.
set -euo pipefail
# The whole script is one brace group, so bash parses it completely before running: editing this file during a
# (long) run cannot break the run.
{
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$REPO/bench/lib.sh"
bench_home

RUNTIMES="node,bun,deno"; SNAPSHOT=1; BUILD=1; OUT=""
declare -a PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runtimes) RUNTIMES=$2; shift 2 ;;
    --runtimes=*) RUNTIMES=${1#*=}; shift ;;
    --no-snapshot) SNAPSHOT=0; shift ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    -h|--help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
      [ -x "$HARNESS" ] && { echo; echo "Harness options:"; bash "$HARNESS" --help; }
      exit 0 ;;
    *) PASS+=("$1"); shift ;;
  esac
done

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- the harness (one-time setup: apt tools + a writable copy)
ensure_harness
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && ! runuser -u nobody -- test -r "$HOME_DIR/www/16k" 2>/dev/null; then
  log "WARN: nginx workers (user nobody) cannot read $HOME_DIR/www/16k: /16k will fail; set MESHLET_BENCH_HOME"
fi

# ---- results dir --------------------------------------------------------------------------------------
[ -n "$OUT" ] || OUT="$HOME_DIR/results/meshlet-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# ---- runtimes -----------------------------------------------------------------------------------------
want() { case ",$RUNTIMES," in *",$1,"*) return 0 ;; esac; return 1; }
NM="$REPO/node_modules"
find_runtimes

# ---- the code under test ------------------------------------------------------------------------------
stale_dist() { # dist/node/main.js missing or older than a source file under $1
  [ -f "$1/dist/node/main.js" ] || return 0
  [ -n "$(find "$1/core" "$1/adapters" "$1/proto" -name '*.ts' -newer "$1/dist/node/main.js" -print -quit 2>/dev/null)" ]
}
if [ $SNAPSHOT = 1 ]; then
  SRC="$OUT/src"
  log "snapshot of the sources -> $SRC"
  snapshot_src "$SRC"
  if [ $BUILD = 1 ]; then
    log "building the Node bundle in the snapshot (tsup)"
    ( cd "$SRC" && "$NM/.bin/tsup" --silent >"$OUT/build.log" 2>&1 ) || { cat "$OUT/build.log" >&2; die "tsup build failed"; }
  else
    mkdir -p "$SRC/dist"; cp -r "$REPO/dist/node" "$SRC/dist/"
  fi
else
  SRC="$REPO"
  if [ $BUILD = 1 ] && stale_dist "$REPO"; then
    log "dist/node/main.js missing or stale: npm run build"
    ( cd "$REPO" && npm run build >&2 ) || die "npm run build failed"
  fi
fi
if want node && [ ! -f "$SRC/dist/node/main.js" ]; then die "no $SRC/dist/node/main.js"; fi

# The harness runs CMD with `bash -c` in its own cwd: every path below is absolute.
# The config sits in a folder of its own: meshlet watches the config file's directory, and the harness writes
# into RUNDIR during runs (results, snapshots), which would wake the watcher.
WC="node $REPO/bench/write-config.mjs {LISTEN} {UPSTREAMS} {RUNDIR}/meshlet-config/meshlet.json"
CFG="{RUNDIR}/meshlet-config/meshlet.json"
declare -a PROXIES=()
# MESHLET_BENCH_{NODE,BUN,DENO}_FLAGS: extra runtime flags (bench/profile.sh uses them for --cpu-prof).
NF="${MESHLET_BENCH_NODE_FLAGS:-}"; BF="${MESHLET_BENCH_BUN_FLAGS:-}"; DF="${MESHLET_BENCH_DENO_FLAGS:-}"
want node && PROXIES+=(--proxy "meshlet-node=cd $SRC && $WC && exec node ${NF:+$NF }dist/node/main.js proxy -c $CFG --no-access-log")
want bun  && PROXIES+=(--proxy "meshlet-bun=cd $SRC && $WC && exec $BUN ${BF:+$BF }adapters/bun/main.ts proxy -c $CFG --no-access-log")
want deno && PROXIES+=(--proxy "meshlet-deno=cd $SRC && $WC && exec $DENO run -A ${DF:+$DF }adapters/deno/main.ts proxy -c $CFG --no-access-log")

# default built-ins: nginx + haproxy (direct always runs unless --no-direct); --only in PASS adds/overrides
ONLY_SET=0
for a in "${PASS[@]+"${PASS[@]}"}"; do case "$a" in --only|--only=*) ONLY_SET=1 ;; esac; done
[ $ONLY_SET = 1 ] || PASS=(--only nginx,haproxy "${PASS[@]+"${PASS[@]}"}")

{
  echo "meshlet: $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null) (snapshot=$SNAPSHOT, src $SRC)"
  echo "node: $(node -v)"
  [ -n "$BUN" ] && echo "bun: $("$BUN" --version) ($BUN)"
  [ -n "$DENO" ] && echo "deno: $("$DENO" --version | head -1) ($DENO)"
} > "$OUT/meshlet-meta.txt"
cat "$OUT/meshlet-meta.txt" >&2

rc=0
bash "$HARNESS" --out "$OUT" "${PROXIES[@]+"${PROXIES[@]}"}" "${PASS[@]+"${PASS[@]}"}" || rc=$?
if [ -s "$OUT/results.tsv" ]; then
  node "$REPO/bench/report.mjs" "$OUT" > "$OUT/meshlet-report.md" && { echo; cat "$OUT/meshlet-report.md"; }
fi
echo
echo "results: $OUT  (harness summary: $OUT/results.md, meshlet report: $OUT/meshlet-report.md, raw: $OUT/results.tsv)"
exit $rc
}
