#!/usr/bin/env bash
# Routing and balancing cost benchmark (issue 3, item 10): "with 100 routes and 50 endpoints per service, routing
# and balancing add less than 10 % CPU per request over the foundation's single-route case, measured in one run".
# One run of the shared harness (wrk -c64 /hello -> proxy pinned to CPU 1 -> nginx backend; wrk and backend on
# CPU 0), configurations interleaved rep by rep, medians. See docs/benchmarks.md, "Routing and balancing cost".
#
#   bash bench/routing.sh                                   # node,bun,deno x variants a,b,c; 5 reps of 10 s
#   bash bench/routing.sh --runtimes node --reps 1 --duration 3      # quick validation
#   bash bench/routing.sh --variants a,b,c,d,e              # plus the two variants that split (c)'s cost
#
# Variants (each on every runtime asked for):
#   a  the foundation: meshlet at commit 2ef6462 (before issue 3), one service, 2 endpoints, round-robin
#   b  current code, the same config: one service, its default route, 2 endpoints, PeakEWMA (the default)
#   c  current code, 100 HTTPRoutes over 10 services of 50 endpoints each; the measured request tries 10 match
#      entries of higher precedence before its route sends it to "bench" (PeakEWMA over 50 endpoints)
#   d  (diagnostic) c's 100 routes with 2 endpoints per service: the route-matching share of c
#   e  (diagnostic) b with 50 endpoints: the balancing/pooling share of c
#   f  (diagnostic) a with 50 endpoints (the foundation, round-robin): what 50 endpoints cost without issue 3
#   g  (diagnostic) e with round-robin instead of PeakEWMA
# The report gives CPU us/request and req/s per variant and runtime, and the ratios b/a, c/b, c/a (ratio of
# medians, and the median of the per-rep ratios: the reps are interleaved, so rep k of each variant ran minutes
# apart at most).
#
# Own options (everything else goes to the harness's run.sh, e.g. --warmup, --conns, --foreign-max, --only nginx):
#   --runtimes LIST    node,bun,deno (default all three)
#   --variants LIST    a,b,c (default); d, e, f, g are diagnostics
#   --reps N (5)  --duration S (10)
#   --routes N (100)  --endpoints M (50)  --services S (10)   shape of variants c/d/e
#   --foundation REV   the "before" commit (default 2ef6462)
#   --out DIR          results dir (default MESHLET_BENCH_HOME/results/routing-DATE)
#   --profile          CPU profiles of every proxy (Node/Bun --cpu-prof, Deno --prof), summarized per function into
#                      RUNDIR/profile.md with bench/profile-summary.mjs; profiling slows the proxies, so the
#                      numbers of such a run compare only with each other. E.g.
#                      bash bench/routing.sh --profile --runtimes node,bun --variants a,c --reps 1 --duration 8
#
# The 50 endpoints: the harness's backend nginx listens on 127.0.0.1:18081 and :18082 only. This script runs the
# harness from its own copy (RUNDIR/harness) whose backend template also listens on 127.0.0.2..127.0.0.25 on both
# ports (all of 127.0.0.0/8 is local on Linux; no interface changes), so endpoint i = 127.0.0.(1+i/2):1808(1+i%2)
# is a real, answering upstream, and all traffic stays on loopback. Before each start of a many-endpoint variant
# its command line checks that every endpoint answers /hello (curl, before the proxy starts: not measured).
#
# Snapshots: RUNDIR/src (the working tree's core/ adapters/ proto/, Node bundle built with tsup) and
# RUNDIR/src-foundation (`git archive REV`, built the same way); both use the repo's node_modules through a
# symlink (package.json and the lock file are the same at both commits). Bun and Deno run the snapshots' .ts.
# Before the harness starts, bench/routing-preflight.mjs checks on the current snapshot that the measured request
# takes the intended route to a PeakEWMA balancer over all endpoints.
#
# Environment: MESHLET_BENCH_HOME, SHARED_BENCH as for bench/run.sh.
set -euo pipefail
{ # one brace group: parsed whole before it runs (safe to edit during a run)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$REPO/bench/lib.sh"
bench_home

RUNTIMES="node,bun,deno"; VARIANTS="a,b,c"; REPS=5; DURATION=10
ROUTES=100; ENDPOINTS=50; SERVICES=10; FOUNDATION=2ef6462; OUT=""; PROFILE=0
declare -a PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runtimes) RUNTIMES=$2; shift 2 ;;
    --variants) VARIANTS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --routes) ROUTES=$2; shift 2 ;;
    --endpoints) ENDPOINTS=$2; shift 2 ;;
    --services) SERVICES=$2; shift 2 ;;
    --foundation) FOUNDATION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --profile) PROFILE=1; shift ;;
    -h|--help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0 ;;
    *) PASS+=("$1"); shift ;;
  esac
done

log() { printf '[routing] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
want() { case ",$RUNTIMES," in *",$1,"*) return 0 ;; esac; return 1; }
wantv() { case ",$VARIANTS," in *",$1,"*) return 0 ;; esac; return 1; }

