#!/usr/bin/env node
// Report of a proxy-to-proxy mTLS benchmark run (bench/mtls.sh; issue 5, item 9): per workload (tp = pooled mTLS
// connections between the proxies, hs = a new mTLS handshake per request) and target (a pair of proxies): req/s
// median [min–max], CPU µs/req of both proxies together, p50/p99, peak RSS of both, mTLS connections per request from
// the pairs' own counters; then meshlet/nginx, meshlet/haproxy and meshlet/direct per runtime and workload, as ratio
// of the medians and as the median [range] of the per-rep paired ratios (rep k of every target ran in the same
// interleaved round); then the preflight.
// Runs disturbed by other processes (foreign or unattributed CPU more than foreign-max above the runtime's usual
// level for meshlet, above 0 for the others) or measured on a slow host are dropped when clean reps of the same
// target exist (the rule of bench/routing-report.mjs and bench/h2-report.mjs).
//
// Usage: node bench/mtls-report.mjs RUNDIR [MORE_RUNDIRS...]   (several dirs pool their runs)
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readStats } from "./mtls-stats.mjs";
import { median, num, runQuality } from "./stats.mjs";

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  process.stderr.write("usage: node bench/mtls-report.mjs RUNDIR [MORE_RUNDIRS...]\n");
  process.exit(2);
}
const dir = dirs[0];

function readTsv(file) {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, "utf8").trim().split("\n").filter(Boolean);
  const head = lines.shift().split("\t");
  return lines.map((l) => {
    const c = l.split("\t");
    return Object.fromEntries(head.map((h, i) => [h, c[i] ?? ""]));
  });
}
const readText = (f) => (existsSync(f) ? readFileSync(f, "utf8") : "");

// target name -> workload and kind
const wlOf = (name) => (/-(tp|hs)$/.exec(name)?.[1] ?? (name === "direct" ? "both" : ""));
const kindOf = (name) => name.replace(/-(tp|hs)$/, "");
const rtOf = (r) => /^meshlet-(node|bun|deno)-/.exec(r.name)?.[1] ?? "";

const rows = [];
const counters = new Map(); // name -> [{responses, mtlsConns, connsPerReq, tlsShare}]
const preflight = [];
for (const d of dirs) {
  rows.push(...readTsv(join(d, "results.tsv")));
  preflight.push(...readTsv(join(d, "preflight.tsv")));
  const td = join(d, "targets");
  if (!existsSync(td)) continue;
  for (const name of readdirSync(td)) {
    const env = readText(join(td, name, "pair.env"));
    const kind = /^KIND=(\S+)/m.exec(env)?.[1];
    const sd = join(td, name, "stats");
    if (!kind || !existsSync(sd)) continue;
    const ns = [...new Set(readdirSync(sd).map((f) => /^(\d+)\./.exec(f)?.[1]).filter(Boolean))];
    for (const n of ns) {
      const s = readStats(kind, join(td, name), n);
      if (!counters.has(name)) counters.set(name, []);
      counters.get(name).push(s);
    }
  }
}
const meta = readText(join(dir, "meta.txt"));
const metaLine = (k) => (meta.split("\n").find((l) => l.startsWith(k + ":")) || "").slice(k.length + 1).trim();
const fmax = Number(metaLine("foreign-max") || 5);

const { baseline, noisy, slow, usable } = runQuality(rows, fmax, rtOf);
const vals = (rs, k) => rs.map((r) => num(r[k])).filter((x) => x !== null);
const med = (rs, k) => median(vals(rs, k));

const byName = new Map();
for (const r of rows) {
  if (!byName.has(r.name)) byName.set(r.name, []);
  byName.get(r.name).push(r);
}
const S = {};
for (const [name, all] of byName) {
  const { rs, note } = usable(all);
  const rps = vals(rs, "rps");
  const cs = (counters.get(name) ?? []).filter(Boolean);
  const cpr = cs.map((c) => c.connsPerReq).filter((x) => x !== null);
  const share = cs.map((c) => c.tlsShare).filter((x) => x !== null && x !== undefined);
  S[name] = {
    rs,
    n: rs.length,
    total: all.length,
    failed: all.filter((r) => r.rps === "FAILED").length,
    note,
    rps: median(rps),
    rpsMin: rps.length ? Math.min(...rps) : null,
    rpsMax: rps.length ? Math.max(...rps) : null,
    p50: med(rs, "p50_us"),
    p99: med(rs, "p99_us"),
    cpu: med(rs, "proxy_cpu_us_per_req"),
    cpuPct: med(rs, "proxy_cpu_pct"),
    rss: med(rs, "proxy_peak_rss_kb"),
    beConns: median(rs.map((r) => num((r["backend_accepts/requests"] || "").split("/")[0])).filter((x) => x !== null)),
    errors: rs.reduce((a, r) => a + (num(r.errors) ?? 0), 0),
    stops: cs.length,
    cprMin: cpr.length ? Math.min(...cpr) : null,
    cprMax: cpr.length ? Math.max(...cpr) : null,
    shareMin: share.length ? Math.min(...share) : null,
  };
}

