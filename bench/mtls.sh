#!/usr/bin/env bash
# Proxy-to-proxy mTLS benchmark (issue 5, item 9): "proxy-to-proxy mTLS throughput and new-handshake rate vs nginx
# configured with the same certificates (ssl + proxy_ssl), same run, each runtime; ratios in docs/benchmarks.md".
# One run of the shared harness (wrk -t1 -c16 /hello -> client-side proxy -> mTLS -> server-side proxy -> the
# harness's backend nginx), every target started fresh per measurement, targets interleaved rep by rep, medians.
# See docs/benchmarks.md, "mTLS between proxies (issue 5)".
#
#   bash bench/mtls.sh                                   # node,bun,deno + nginx + haproxy; tp and hs; 3 reps of 10 s
#   bash bench/mtls.sh --reps 1 --duration 3             # quick validation (everything starts, answers, uses mTLS)
#   bash bench/mtls.sh --runtimes node --workloads hs    # one runtime, one workload
#   node bench/mtls-report.mjs RUNDIR [RUNDIR...]        # re-render a run's report (pools several runs)
#
# Each target is a pair of proxies, both started by bench/mtls-pair.sh as children of one process (so the harness
# measures the CPU and peak RSS of both together) and pinned together to the harness's proxy CPU (1); wrk and the
# backend run on CPU 0:
#   wrk --HTTP/1.1 keep-alive--> client side 127.0.0.1:18080 --mTLS (TLS 1.3)--> server side 127.0.0.1:18085
#       --HTTP/1.1 keep-alive--> backend 127.0.0.1:18081 (the harness's nginx, GET /hello = 5 bytes)
# Targets (NAME-tp and NAME-hs for each workload):
#   direct         wrk straight to the backend (no proxy, no TLS: the limit; once per rep, shared by both workloads)
#   nginx          two nginx 1.22 instances, one worker each: `proxy_pass https://` with proxy_ssl_certificate/_key,
#                  proxy_ssl_trusted_certificate, proxy_ssl_verify on, proxy_ssl_name srv.bench.local -> `listen ssl`
#                  with ssl_verify_client on + ssl_client_certificate -> proxy_pass to the backend
#   haproxy        (unless --no-haproxy) two haproxy 2.6 instances, nbthread 1: `server ... ssl crt ca-file verify
#                  required verifyhost` -> `bind ... ssl crt ca-file verify required` -> the backend
#   meshlet-RT     two meshlet processes on runtime RT (node, bun, deno): the client side's outbound listener with one
#                  service whose endpoint is the server side's inbound listener with `identity: spiffe://bench.local/
#                  ns/srv/sa/srv`; the server side with `identity` files, `inbound.app` = the backend and an
#                  authorization rule admitting only the client's SPIFFE ID (as ssl_verify_client on does; --no-authz
#                  drops it)
# Workloads:
#   tp   throughput: the proxy-to-proxy hop is pooled mTLS connections (keep-alive); requests/s
#   hs   new handshake per request: the client side opens a new mTLS connection with a full handshake for every
#        request (meshlet: pool.maxIdlePerEndpoint 0, and meshlet never resumes sessions; nginx: no upstream keepalive,
#        proxy_ssl_session_reuse off; haproxy: option http-server-close, no-ssl-reuse); requests/s = handshakes/s.
#        wrk's connections to the client side stay alive; the server side keeps its backend connections alive
# Configs: bench/write-mtls-config.mjs (one per target, RUNDIR/targets/NAME). Certificates (RUNDIR/certs, openssl,
# the same files for every kind): a CA (EC P-256) and two EC P-256 leaves whose URI SAN is the SPIFFE ID
# (spiffe://bench.local/ns/srv/sa/srv and .../ns/cli/sa/cli); the server's also has the DNS SAN srv.bench.local for
# nginx's and haproxy's name check (meshlet checks the SPIFFE ID).
#
# Checks (nothing is measured until they pass):
#   - preflight: every meshlet config passes check-config; nginx -t and haproxy -c pass; then every pair is started
#     once against a preflight backend: GET /hello through it returns "hello"; the server side's mTLS port answers
#     200 to curl with the client certificate and refuses curl without one (handshake failure, 400 or 403); 40
#     keep-alive requests through the pair open one mTLS connection each in hs (counters: see bench/mtls-stats.mjs)
#     and reuse them in tp; meshlet's server side counted every one of them with tls="true" and the client's
#     SPIFFE ID (RUNDIR/preflight.tsv)
#   - every measured start: the harness's own ready check (GET /hello 200, /16k 16384 bytes), and the pair's
#     counters when it stops (RUNDIR/targets/NAME/stats), summarized per target in the report (mTLS connections per
#     request, meshlet's share of server-side responses over mTLS)
#
# Own options (everything else goes to the harness's run.sh: --warmup, --retries, --foreign-max, --quiet-max ...):
#   --runtimes LIST   node,bun,deno (default all three)
#   --workloads LIST  tp,hs (default both)
#   --reps N (3)  --duration S (10)  --conns N (16: wrk -c)
#   --no-haproxy      no haproxy pair
#   --no-authz        meshlet's server side without the authorization rule
#   --out DIR         results dir (default MESHLET_BENCH_HOME/results/mtls-DATE)
#
# Ports: the harness's 18080-18084 and 18089, plus 18085 (the mTLS hop) and 18086 (nginx/haproxy counters); do not
# run it together with bench/run.sh, h2.sh or routing.sh (same ports, and they disturb each other's measurements).
# Snapshots: RUNDIR/src is a copy of the working tree's core/ adapters/ proto/ (Node bundle built there with
# tsup; Bun and Deno run its .ts); the bench scripts are copied to RUNDIR/scripts.
# Environment: MESHLET_BENCH_HOME, SHARED_BENCH as for bench/run.sh.
set -euo pipefail
{ # one brace group: parsed whole before it runs (safe to edit during a run)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$REPO/bench/lib.sh"
bench_home

RUNTIMES="node,bun,deno"; WORKLOADS="tp,hs"; REPS=3; DURATION=10; CONNS=16; OUT=""; HAPROXY=1; AUTHZ=1
declare -a PASS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runtimes) RUNTIMES=$2; shift 2 ;;
    --runtimes=*) RUNTIMES=${1#*=}; shift ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --workloads=*) WORKLOADS=${1#*=}; shift ;;
    --reps) REPS=$2; shift 2 ;;
    --reps=*) REPS=${1#*=}; shift ;;
    --duration) DURATION=$2; shift 2 ;;
    --duration=*) DURATION=${1#*=}; shift ;;
    --conns) CONNS=$2; shift 2 ;;
    --conns=*) CONNS=${1#*=}; shift ;;
    --out) OUT=$2; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --no-haproxy) HAPROXY=0; shift ;;
    --no-authz) AUTHZ=0; shift ;;
    --port|--port=*|--proxy-cpus|--proxy-cpus=*|--load-cpus|--load-cpus=*|--payloads|--payloads=*|--h2|--proxy|--proxy=*)
      printf '[mtls] ERROR: %s is fixed by this script\n' "${1%%=*}" >&2; exit 2 ;;
    -h|--help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
      [ -f "$HARNESS" ] && { echo; echo "Harness options:"; bash "$HARNESS" --help; }
      exit 0 ;;
    *) PASS+=("$1"); shift ;;
  esac
