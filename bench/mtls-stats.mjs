#!/usr/bin/env node
// The counters a proxy pair of the mTLS benchmark left when it stopped (bench/mtls-pair.sh saves them as
// TARGETDIR/stats/N.client.txt and N.server.txt), reduced to the same figures for every kind:
//   responses      responses the pair answered (meshlet: client side's outbound response_total; nginx: server side's
//                  stub_status requests; haproxy: client side's responses from the mTLS server)
//   mtlsConns      mTLS connections the client side opened to the server side (meshlet: outbound tcp_open_total
//                  peer="dst"; nginx: server side's accepted connections; haproxy: the mTLS server's `connect`)
//   connsPerReq    mtlsConns / responses: ~1 when every request had its own handshake, ~0 when they were pooled
//   tlsShare       meshlet only: the share of the server side's inbound responses with tls="true" and the client's
//                  SPIFFE ID as client_id (1 = every request the server side answered came over mTLS from the client)
// The counters cover the whole life of the pair (start-up checks, warm-up, measurement), not only the measurement.
//
// Usage: node bench/mtls-stats.mjs KIND TARGETDIR N   -> one JSON line (also importable: statsOf, readStats)
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const CLIENT_ID = "spiffe://bench.local/ns/cli/sa/cli";

/** Prometheus text -> [{name, labels, value}] */
function prom(text) {
  const out = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}
const sum = (rows, name, pred = () => true) => rows.filter((r) => r.name === name && pred(r.labels)).reduce((a, r) => a + r.value, 0);

/** The figures of one stop of a pair, from the saved texts (null when the counters are missing). */
export function statsOf(kind, clientText, serverText) {
  if (kind === "meshlet") {
    if (!clientText || !serverText) return null;
    const c = prom(clientText);
    const s = prom(serverText);
    const responses = sum(c, "response_total", (l) => l.direction === "outbound");
    const mtlsConns = sum(c, "tcp_open_total", (l) => l.direction === "outbound" && l.peer === "dst");
    const srvAll = sum(s, "response_total", (l) => l.direction === "inbound");
    const srvMtls = sum(s, "response_total", (l) => l.direction === "inbound" && l.tls === "true" && l.client_id === CLIENT_ID);
    return {
      responses,
      mtlsConns,
      connsPerReq: responses ? mtlsConns / responses : null,
      serverResponses: srvAll,
      tlsShare: srvAll ? srvMtls / srvAll : null,
    };
  }
  if (kind === "nginx") {
    // "Active connections: 1\nserver accepts handled requests\n 10 10 20\n..." (counts the status request itself)
    const m = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(serverText ?? "");
    if (!m) return null;
    const mtlsConns = Number(m[1]) - 1;
    const responses = Number(m[3]) - 1;
    return { responses, mtlsConns, connsPerReq: responses ? mtlsConns / responses : null };
  }
  if (kind === "haproxy") {
    const lines = (clientText ?? "").split("\n").filter(Boolean);
    if (!lines.length || !lines[0].startsWith("# ")) return null;
    const head = lines[0].slice(2).split(",");
    const row = lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [head[i], v])))
      .find((r) => r.pxname === "mtls" && r.svname === "srv");
    if (!row) return null;
    const responses = ["hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"].reduce((a, k) => a + Number(row[k] || 0), 0);
    const mtlsConns = Number(row.connect || 0);
    return { responses, mtlsConns, connsPerReq: responses ? mtlsConns / responses : null, reuse: Number(row.reuse || 0) };
  }
  return null;
}

/** statsOf for TARGETDIR/stats/N.* */
export function readStats(kind, targetDir, n) {
  const rd = (side) => {
    const f = join(targetDir, "stats", `${n}.${side}.txt`);
    return existsSync(f) ? readFileSync(f, "utf8") : "";
  };
  return statsOf(kind, rd("client"), rd("server"));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [kind, dir, n] = process.argv.slice(2);
  if (!kind || !dir || !n) {
    process.stderr.write("usage: node bench/mtls-stats.mjs KIND TARGETDIR N\n");
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(readStats(kind, dir, n)) + "\n");
}