ensure_harness

[ -n "$OUT" ] || OUT="$HOME_DIR/results/routing-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
T0=$SECONDS

# ---- runtimes
NM="$REPO/node_modules"
[ -d "$NM" ] || die "no node_modules in $REPO (npm ci)"
find_runtimes

# ---- snapshots of the code under test
SRC="$OUT/src"; SRCF="$OUT/src-foundation"
log "snapshot of the working tree -> $SRC"
snapshot_src "$SRC"
if wantv a || wantv f; then
  log "snapshot of $FOUNDATION -> $SRCF"
  rm -rf "$SRCF"; mkdir -p "$SRCF"
  ( cd "$REPO" && git archive "$FOUNDATION" -- $(git ls-tree --name-only "$FOUNDATION" | grep -E \
      '^(core|adapters|proto|package\.json|deno\.json|tsconfig\.json|tsconfig\.build\.json|tsup\.config\.ts)$') ) \
    | tar -x -C "$SRCF" || die "git archive $FOUNDATION failed"
  ( cd "$REPO" && git diff --quiet "$FOUNDATION" HEAD -- package.json package-lock.json ) \
    || log "WARN package.json/package-lock.json differ between $FOUNDATION and HEAD; the foundation uses HEAD's node_modules"
  ln -s "$NM" "$SRCF/node_modules"
  ( cd "$REPO" && git rev-parse "$FOUNDATION" ) > "$SRCF/GIT_STATE"
fi
build() {
  log "building the Node bundle in $1 (tsup)"
  ( cd "$1" && "$NM/.bin/tsup" --silent >"$1/build.log" 2>&1 ) || { cat "$1/build.log" >&2; die "tsup build failed in $1"; }
}
if want node; then
  build "$SRC"
  { wantv a || wantv f; } && build "$SRCF"
fi
# the bench scripts too: a run uses the versions it started with
mkdir -p "$OUT/scripts"
cp "$REPO/bench/write-config.mjs" "$REPO/bench/write-routing-config.mjs" "$REPO/bench/routing-preflight.mjs" \
   "$REPO/bench/routing-report.mjs" "$REPO/bench/stats.mjs" "$OUT/scripts/"
S="$OUT/scripts"

# ---- harness copy whose backend also listens on the extra loopback addresses
H="$OUT/harness"
NADDR=$(( (ENDPOINTS + 1) / 2 ))
[ "$NADDR" -le 254 ] || die "--endpoints too large"
rm -rf "$H"; mkdir -p "$H"
cp -r "$HOME_DIR/run.sh" "$HOME_DIR/lib" "$HOME_DIR/conf" "$HOME_DIR/www" "$HOME_DIR/package.json" "$H/"
[ -d "$HOME_DIR/node_modules" ] && ln -s "$HOME_DIR/node_modules" "$H/node_modules"
TPL="$H/conf/backend-nginx.conf.tmpl"
grep -q 'listen 127.0.0.1:@BE2@ backlog=4096;' "$TPL" || die "unexpected backend template in $HOME_DIR/conf (no 'listen 127.0.0.1:@BE2@' line)"
awk -v n="$NADDR" '
  { print }
  /listen 127\.0\.0\.1:@BE2@ backlog=4096;/ && !done {
    for (a = 2; a <= n; a++) printf "        listen 127.0.0.%d:@BE1@ backlog=4096;  listen 127.0.0.%d:@BE2@ backlog=4096;\n", a, a
    print "        add_header X-Upstream-Addr $server_addr always;   # routing.sh: which loopback address answered"
    done = 1
  }' "$TPL" > "$TPL.new" && mv "$TPL.new" "$TPL"
log "harness copy $H: backend listens on 127.0.0.1..127.0.0.$NADDR, ports BE1 and BE2 ($((NADDR * 2)) endpoints)"

# ---- preflight: the measured request takes the intended route (static check on the current snapshot)
node "$S/write-routing-config.mjs" 127.0.0.1:18080 127.0.0.1:18081,127.0.0.1:18082 "$OUT/preflight/meshlet.json" \
  --routes "$ROUTES" --endpoints "$ENDPOINTS" --services "$SERVICES"
( cd "$SRC" && "$NM/.bin/tsx" "$S/routing-preflight.mjs" "$SRC" "$OUT/preflight/meshlet.json" ) > "$OUT/preflight.txt" 2>&1 \
  || { cat "$OUT/preflight.txt" >&2; die "preflight failed"; }
sed 's/^/[preflight] /' "$OUT/preflight.txt" >&2