const int = (x) => (x === null || x === undefined ? "–" : Math.round(x).toLocaleString("en-US"));
const ms = (x) => (x === null || x === undefined ? "–" : (x / 1000).toFixed(2));
const mib = (x) => (x ? (x / 1024).toFixed(1) : "–");
const x2 = (r) => (r === null || r === undefined || !Number.isFinite(r) ? "–" : `${r.toFixed(2)}×`);
const f1 = (x) => (x === null || x === undefined ? "–" : x.toFixed(1));
const cprTxt = (v) => {
  if (v.cprMin === null) return "–";
  const f = (x) => (x >= 0.01 ? x.toFixed(2) : x.toExponential(0));
  return f(v.cprMin) === f(v.cprMax) ? f(v.cprMin) : `${f(v.cprMin)}–${f(v.cprMax)}`;
};

// paired ratios: rep k of a over rep k of b (both kept)
function paired(a, b, k = "rps") {
  if (!a || !b) return null;
  const byRep = new Map(b.rs.map((r) => [r.rep, num(r[k])]));
  const rs = a.rs.map((r) => (byRep.get(r.rep) ? num(r[k]) / byRep.get(r.rep) : null)).filter((x) => x !== null && Number.isFinite(x));
  return rs.length ? { med: median(rs), min: Math.min(...rs), max: Math.max(...rs), n: rs.length } : null;
}
const pr = (p) => (p ? ` · ${p.med.toFixed(2)} [${p.min.toFixed(2)}–${p.max.toFixed(2)}]` : "");

const out = [];
out.push(`# meshlet proxy-to-proxy mTLS benchmark — ${metaLine("date")}${dirs.length > 1 ? ` (+${dirs.length - 1} more run dir(s) pooled)` : ""}`, "");
out.push(`- host: ${metaLine("host")}`, `- pinning: ${metaLine("pinning")} (both proxies of a pair on the proxy CPU)`, `- load: ${metaLine("thru")}`);
out.push(`- versions: ${metaLine("versions")}`);
for (const l of readText(join(dir, "meshlet-meta.txt")).trim().split("\n").filter(Boolean)) out.push(`- ${l}`);
if (metaLine("noise")) out.push(`- noise: ${metaLine("noise")}`);
out.push("");

const wlDesc = {
  tp: "tp — throughput, pooled mTLS connections between the proxies",
  hs: "hs — a new mTLS connection (full handshake) between the proxies for every request; req/s = handshakes/s",
};
const kinds = ["nginx", "haproxy", "meshlet-node", "meshlet-bun", "meshlet-deno"];
const direct = S.direct;
for (const wl of ["tp", "hs"]) {
  const names = kinds.map((k) => `${k}-${wl}`).filter((n) => S[n]);
  if (!names.length) continue;
  const ng = S[`nginx-${wl}`];
  out.push(`## ${wlDesc[wl]} (wrk -c16 keep-alive to the client side; median [min–max] of reps)`, "");
  out.push("| target | req/s | vs direct | vs nginx | CPU µs/req (both proxies) | proxy CPU % | p50 ms | p99 ms | peak RSS MiB (both) | mTLS conns/req | reps | errors |");
  out.push("|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const name of ["direct", ...names]) {
    const v = S[name];
    if (!v) continue;
    const range = v.n > 1 ? ` [${int(v.rpsMin)}–${int(v.rpsMax)}]` : "";
    const isDirect = name === "direct";
    out.push(
      `| ${name} | ${int(v.rps)}${range} | ${isDirect ? "1.00×" : x2(v.rps && direct?.rps ? v.rps / direct.rps : null)} | ` +
        `${x2(v.rps && ng?.rps ? v.rps / ng.rps : null)} | ${f1(v.cpu)} | ${f1(v.cpuPct)} | ${ms(v.p50)} | ${ms(v.p99)} | ${mib(v.rss)} | ` +
        `${isDirect ? "n/a" : cprTxt(v)} | ${v.n}/${v.total}${v.note ? ` (${v.note})` : ""}${v.failed ? `, ${v.failed} FAILED` : ""} | ${v.errors} |`,
    );
  }
  out.push("");
}

