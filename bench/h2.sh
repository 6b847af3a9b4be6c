#!/usr/bin/env bash
# HTTP/2 and gRPC benchmark (issue 4, item 5): "h2 GET and gRPC unary via h2load through meshlet vs direct vs
# haproxy (h2 on both sides) in the same run, on each runtime; target >= 0.8x haproxy requests/s".
# One run of the shared harness's HTTP/2 set (h2load -t1 -c16 -m8 -> proxy pinned to CPU 1 -> nginx h2c backend;
# h2load and backend on CPU 0), every target started fresh per measurement, targets interleaved rep by rep,
# medians. See docs/benchmarks.md, "HTTP/2 and gRPC (issue 4)".
#
#   bash bench/h2.sh                                    # node,bun,deno; h2 GET /hello + gRPC unary; 3 reps of 10 s
#   bash bench/h2.sh --reps 1 --duration 3              # quick validation (everything starts, answers, routes)
#   bash bench/h2.sh --runtimes bun --sets grpc         # one runtime, one workload
#   bash bench/h2.sh --profile --runtimes node --sets grpc --reps 1 --duration 8   # CPU profiles (meshlet only)
#   node bench/h2-report.mjs RUNDIR [RUNDIR...]         # re-render a run's report (pools several runs)
#
# Targets (the harness's names), each on its own h2c listener 127.0.0.1:18080 unless direct:
#   direct-h2       h2load straight to the backend's h2c port (no proxy: the limit)
#   haproxy-h2      haproxy 2.6, h2c listener -> h2c upstreams (`proto h2` on both sides), `balance roundrobin`
#   meshlet-RT      meshlet on Node/Bun/Deno: its outbound listener (protocol detect: h2c with prior knowledge)
#                   -> one service with `protocol: h2c` over {UPSTREAMS_H2}, `balancer: round-robin` like haproxy's
#                   (bench/write-config.mjs --protocol h2c --balancer round-robin)
#   nginx-h2        only with --with-nginx, and only in the GET set: nginx cannot proxy h2 upstream (h2c -> h1)
# Workloads (sets):
#   hello  h2-hello: GET /hello (5-byte body), the harness's own HTTP/2 set
#   grpc   h2-grpc: gRPC unary, POST /grpc.testing.TestService/UnaryCall with content-type: application/grpc,
#          te: trailers and a 12-byte gRPC message (5-byte prefix + protobuf 0a 05 "hello"); the backend nginx
#          answers like a gRPC server: 200, content-type application/grpc, the same 12 bytes, trailer grpc-status 0
#   16k    h2-16k: GET /16k (16384-byte body), not part of the default
#
# Own options (everything else goes to the harness's run.sh: --warmup, --retries, --foreign-max, --only ...):
#   --runtimes LIST   node,bun,deno (default all three)
#   --sets LIST       hello,grpc (default); 16k also possible
#   --reps N (3)  --duration S (10)
#   --out DIR         results dir (default MESHLET_BENCH_HOME/results/h2-DATE)
#   --rev REV         measure a commit (`git archive REV`) instead of the working tree's core/ adapters/ proto/
#   --with-nginx      also nginx-h2 (h2c -> HTTP/1.1 upstreams) in the GET set, as extra information
#   --profile         CPU profiles of the meshlet proxies (Node/Bun --cpu-prof, Deno --prof), summarized into
#                     RUNDIR/profile.md; profiling slows the proxies, compare such a run only with itself. Every
#                     measurement starts a fresh proxy, so there is one profile per set and rep: profile one
#                     workload at a time (e.g. --sets grpc --reps 1). Runs only the meshlet targets unless --only
#
# How: like bench/routing.sh, the script runs the harness from its own copy (RUNDIR/harness; the shared harness and
# MESHLET_BENCH_HOME are not modified), changed in two places, each patch checked to apply exactly once:
#   - conf/backend-nginx.conf.tmpl: in the h2c server, `location = /grpc.testing.TestService/UnaryCall` aliases
#     www/unary.bin (the 12 bytes); POST to a static file is 405, `error_page 405 =200 /unary.bin` serves the file
#     as 200 from an internal location with `default_type application/grpc` and `add_trailer grpc-status 0 always`;
#   - run.sh: the set h2-grpc uses that path and `h2load -d grpc-request.bin -H 'content-type: application/grpc'
#     -H 'te: trailers'`, and before the warm-up of every h2-grpc run (not measured) one call with `nghttp -v`
#     must come back 200, application/grpc, 12 bytes of DATA and then grpc-status 0 in the trailers, else the run
#     is FAILED (RUNDIR/grpc-checks.tsv, raw/*.nghttp); nginx-h2 is skipped in h2-grpc.
# The harness's own readiness and round-robin checks (GET /hello, /16k, X-Upstream-Port over 4 requests) run
# unchanged before every measurement of both sets.
#
# Snapshots: RUNDIR/src is a copy of the working tree's core/ adapters/ proto/ (or of --rev), the Node bundle
# built there with tsup; Bun and Deno run its .ts; the bench scripts are copied to RUNDIR/scripts. A run measures
# the code and scripts it started with, whatever happens to the working tree meanwhile.
#
# Environment: MESHLET_BENCH_HOME, SHARED_BENCH as for bench/run.sh.
set -euo pipefail
{ # one brace group: parsed whole before it runs (safe to edit during a run)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$REPO/bench/lib.sh"
bench_home

RUNTIMES="node,bun,deno"; SETS="hello,grpc"; REPS=3; DURATION=10; OUT=""; REV=""; WITH_NGINX=0; PROFILE=0
declare -a PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runtimes) RUNTIMES=$2; shift 2 ;;
    --runtimes=*) RUNTIMES=${1#*=}; shift ;;
    --sets) SETS=$2; shift 2 ;;
    --sets=*) SETS=${1#*=}; shift ;;
    --reps) REPS=$2; shift 2 ;;
    --reps=*) REPS=${1#*=}; shift ;;
    --duration) DURATION=$2; shift 2 ;;
    --duration=*) DURATION=${1#*=}; shift ;;
    --out) OUT=$2; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --rev) REV=$2; shift 2 ;;
    --rev=*) REV=${1#*=}; shift ;;
    --with-nginx) WITH_NGINX=1; shift ;;
    --profile) PROFILE=1; shift ;;
    -h|--help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
      [ -f "$HARNESS" ] && { echo; echo "Harness options:"; bash "$HARNESS" --help; }
      exit 0 ;;
    *) PASS+=("$1"); shift ;;
  esac