done

log() { printf '[mtls] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
want() { case ",$RUNTIMES," in *",$1,"*) return 0 ;; esac; return 1; }
wantw() { case ",$WORKLOADS," in *",$1,"*) return 0 ;; esac; return 1; }
for r in ${RUNTIMES//,/ }; do case "$r" in node|bun|deno) ;; *) die "unknown runtime '$r' (node, bun, deno)" ;; esac; done
for w in ${WORKLOADS//,/ }; do case "$w" in tp|hs) ;; *) die "unknown workload '$w' (tp, hs)" ;; esac; done
for t in openssl nginx curl wrk ss setsid taskset perl; do command -v "$t" >/dev/null || die "missing tool: $t"; done
[ $HAPROXY = 1 ] && { command -v haproxy >/dev/null || die "missing tool: haproxy (or --no-haproxy)"; }

# the fixed ports must be free (another benchmark of this repo uses the same harness ports)
for p in 18080 18081 18082 18083 18084 18085 18086 18089; do
  [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] || die "port $p is in use (another benchmark running? pgrep -af 'h2.sh|routing.sh|run.sh|meshlet-bench')"
done

ensure_harness   # the shared harness's copy (one-time setup), bench/lib.sh

[ -n "$OUT" ] || OUT="$HOME_DIR/results/mtls-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
T0=$SECONDS

# ---- runtimes (ELF binaries, not npm shims), bench/lib.sh
NM="$REPO/node_modules"
[ -d "$NM" ] || die "no node_modules in $REPO (npm ci)"
find_runtimes

# ---- snapshot of the code under test, and of the bench scripts
SRC="$OUT/src"
log "snapshot of the working tree -> $SRC"
snapshot_src "$SRC"
if want node; then
  log "building the Node bundle in $SRC (tsup)"
  ( cd "$SRC" && timeout 300 "$NM/.bin/tsup" --silent >"$SRC/build.log" 2>&1 ) || { cat "$SRC/build.log" >&2; die "tsup build failed"; }
fi
mkdir -p "$OUT/scripts"
cp "$REPO/bench/write-mtls-config.mjs" "$REPO/bench/mtls-pair.sh" "$REPO/bench/mtls-stats.mjs" "$REPO/bench/mtls-report.mjs" \
   "$REPO/bench/stats.mjs" "$OUT/scripts/"
S="$OUT/scripts"

# ---- certificates: one CA, two leaves (URI SAN = SPIFFE ID; the server's also DNS:srv.bench.local), EC P-256
CERTS="$OUT/certs"
mkdir -p "$CERTS"
(
  cd "$CERTS"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/O=meshlet bench/CN=meshlet bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
  leaf() { # name spiffe-id [dns-name]
    local san="URI:$2"; [ -n "${3:-}" ] && san="$san,DNS:$3"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
    openssl req -new -key "$1.key" -subj "/O=meshlet bench" -out "$1.csr"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 7 -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  }
  leaf srv spiffe://bench.local/ns/srv/sa/srv srv.bench.local
  leaf cli spiffe://bench.local/ns/cli/sa/cli
  openssl verify -CAfile ca.crt srv.crt cli.crt >/dev/null
  chmod 0644 ./*.crt; chmod 0600 ./*.key
) || die "certificate generation failed"
log "certificates in $CERTS: $(openssl x509 -in "$CERTS/srv.crt" -noout -ext subjectAltName | tail -1 | sed 's/^ *//')"

# ---- the targets: configs and launch commands
declare -a NAMES=()
KINDS=(nginx)
[ $HAPROXY = 1 ] && KINDS+=(haproxy)
for rt in node bun deno; do want "$rt" && KINDS+=("meshlet-$rt"); done
WC_AUTHZ=""; [ $AUTHZ = 0 ] && WC_AUTHZ="--no-authz"
for wl in tp hs; do
  wantw "$wl" || continue
  for k in "${KINDS[@]}"; do
    name="$k-$wl"; T="$OUT/targets/$name"
    mkdir -p "$T"
    case "$k" in
      nginx)
        node "$S/write-mtls-config.mjs" --kind nginx --mode "$wl" --dir "$T" --certs "$CERTS"
        scmd="exec nginx -p $T/server -c $T/server/nginx.conf -e $T/server/error.log"
        ccmd="exec nginx -p $T/client -c $T/client/nginx.conf -e $T/client/error.log"
        kind=nginx ;;
      haproxy)
        node "$S/write-mtls-config.mjs" --kind haproxy --mode "$wl" --dir "$T" --certs "$CERTS"
        scmd="exec haproxy -db -f $T/server/haproxy.cfg"
        ccmd="exec haproxy -db -f $T/client/haproxy.cfg"
        kind=haproxy ;;
      meshlet-*)
        node "$S/write-mtls-config.mjs" --kind meshlet --mode "$wl" --dir "$T" --certs "$CERTS" $WC_AUTHZ
        scmd="cd $SRC && $(proxy_cmd "${k#meshlet-}" "$T/server/meshlet.json")"
        ccmd="cd $SRC && $(proxy_cmd "${k#meshlet-}" "$T/client/meshlet.json")"
        kind=meshlet ;;
    esac
    {
      printf 'KIND=%q\n' "$kind"; printf 'SERVER_CMD=%q\n' "$scmd"; printf 'CLIENT_CMD=%q\n' "$ccmd"
      printf 'HOP_PORT=18085\nLISTEN_PORT=18080\n'
      [ "$kind" = meshlet ] && echo 'STATS_ADDR=' || echo 'STATS_ADDR=127.0.0.1:18086'
    } > "$T/pair.env"
    NAMES+=("$name")
  done
done
[ ${#NAMES[@]} -gt 0 ] || die "no target"

# ---- preflight 1: the configs parse (no listener bound)
PF="$OUT/preflight"; mkdir -p "$PF"
for name in "${NAMES[@]}"; do
  T="$OUT/targets/$name"
  case "$name" in
    nginx-*)
      for side in server client; do
        timeout 20 nginx -t -q -p "$T/$side" -c "$T/$side/nginx.conf" -e "$PF/$name.$side.nginx-t.log" >"$PF/$name.$side.check" 2>&1 \
          || { cat "$PF/$name.$side.check" >&2; die "$name: $side nginx.conf does not pass nginx -t"; }
      done ;;
    haproxy-*)
      for side in server client; do
        timeout 20 haproxy -c -q -f "$T/$side/haproxy.cfg" >"$PF/$name.$side.check" 2>&1 \
          || { cat "$PF/$name.$side.check" >&2; die "$name: $side haproxy.cfg does not pass haproxy -c"; }
      done ;;
    meshlet-*)
      rt=${name#meshlet-}; rt=${rt%-*}
      case "$rt" in
        node) CHK=(node "$SRC/dist/node/main.js") ;;
        bun)  CHK=("$BUN" "$SRC/adapters/bun/main.ts") ;;
        deno) CHK=("$DENO" run -A "$SRC/adapters/deno/main.ts") ;;
      esac
      for side in server client; do
        ( cd "$SRC" && timeout 60 "${CHK[@]}" check-config "$T/$side/meshlet.json" ) >"$PF/$name.$side.check" 2>&1 \
          || { cat "$PF/$name.$side.check" >&2; die "$name: the $side config does not pass check-config"; }
      done ;;
  esac
