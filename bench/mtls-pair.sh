#!/usr/bin/env bash
# One proxy pair of the mTLS benchmark (bench/mtls.sh): the server side, then (once its mTLS listener is up) the
# client side, as children of this script, so the harness's per-target measurement (CPU of the process tree, peak
# RSS) covers both proxies, pinned together to the harness's proxy CPU.
#
#   bash bench/mtls-pair.sh TARGETDIR
#
# TARGETDIR/pair.env (written by bench/mtls.sh) sets KIND (meshlet|nginx|haproxy), SERVER_CMD and CLIENT_CMD
# (exec-able command lines), HOP_PORT (the server side's mTLS listener), LISTEN_PORT (the client side's plain
# listener) and STATS_ADDR (nginx's stub_status / haproxy's stats listener, host:port).
#
# The children run in sessions of their own, so the harness's TERM to this script's process group does not reach
# them directly: on TERM this script first saves the pair's counters to TARGETDIR/stats/N.{client,server}.txt (meshlet:
# both admin /metrics, found from the ready lines; nginx: the server side's stub_status; haproxy: the client side's
# stats CSV), N counting the starts of this target, then stops both (TERM, KILL after 3 s). The harness reads the
# CPU and memory figures before it stops a target, so this work is not measured. Logs: TARGETDIR/logs/N.*.log.
set -u
T=${1:?usage: mtls-pair.sh TARGETDIR}
# shellcheck disable=SC1091
. "$T/pair.env"
mkdir -p "$T/logs" "$T/stats"
n=$(( $(cat "$T/starts" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$T/starts"
SP="" CP=""

port_listening() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
wait_free() { local i; for i in $(seq 1 100); do port_listening "$1" || return 0; sleep 0.1; done; return 1; }

stop_children() {
  local p i
  for p in $CP $SP; do kill -TERM -- "-$p" 2>/dev/null; done
  for i in $(seq 1 30); do
    { [ -z "$CP" ] || ! kill -0 "$CP" 2>/dev/null; } && { [ -z "$SP" ] || ! kill -0 "$SP" 2>/dev/null; } && break
    sleep 0.1
  done
  for p in $CP $SP; do kill -KILL -- "-$p" 2>/dev/null; done
  for p in $CP $SP; do wait "$p" 2>/dev/null; done
  CP="" SP=""
}

admin_of() { # the admin address from a meshlet ready line in log $1
  grep -o '"msg":"ready".*' "$1" 2>/dev/null | tail -1 | grep -o '"admin":"[^"]*"' | cut -d'"' -f4
}

save_stats() {
  local out="$T/stats/$n" a
  case "$KIND" in
    meshlet)
      a=$(admin_of "$T/logs/$n.client.log"); [ -n "$a" ] && curl -s --max-time 2 "http://$a/metrics" > "$out.client.txt"
      a=$(admin_of "$T/logs/$n.server.log"); [ -n "$a" ] && curl -s --max-time 2 "http://$a/metrics" > "$out.server.txt" ;;
    nginx) curl -s --max-time 2 "http://$STATS_ADDR/status" > "$out.server.txt" ;;
    haproxy) curl -s --max-time 2 "http://$STATS_ADDR/stats;csv" > "$out.client.txt" ;;
  esac
  date +%s.%N > "$out.time"
}

on_term() {
  trap - TERM INT
  save_stats
  stop_children
  exit 0
}
trap on_term TERM INT

for p in "$HOP_PORT" "$LISTEN_PORT" ${STATS_ADDR:+"${STATS_ADDR##*:}"}; do
  wait_free "$p" || { echo "mtls-pair: port $p still in use" >&2; exit 1; }
done

setsid bash -c "$SERVER_CMD" > "$T/logs/$n.server.log" 2>&1 < /dev/null &
SP=$!
for i in $(seq 1 300); do
  port_listening "$HOP_PORT" && break
  kill -0 "$SP" 2>/dev/null || { echo "mtls-pair: server side exited during startup" >&2; tail -5 "$T/logs/$n.server.log" >&2; exit 1; }
  sleep 0.1
done
port_listening "$HOP_PORT" || { echo "mtls-pair: server side not listening on $HOP_PORT after 30 s" >&2; stop_children; exit 1; }

setsid bash -c "$CLIENT_CMD" > "$T/logs/$n.client.log" 2>&1 < /dev/null &
CP=$!

# until the harness stops the pair (TERM), or one side dies
while kill -0 "$SP" 2>/dev/null && kill -0 "$CP" 2>/dev/null; do
  wait -n "$SP" "$CP" 2>/dev/null
done
echo "mtls-pair: a side exited on its own (server $(kill -0 "$SP" 2>/dev/null && echo alive || echo gone), client $(kill -0 "$CP" 2>/dev/null && echo alive || echo gone))" >&2
stop_children
exit 1