out.push("## meshlet vs nginx, haproxy and direct", "");
out.push("Ratio of the medians · median [min–max] of the per-rep paired ratios. CPU: µs/req of meshlet's pair over nginx's pair (below 1: meshlet needs less CPU per request).", "");
out.push("| runtime | workload | meshlet req/s | **/ nginx** | / haproxy | / direct | CPU µs/req meshlet / nginx |");
out.push("|---|---|---|---|---|---|---|");
for (const rt of ["node", "bun", "deno"]) {
  for (const wl of ["tp", "hs"]) {
    const m = S[`meshlet-${rt}-${wl}`];
    if (!m) continue;
    const ng = S[`nginx-${wl}`];
    const hp = S[`haproxy-${wl}`];
    out.push(
      `| ${rt} | ${wl} | ${int(m.rps)} | **${x2(m.rps && ng?.rps ? m.rps / ng.rps : null)}**${pr(paired(m, ng))} | ` +
        `${x2(m.rps && hp?.rps ? m.rps / hp.rps : null)}${pr(paired(m, hp))} | ${x2(m.rps && direct?.rps ? m.rps / direct.rps : null)}${pr(paired(m, direct))} | ` +
        `${f1(m.cpu)} / ${f1(ng?.cpu ?? null)} = ${x2(m.cpu && ng?.cpu ? m.cpu / ng.cpu : null)} |`,
    );
  }
}
out.push("");
for (const wl of ["tp", "hs"]) {
  const ng = S[`nginx-${wl}`];
  const hp = S[`haproxy-${wl}`];
  const parts = [];
  if (ng && direct) parts.push(`nginx/direct ${x2(ng.rps / direct.rps)}`);
  if (hp && ng) parts.push(`haproxy/nginx ${x2(hp.rps / ng.rps)}`);
  if (parts.length) out.push(`- ${wl}: ${parts.join(", ")}`);
}
out.push("");

// ---- counters
out.push("## mTLS evidence", "");
out.push("Per target, over every start of its pair in the run (incl. repeated disturbed runs): mTLS connections the client side opened per request answered (counters of the whole start: checks, warm-up, measurement), and for meshlet the lowest share of the server side's responses that came over mTLS with the client's SPIFFE ID.", "");
out.push("| target | starts with counters | mTLS conns/req | meshlet server side: share over mTLS from the client ID |", "|---|---|---|---|");
for (const wl of ["tp", "hs"]) {
  for (const k of kinds) {
    const v = S[`${k}-${wl}`];
    if (!v) continue;
    out.push(`| ${k}-${wl} | ${v.stops} | ${cprTxt(v)} | ${v.shareMin === null ? "n/a" : v.shareMin.toFixed(3)} |`);
  }
}
out.push("");
if (preflight.length) {
  out.push("Preflight (each pair once, before the run): the server side's port with and without the client certificate (curl), the TLS version/cipher curl negotiated, and 40 keep-alive requests through the pair.", "");
  out.push("| target | hop with cert | hop without cert | hop TLS | responses | mTLS conns | conns/req | meshlet mTLS share | verdict |", "|---|---|---|---|---|---|---|---|---|");
  for (const p of preflight) {
    out.push(`| ${p.name} | ${p.hop_with_cert} | ${p.hop_without_cert} | ${p.hop_tls} | ${p.responses} | ${p.mtls_conns} | ${p.conns_per_req} | ${p.tls_share} | ${p.verdict} |`);
  }
  out.push("");
}

const kept = rows.filter((r) => r.rps !== "FAILED");
const nNoisy = kept.filter(noisy).length;
const nSlow = kept.filter(slow).length;
out.push(`Runs: ${rows.length} (${rows.length - kept.length} FAILED); ${nNoisy} disturbed and ${nSlow} on a slow host, dropped from the medians where clean reps exist.`);
out.push(`Disturbance baseline (median of max(foreign, unattributed) % of a CPU): ${Object.entries(baseline).filter(([, v]) => v).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ") || "none"}; a meshlet run more than ${fmax} above its runtime's, another target's more than ${fmax}, counts as disturbed.`);
console.log(out.join("\n"));