# ---- the proxies: variant x runtime
# CMD runs under `bash -c` in the harness's cwd (absolute paths only); each variant has its own config folder
# (meshlet watches the config's directory, and the harness writes into RUNDIR during runs).
# Many-endpoint variants first check that every endpoint answers (before exec: not part of the measurement).
EPCHECK="for e in \$(node -e 'for (const s of require(process.argv[1]).services[0].endpoints) console.log(s)' {RUNDIR}/CFGDIR/meshlet.json); do \
[ \"\$(curl -s --max-time 2 http://\$e/hello)\" = hello ] || { echo \"endpoint \$e does not answer\" >&2; exit 1; }; done"
declare -a PROXIES=()
add() { # variant runtime srcdir writer-command endpoint-check(0|1)
  local v=$1 rt=$2 dir=$3 wc=$4 chk=$5 name cfgdir run pre=""
  case "$v" in a) name=a-foundation ;; b) name=b-single ;; c) name=c-routes ;; d) name=d-routes-2ep ;; e) name=e-single-${ENDPOINTS}ep ;;
    f) name=f-foundation-${ENDPOINTS}ep ;; g) name=g-single-${ENDPOINTS}ep-rr ;; esac
  cfgdir="cfg-$v"
  local cfg="{RUNDIR}/$cfgdir/meshlet.json"
  local pd=""; [ $PROFILE = 1 ] && pd="$OUT/prof/$name-$rt"
  run="$(proxy_cmd "$rt" "$cfg" "$pd")"
  [ "$chk" = 1 ] && pre="${EPCHECK//CFGDIR/$cfgdir} && "
  PROXIES+=(--proxy "$name-$rt=cd $dir && ${wc//OUTFILE/$cfg} && $pre$run")
}
WC_SINGLE="node $S/write-config.mjs {LISTEN} {UPSTREAMS} OUTFILE"
WC_ROUTES="node $S/write-routing-config.mjs {LISTEN} {UPSTREAMS} OUTFILE --services $SERVICES"
for rt in node bun deno; do
  want "$rt" || continue
  wantv a && add a "$rt" "$SRCF" "$WC_SINGLE" 0
  wantv b && add b "$rt" "$SRC" "$WC_SINGLE" 0
  wantv c && add c "$rt" "$SRC" "$WC_ROUTES --routes $ROUTES --endpoints $ENDPOINTS" 1
  wantv d && add d "$rt" "$SRC" "$WC_ROUTES --routes $ROUTES --endpoints 2" 0
  wantv e && add e "$rt" "$SRC" "$WC_ROUTES --routes 0 --endpoints $ENDPOINTS --services 1" 1
  wantv f && add f "$rt" "$SRCF" "$WC_ROUTES --routes 0 --endpoints $ENDPOINTS --services 1" 1
  wantv g && add g "$rt" "$SRC" "$WC_ROUTES --routes 0 --endpoints $ENDPOINTS --services 1 --balancer round-robin" 1
done
[ ${#PROXIES[@]} -gt 0 ] || die "nothing to measure (--runtimes/--variants)"

{
  echo "meshlet: $(cd "$REPO" && git rev-parse --short HEAD) + working tree (src $SRC); foundation $FOUNDATION (src $SRCF)"
  echo "variants: $VARIANTS; routes $ROUTES, endpoints $ENDPOINTS, services $SERVICES"
  echo "node: $(node -v)"
  [ -n "$BUN" ] && echo "bun: $("$BUN" --version)"
  [ -n "$DENO" ] && echo "deno: $("$DENO" --version | head -1)"
} > "$OUT/meshlet-meta.txt"
cat "$OUT/meshlet-meta.txt" >&2

rc=0
# only the proxies under test (no direct/nginx/haproxy unless asked with --only), /hello at c64, no latency set
bash "$H/run.sh" --out "$OUT" --only none --no-direct --no-lat --payloads hello --reps "$REPS" --duration "$DURATION" \
  "${PROXIES[@]}" "${PASS[@]+"${PASS[@]}"}" || rc=$?
if [ -s "$OUT/results.tsv" ]; then
  node "$S/routing-report.mjs" "$OUT" > "$OUT/routing-report.md" && { echo; cat "$OUT/routing-report.md"; }
fi
if [ $PROFILE = 1 ]; then
  {
    echo "# CPU profiles, routing benchmark ($(date -Is)); profiler overhead included in the numbers above"
    for pd in "$OUT"/prof/*; do
      [ -d "$pd" ] || continue
      n=$(basename "$pd")
      for p in "$pd"/*.cpuprofile; do
        [ -f "$p" ] || continue
        echo; echo "## $n ($(basename "$p"))"; echo
        node "$REPO/bench/profile-summary.mjs" --top 40 "$p"
      done
      if [ -s "$pd/v8.log" ]; then
        echo; echo "## $n (node --prof-process on the V8 tick log)"; echo; echo '```'
        case "$n" in a-*|f-*) d=$SRCF ;; *) d=$SRC ;; esac
        ( cd "$d" && node --prof-process "$pd/v8.log" 2>/dev/null | sed -n '1,70p' )
        echo '```'
      fi
    done
  } > "$OUT/profile.md"
  echo "profiles: $OUT/profile.md (raw in $OUT/prof)"
fi
echo
echo "took $(( (SECONDS - T0) / 60 )) min $(( (SECONDS - T0) % 60 )) s; results: $OUT (report routing-report.md, raw results.tsv)"
exit $rc
}