done
log "preflight: all configs pass check-config / nginx -t / haproxy -c"

# ---- preflight 2: every pair against a backend (the harness's template), mTLS proven on the hop
PFB="$PF/backend"; mkdir -p "$PFB/tmp"
sed -e "s#@RUNDIR@#$PF#g" -e "s#@BENCHDIR@#$HOME_DIR#g" -e 's#@PORT@#18080#g' -e 's#@BE1@#18081#g' \
    -e 's#@BE2@#18082#g' -e 's#@BEH2_1@#18083#g' -e 's#@BEH2_2@#18084#g' -e 's#@BESTATUS@#18089#g' \
    "$HOME_DIR/conf/backend-nginx.conf.tmpl" > "$PF/backend.conf"
BEPID="" PAIRPID=""
pf_cleanup() {
  local p
  for p in $PAIRPID $BEPID; do
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 80); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PAIRPID="" BEPID=""
  return 0
}
trap pf_cleanup EXIT
setsid nginx -p "$PFB" -c "$PF/backend.conf" -e "$PFB/error.log" >"$PFB/out.log" 2>&1 </dev/null &
BEPID=$!
for _ in $(seq 1 50); do [ "$(curl -s --max-time 1 http://127.0.0.1:18081/hello)" = hello ] && break; sleep 0.1; done
[ "$(curl -s --max-time 1 http://127.0.0.1:18081/hello)" = hello ] || die "preflight backend did not start (see $PFB)"