done

log() { printf '[h2] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
want() { case ",$RUNTIMES," in *",$1,"*) return 0 ;; esac; return 1; }
for s in ${SETS//,/ }; do case "$s" in hello|grpc|16k) ;; *) die "unknown set '$s' (hello, grpc, 16k)" ;; esac; done
for r in ${RUNTIMES//,/ }; do case "$r" in node|bun|deno) ;; *) die "unknown runtime '$r' (node, bun, deno)" ;; esac; done
for t in nghttp h2load perl; do command -v "$t" >/dev/null || die "missing tool: $t"; done

ensure_harness   # the shared harness's copy (one-time setup), bench/lib.sh

[ -n "$OUT" ] || OUT="$HOME_DIR/results/h2-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
T0=$SECONDS

# ---- runtimes (ELF binaries, not npm shims: the measured PID must be the runtime itself), bench/lib.sh
NM="$REPO/node_modules"
[ -d "$NM" ] || die "no node_modules in $REPO (npm ci)"
find_runtimes

# ---- snapshot of the code under test
SRC="$OUT/src"
if [ -n "$REV" ]; then
  log "snapshot of $REV -> $SRC"
  rm -rf "$SRC"; mkdir -p "$SRC"
  ( cd "$REPO" && git archive "$REV" -- $(git ls-tree --name-only "$REV" | grep -E \
      '^(core|adapters|proto|package\.json|deno\.json|tsconfig\.json|tsconfig\.build\.json|tsup\.config\.ts)$') ) \
    | tar -x -C "$SRC" || die "git archive $REV failed"
  ( cd "$REPO" && git diff --quiet "$REV" -- package.json package-lock.json ) \
    || log "WARN package.json/package-lock.json differ between $REV and the working tree; the snapshot uses the working tree's node_modules"
  ( cd "$REPO" && git rev-parse "$REV" ) > "$SRC/GIT_STATE"
  ln -s "$NM" "$SRC/node_modules"
else
  log "snapshot of the working tree -> $SRC"
  snapshot_src "$SRC"   # bench/lib.sh: GIT_STATE = HEAD + dirty files of core/ adapters/ proto/
fi
if want node; then
  log "building the Node bundle in $SRC (tsup)"
  ( cd "$SRC" && "$NM/.bin/tsup" --silent >"$SRC/build.log" 2>&1 ) || { cat "$SRC/build.log" >&2; die "tsup build failed"; }
fi
# the bench scripts too: a run uses the versions it started with
mkdir -p "$OUT/scripts"
cp "$REPO/bench/write-config.mjs" "$REPO/bench/h2-report.mjs" "$REPO/bench/stats.mjs" "$REPO/bench/profile-summary.mjs" "$OUT/scripts/"
S="$OUT/scripts"

# ---- preflight: the config every meshlet target gets is valid for the snapshot (check-config, no listener)
WC_ARGS="--protocol h2c --balancer round-robin"
node "$S/write-config.mjs" 127.0.0.1:18080 127.0.0.1:18083,127.0.0.1:18084 "$OUT/preflight/meshlet.json" $WC_ARGS
if want node; then CHK=(node "$SRC/dist/node/main.js")
elif want bun; then CHK=("$BUN" "$SRC/adapters/bun/main.ts")
else CHK=("$DENO" run -A "$SRC/adapters/deno/main.ts"); fi
( cd "$SRC" && timeout 60 "${CHK[@]}" check-config "$OUT/preflight/meshlet.json" ) > "$OUT/preflight/check.txt" 2>&1 \
  || { cat "$OUT/preflight/check.txt" >&2; die "the bench config does not pass check-config"; }
log "preflight: $(cat "$OUT/preflight/check.txt")"

# ---- harness copy: gRPC answers in the backend's h2c server, the h2-grpc set in run.sh
H="$OUT/harness"
rm -rf "$H"; mkdir -p "$H"
cp -r "$HOME_DIR/run.sh" "$HOME_DIR/lib" "$HOME_DIR/conf" "$HOME_DIR/www" "$HOME_DIR/package.json" "$H/"
[ -d "$HOME_DIR/node_modules" ] && ln -s "$HOME_DIR/node_modules" "$H/node_modules"
[ -d "$HOME_DIR/proxies" ] && ln -s "$HOME_DIR/proxies" "$H/proxies"
# the gRPC message: 5-byte prefix (uncompressed, length 7) + protobuf field 1 (string) "hello"
printf '\000\000\000\000\007\012\005hello' > "$H/www/unary.bin"
cp "$H/www/unary.bin" "$H/grpc-request.bin"
[ "$(od -An -tx1 "$H/grpc-request.bin" | tr -d ' \n')" = 00000000070a0568656c6c6f ] || die "bad gRPC message bytes"
chmod a+r "$H/www/unary.bin" "$H/grpc-request.bin"

TPL="$H/conf/backend-nginx.conf.tmpl"
awk '
  { print }
  /listen 127\.0\.0\.1:@BEH2_2@ http2/ { inh2 = 1 }
  inh2 && /location = \/16k/ && !done {
    print "        # h2.sh: a gRPC unary answer (POST to a static file is 405; error_page serves it as 200 + trailer)"
    print "        location = /grpc.testing.TestService/UnaryCall { alias @BENCHDIR@/www/unary.bin; error_page 405 =200 /unary.bin; }"
    print "        location = /unary.bin { internal; default_type application/grpc; add_trailer grpc-status 0 always; }"
    done = 1
  }' "$TPL" > "$TPL.new" && mv "$TPL.new" "$TPL"
[ "$(grep -c 'location = /grpc.testing.TestService/UnaryCall' "$TPL")" = 1 ] \
  || die "backend template patch did not apply (no h2c server with 'listen 127.0.0.1:@BEH2_2@ http2' and 'location = /16k' in $TPL)"
# the rendered template must parse (nginx -t: no ports bound)
mkdir -p "$OUT/preflight/nginx"
sed -e "s#@RUNDIR@#$OUT/preflight/nginx#g" -e "s#@BENCHDIR@#$H#g" -e 's#@PORT@#18080#g' -e 's#@BE1@#18081#g' \
    -e 's#@BE2@#18082#g' -e 's#@BEH2_1@#18083#g' -e 's#@BEH2_2@#18084#g' -e 's#@BESTATUS@#18089#g' "$TPL" \
    > "$OUT/preflight/nginx/backend.conf"
mkdir -p "$OUT/preflight/nginx/backend/tmp"
nginx -t -q -e "$OUT/preflight/nginx/backend/error.log" -p "$OUT/preflight/nginx/backend" -c "$OUT/preflight/nginx/backend.conf" \
  >"$OUT/preflight/nginx/test.log" 2>&1 || { cat "$OUT/preflight/nginx/test.log" >&2; die "patched backend template does not pass nginx -t"; }

RS="$H/run.sh"
# replace_once FILE OLD NEW: OLD (a literal string) must occur on exactly one line of FILE
replace_once() {
  local f=$1 old=$2 new=$3 n
  n=$(grep -cF -- "$old" "$f" || true)
  [ "$n" = 1 ] || die "harness patch: expected one line with: $old  (found $n in $f; harness changed?)"
  OLD="$old" NEW="$new" perl -0pi -e 's/\Q$ENV{OLD}\E/$ENV{NEW}/' "$f"
  NEW="$new" perl -0ne 'exit(index($_, $ENV{NEW}) >= 0 ? 0 : 1)' "$f" || die "harness patch did not apply: $new"
}
# (1) the h2-grpc set: its path and h2load's extra arguments
replace_once "$RS" '  case "$set" in *-16k) path=/16k ;; esac' \
'  case "$set" in *-16k) path=/16k ;; esac
  local -a h2x=()   # h2.sh: the gRPC unary set
  if [ "$set" = h2-grpc ]; then
    path=/grpc.testing.TestService/UnaryCall
    h2x=(-d "$BENCH_DIR/grpc-request.bin" -H "content-type: application/grpc" -H "te: trailers")
  fi'
replace_once "$RS" 'h2-*)   run_load "$raw.warm" h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D "$WARMUP" "$url" ;;' \
                   'h2-*)   run_load "$raw.warm" h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D "$WARMUP" ${h2x[@]+"${h2x[@]}"} "$url" ;;'
replace_once "$RS" 'h2-*)   run_load "$raw.txt" h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D "$DURATION" --log-file="$raw.reqlog" "$url" ;;' \
                   'h2-*)   run_load "$raw.txt" h2load -t1 -c"$H2_CONNS" -m"$H2_STREAMS" -D "$DURATION" ${h2x[@]+"${h2x[@]}"} --log-file="$raw.reqlog" "$url" ;;'
# (2) one gRPC call checked with nghttp before the warm-up of every h2-grpc run
replace_once "$RS" '  local url="http://127.0.0.1:$TARGET_PORT$path"' \
'  local url="http://127.0.0.1:$TARGET_PORT$path"
  if [ "$set" = h2-grpc ] && ! grpc_check "$raw" "$url" "$set" "$name" "$rep"; then   # h2.sh
    printf '"'"'%s\t%s\t%s\tFAILED\n'"'"' "$set" "$name" "$rep" >>"$RESULTS"; stop_target; return
  fi'
replace_once "$RS" 'measure_once() {' \
'# h2.sh: one gRPC unary call with nghttp (prior knowledge) before an h2-grpc run is measured: it must answer
# :status 200, content-type application/grpc, 12 bytes of DATA, then grpc-status 0 in the trailers.
grpc_check() { # raw-prefix url set name rep
  local out="$1.nghttp" verdict
  timeout 5 nghttp -v -n -H "content-type: application/grpc" -H "te: trailers" -d "$BENCH_DIR/grpc-request.bin" "$2" >"$out" 2>&1
  verdict=$(awk '"'"'
    / recv \(stream_id=[0-9]+\) :status: / { st = $NF }
    / recv \(stream_id=[0-9]+\) content-type: / { ct = $NF }
    / recv DATA frame <length=/ { if (match($0, /length=[0-9]+/)) { bytes += substr($0, RSTART + 7, RLENGTH - 7); data = 1 } }
    / recv \(stream_id=[0-9]+\) grpc-status: / { if (data) gs = $NF; else early = 1 }
    END { ok = (st == "200" && ct == "application/grpc" && bytes == 12 && gs == "0" && !early)
          printf "%s\t%s\t%d\t%s\t%s", (st == "" ? "-" : st), (ct == "" ? "-" : ct), bytes, (gs == "" ? "-" : gs), (ok ? "ok" : "BAD") }'"'"' "$out")
  printf '"'"'%s\t%s\t%s\t%s\n'"'"' "$3" "$4" "$5" "$verdict" >> "$RUN_DIR/grpc-checks.tsv"
  case "$verdict" in *ok) return 0 ;; esac
  log "gRPC check FAILED for $4 (status, content-type, DATA bytes, trailer grpc-status: $verdict); see $out"
  return 1
}

measure_once() {'
# (3) nginx-h2 proxies to the HTTP/1.1 ports (no gRPC there): skip it in h2-grpc
replace_once "$RS" '      for name in "${ORDER_H2[@]}"; do measure "h2-$payload" "$name" "$rep"; done' \
                   '      for name in "${ORDER_H2[@]}"; do { [ "$payload" = grpc ] && [ "$name" = nginx-h2 ]; } && continue; measure "h2-$payload" "$name" "$rep"; done'
bash -n "$RS" || die "patched harness run.sh does not parse"
log "harness copy $H: backend answers gRPC unary on its h2c ports; run.sh knows the set h2-grpc"

# ---- the proxies
# CMD runs under `bash -c` in the harness's cwd: absolute paths only. The config sits in a folder of its own:
# meshlet watches the config file's directory, and the harness writes into RUNDIR during runs.
CFG="{RUNDIR}/meshlet-config/meshlet.json"
WC="node $S/write-config.mjs {LISTEN} {UPSTREAMS_H2} $CFG $WC_ARGS"
declare -a PROXIES=()
for rt in node bun deno; do
  want "$rt" || continue
  pd=""; [ $PROFILE = 1 ] && pd="$OUT/prof/meshlet-$rt"
  run="$(proxy_cmd "$rt" "$CFG" "$pd")"
  PROXIES+=(--proxy-h2 "meshlet-$rt=cd $SRC && $WC && $run")
done
[ ${#PROXIES[@]} -gt 0 ] || die "no runtime to measure (--runtimes)"

# built-ins: haproxy (its h2 entry is haproxy-h2), plus nginx with --with-nginx, none with --profile; an --only of
# the caller wins
ONLY_SET=0
for a in "${PASS[@]+"${PASS[@]}"}"; do case "$a" in --only|--only=*) ONLY_SET=1 ;; esac; done
if [ $ONLY_SET = 0 ]; then
  if [ $PROFILE = 1 ]; then PASS=(--only none --no-direct "${PASS[@]+"${PASS[@]}"}")   # profiles: meshlet only
  elif [ $WITH_NGINX = 1 ]; then PASS=(--only haproxy,nginx "${PASS[@]+"${PASS[@]}"}"); else PASS=(--only haproxy "${PASS[@]+"${PASS[@]}"}"); fi
fi

{
  echo "meshlet: $(head -1 "$SRC/GIT_STATE" | cut -c1-12)$([ -n "$REV" ] && echo " (--rev $REV)" || { [ "$(wc -l < "$SRC/GIT_STATE")" -gt 1 ] && echo " + working tree changes" || echo " (clean working tree)"; }) (src $SRC)"
  sed -n '2,$p' "$SRC/GIT_STATE" | sed 's/^/  dirty: /'
  echo "node: $(node -v)"
  [ -n "$BUN" ] && echo "bun: $("$BUN" --version) ($BUN)"
  [ -n "$DENO" ] && echo "deno: $("$DENO" --version | head -1) ($DENO)"
  echo "nghttp: $(nghttp --version | head -1)"
  echo "sets: $SETS; meshlet config: bench/write-config.mjs {LISTEN} {UPSTREAMS_H2} $WC_ARGS"
  echo "grpc: POST /grpc.testing.TestService/UnaryCall, content-type application/grpc, te trailers, 12-byte message 00000000070a0568656c6c6f; backend answers 200 + the same 12 bytes + trailer grpc-status 0"
} > "$OUT/meshlet-meta.txt"
cat "$OUT/meshlet-meta.txt" >&2

rc=0
bash "$RS" --out "$OUT" --h2 --no-thru --no-lat --payloads "$SETS" --reps "$REPS" --duration "$DURATION" \
  "${PROXIES[@]}" "${PASS[@]+"${PASS[@]}"}" || rc=$?
if [ -s "$OUT/results.tsv" ]; then
  node "$S/h2-report.mjs" "$OUT" > "$OUT/h2-report.md" && { echo; cat "$OUT/h2-report.md"; }
fi
if [ $PROFILE = 1 ]; then
  {
    echo "# CPU profiles, HTTP/2 benchmark ($(date -Is)); profiler overhead included in the numbers"
    awk -F'\t' 'NR>1 && $2 ~ /^meshlet-/ {printf "- %s %s rep %s: %s req/s, proxy CPU %s us/req\n", $2, $1, $3, $4, $11}' "$OUT/results.tsv" 2>/dev/null
    for pd in "$OUT"/prof/*; do
      [ -d "$pd" ] || continue
      n=$(basename "$pd")
      # one profile per start of the proxy, in the order of the runs: label them with the runs of results.tsv
      # when the counts match (a repeated disturbed run adds a profile without a row)
      mapfile -t profs < <(ls -tr "$pd"/*.cpuprofile 2>/dev/null || true)
      mapfile -t runs < <(awk -F'\t' -v n="$n" 'NR>1 && $2==n {print $1 " rep " $3}' "$OUT/results.tsv" 2>/dev/null)
      for i in "${!profs[@]}"; do
        p=${profs[$i]}
        lbl="run $((i + 1)) of ${#profs[@]}"
        [ ${#profs[@]} = ${#runs[@]} ] && lbl="${runs[$i]}"
        echo; echo "## $n, $lbl ($(basename "$p"))"; echo
        node "$S/profile-summary.mjs" --top 40 "$p"
      done
      if [ -s "$pd/v8.log" ]; then
        echo; echo "## $n, the last run only (node --prof-process on the V8 tick log)"; echo; echo '```'
        ( cd "$SRC" && node --prof-process "$pd/v8.log" 2>/dev/null | sed -n '1,70p' )
        echo '```'
      fi
    done
  } > "$OUT/profile.md"
  echo "profiles: $OUT/profile.md (raw in $OUT/prof)"
fi
echo
echo "took $(( (SECONDS - T0) / 60 )) min $(( (SECONDS - T0) % 60 )) s; results: $OUT (report h2-report.md, harness summary results.md, raw results.tsv, gRPC checks grpc-checks.tsv)"
exit $rc
}