# start_pair T: the pair as the harness starts it; waits (<= 30 s) for GET /hello through it
start_pair() {
  setsid bash "$S/mtls-pair.sh" "$1" >>"$1/pair.out" 2>&1 </dev/null &
  PAIRPID=$!
  local i
  for i in $(seq 1 300); do
    [ "$(curl -s --max-time 1 http://127.0.0.1:18080/hello)" = hello ] && return 0
    kill -0 "$PAIRPID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}
stop_pair() {
  kill -TERM "$PAIRPID" 2>/dev/null || true
  local i; for i in $(seq 1 80); do kill -0 "$PAIRPID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PAIRPID" 2>/dev/null; then log "WARN pair did not stop in 8 s; killing"; kill -KILL "$PAIRPID" 2>/dev/null || true; fi
  wait "$PAIRPID" 2>/dev/null || true
  PAIRPID=""
}
HOPURL=https://srv.bench.local:18085/hello
HOPCURL=(curl -s --max-time 3 --resolve srv.bench.local:18085:127.0.0.1 --cacert "$CERTS/ca.crt")
printf 'name\tthrough\thop_with_cert\thop_without_cert\thop_tls\tresponses\tmtls_conns\tconns_per_req\ttls_share\tverdict\n' > "$PF/../preflight.tsv"
BAD=0
for name in "${NAMES[@]}"; do
  T="$OUT/targets/$name"; kind=$(. "$T/pair.env"; echo "$KIND"); wl=${name##*-}
  hopw="-" hopwo="-" tlsv="-" verdict=ok
  # (a) the hop alone: with the client certificate 200, without one refused (tp targets; the server side is the
  #     same in hs)
  if [ "$wl" = tp ]; then
    start_pair "$T" || { log "$name: pair did not answer GET /hello (see $T/logs)"; verdict=BAD; }
    if [ $verdict = ok ]; then
      hopw=$("${HOPCURL[@]}" -v --cert "$CERTS/cli.crt" --key "$CERTS/cli.key" -o "$PF/$name.hop.body" -w '%{http_code}' "$HOPURL" 2>"$PF/$name.hop.v") || true
      tlsv=$(grep -o 'SSL connection using [^ ]* / [^ ]*' "$PF/$name.hop.v" | sed 's/SSL connection using //; s# / #/#' | head -1 || true)
      hopwo=$("${HOPCURL[@]}" -o /dev/null -w '%{http_code}' "$HOPURL" 2>/dev/null) || true
      [ "$hopw" = 200 ] && [ "$(cat "$PF/$name.hop.body")" = hello ] || { log "$name: the hop with the client certificate answered '$hopw'"; verdict=BAD; }
      case "$hopwo" in 000|400|403) ;; *) log "$name: the hop without a client certificate answered '$hopwo' (want refused)"; verdict=BAD ;; esac
      [ "$hopwo" = 000 ] && hopwo="refused"
    fi
    stop_pair
  fi
  # (b) through the pair: 40 requests on one keep-alive connection, then the pair's counters
  resp="-" conns="-" cpr="-" share="-"
  if [ $verdict = ok ]; then
    n0=$(cat "$T/starts" 2>/dev/null || echo 0)
    if start_pair "$T"; then
      args=(); for i in $(seq 1 40); do args+=(http://127.0.0.1:18080/hello); done
      got=$(curl -s --max-time 20 "${args[@]}")
      [ "$got" = "$(printf 'hello%.0s' $(seq 1 40))" ] || { log "$name: 40 requests through the pair did not all return hello"; verdict=BAD; }
    else
      log "$name: pair did not answer GET /hello (see $T/logs)"; verdict=BAD
    fi
    stop_pair
    st=$(node "$S/mtls-stats.mjs" "$kind" "$T" $((n0 + 1)))
    read -r resp conns cpr share < <(node -e '
      const s = JSON.parse(process.argv[1]) ?? {};
      const f = (x, d) => (x === null || x === undefined ? "-" : Number(x).toFixed(d));
      console.log(f(s.responses, 0), f(s.mtlsConns, 0), f(s.connsPerReq, 3), f(s.tlsShare, 3));' "$st")
    if [ "$resp" = - ] || [ "$resp" -lt 40 ]; then log "$name: counters missing or too few responses ($st)"; verdict=BAD
    elif [ "$wl" = hs ] && awk -v c="$cpr" 'BEGIN{exit !(c < 0.95)}'; then log "$name: hs but only $cpr mTLS connections per request"; verdict=BAD
    elif [ "$wl" = tp ] && [ "$conns" -gt 5 ]; then log "$name: tp but $conns mTLS connections for $resp requests"; verdict=BAD
    elif [ "$kind" = meshlet ] && [ "$share" != 1.000 ]; then log "$name: only $share of the server side's responses were over mTLS from the client"; verdict=BAD
    fi
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$([ $verdict = ok ] && echo 200 || echo -)" "$hopw" "$hopwo" "${tlsv:--}" \
    "$resp" "$conns" "$cpr" "$share" "$verdict" >> "$PF/../preflight.tsv"
  [ $verdict = ok ] || BAD=1
  # the measured starts count from 1 again; the preflight's logs and counters move aside
  mkdir -p "$T/preflight"
  for d in logs stats; do [ -d "$T/$d" ] && mv "$T/$d" "$T/preflight/$d"; done
  rm -f "$T/starts"
done
pf_cleanup
trap - EXIT
column -t -s $'\t' "$OUT/preflight.tsv" >&2
[ $BAD = 0 ] || die "preflight failed (see $OUT/preflight.tsv and $OUT/targets/*/preflight)"

# ---- meta
{
  echo "meshlet: $(head -1 "$SRC/GIT_STATE" | cut -c1-12)$([ "$(wc -l < "$SRC/GIT_STATE")" -gt 1 ] && echo " + working tree changes" || echo " (clean working tree)") (src $SRC)"
  sed -n '2,$p' "$SRC/GIT_STATE" | sed 's/^/  dirty: /'
  echo "node: $(node -v) (OpenSSL $(node -p process.versions.openssl))"
  [ -n "$BUN" ] && echo "bun: $("$BUN" --version) ($BUN; node:tls over BoringSSL)"
  [ -n "$DENO" ] && echo "deno: $("$DENO" --version | head -1) ($DENO; node:tls over rustls)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //') ($(nginx -V 2>&1 | grep -o 'running with OpenSSL [^ ]*' || nginx -V 2>&1 | grep -o 'built with OpenSSL [^ ]*'))"
  [ $HAPROXY = 1 ] && echo "haproxy: $(haproxy -v | head -1 | awk '{print $3}') ($(haproxy -vv 2>/dev/null | grep -o 'Running on OpenSSL version : OpenSSL [^ ]*' | sed 's/.*: //'))"
  echo "workloads: $WORKLOADS; wrk -t1 -c$CONNS /hello; meshlet authz on the server side: $([ $AUTHZ = 1 ] && echo yes || echo no)"
  echo "certificates: $CERTS (EC P-256, SPIFFE URI SANs; server also DNS:srv.bench.local); hop TLS (curl to the server side): $(awk -F'\t' 'NR>1 && $5!="-" {print $1 "=" $5}' "$OUT/preflight.tsv" | tr '\n' ' ')"
} > "$OUT/meshlet-meta.txt"
cat "$OUT/meshlet-meta.txt" >&2

# ---- the run
declare -a PROXIES=()
for name in "${NAMES[@]}"; do PROXIES+=(--proxy "$name=exec bash $S/mtls-pair.sh $OUT/targets/$name"); done
rc=0
bash "$HARNESS" --out "$OUT" --only none --no-lat --payloads hello --conns "$CONNS" --reps "$REPS" --duration "$DURATION" \
  "${PROXIES[@]}" "${PASS[@]+"${PASS[@]}"}" || rc=$?
if [ -s "$OUT/results.tsv" ]; then
  node "$S/mtls-report.mjs" "$OUT" > "$OUT/mtls-report.md" && { echo; cat "$OUT/mtls-report.md"; }
fi
echo
echo "took $(( (SECONDS - T0) / 60 )) min $(( (SECONDS - T0) % 60 )) s; results: $OUT (report mtls-report.md, preflight preflight.tsv, harness summary results.md, raw results.tsv, per-start counters targets/*/stats)"
exit $rc
}
