#!/usr/bin/env node
// Report of an HTTP/2 benchmark run (bench/h2.sh; issue 4, item 5): per set (h2-hello = GET /hello, h2-grpc =
// gRPC unary) and target, req/s median [min–max], proxy CPU µs/req, p50/p99, peak RSS, errors and non-2xx
// responses; then meshlet/haproxy (the target: ≥ 0.80) and meshlet/direct req/s per runtime and set, as ratio of
// the medians and as the median [range] of the per-rep paired ratios (rep k of every target ran in the same
// interleaved round); then the gRPC checks (nghttp before every h2-grpc run).
// Runs disturbed by other processes (foreign or unattributed CPU more than foreign-max above the runtime's usual
// level for meshlet, above 0 for the others) or measured on a slow host are dropped when clean reps of the same
// configuration exist (the rule of bench/routing-report.mjs).
//
// Usage: node bench/h2-report.mjs RUNDIR [MORE_RUNDIRS...]   (several dirs pool their runs)
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { median, num, runQuality } from "./stats.mjs";

const TARGET = 0.8;
const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  process.stderr.write("usage: node bench/h2-report.mjs RUNDIR [MORE_RUNDIRS...]\n");
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
// h2load's summary of one run: status codes and request outcomes (raw/SET.NAME.REP.txt)
function h2loadSummary(d, r) {
  const f = join(d, "raw", `${r.set}.${r.name}.${r.rep}.txt`);
  if (!existsSync(f)) return null;
  const t = readFileSync(f, "utf8");
  const sc = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(t);
  const rq = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(t);
  const tr = /traffic: .*\((\d+)\) data/.exec(t);
  return {
    done: rq ? Number(rq[3]) : null,
    dataBytes: tr ? Number(tr[1]) : null,
    s2xx: sc ? Number(sc[1]) : null,
    non2xx: sc ? Number(sc[2]) + Number(sc[3]) + Number(sc[4]) : null,
    failed: rq ? Number(rq[5]) + Number(rq[6]) + Number(rq[7]) : null,
  };
}

const rows = [];
const checks = [];
for (const d of dirs) {
  for (const r of readTsv(join(d, "results.tsv"))) {
    r.h2load = r.rps === "FAILED" ? null : h2loadSummary(d, r);
    rows.push(r);
  }
  const f = join(d, "grpc-checks.tsv");
  if (existsSync(f)) {
    for (const l of readFileSync(f, "utf8").trim().split("\n").filter(Boolean)) {
      const [set, name, rep, status, ct, bytes, grpcStatus, verdict] = l.split("\t");
      checks.push({ set, name, rep, status, ct, bytes, grpcStatus, verdict });
    }
  }
}
const readText = (f) => (existsSync(f) ? readFileSync(f, "utf8") : "");
const meta = readText(join(dir, "meta.txt"));
const metaLine = (k) => (meta.split("\n").find((l) => l.startsWith(k + ":")) || "").slice(k.length + 1).trim();
const fmax = Number(metaLine("foreign-max") || 5);

// As bench/routing-report.mjs: a meshlet run is disturbed when it is more than foreign-max above its runtime's usual
// level (Node's runs show ~5-8 % of a CPU "unattributed" on a quiet machine too); the other targets against 0.
const rtOf = (r) => /^meshlet-(node|bun|deno)$/.exec(r.name)?.[1] ?? "";
const { baseline, noisy, slow, usable } = runQuality(rows, fmax, rtOf);
const vals = (rs, k) => rs.map((r) => num(r[k])).filter((x) => x !== null);
const med = (rs, k) => median(vals(rs, k));

// set -> name -> summary
const sets = new Map();
for (const r of rows) {
  if (!sets.has(r.set)) sets.set(r.set, new Map());
  const g = sets.get(r.set);
  if (!g.has(r.name)) g.set(r.name, []);
  g.get(r.name).push(r);
}
const S = {};
for (const [set, g] of sets) {
  S[set] = {};
  for (const [name, all] of g) {
    const { rs, note } = usable(all);
    const rps = vals(rs, "rps");
    const sum = (f) => rs.reduce((a, r) => a + (f(r) ?? 0), 0);
    S[set][name] = {
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
      rss: med(rs, "proxy_peak_rss_kb"),
      rr: median(rs.map((r) => num(r.rr_ports) ?? 0)),
      conns: median(rs.map((r) => num((r["backend_accepts/requests"] || "").split("/")[0])).filter((x) => x !== null)),
      errors: sum((r) => num(r.errors)),
      non2xx: sum((r) => r.h2load?.non2xx),
      ok2xx: sum((r) => r.h2load?.s2xx),
    };
  }
}

const int = (x) => (x === null || x === undefined ? "–" : Math.round(x).toLocaleString("en-US"));
const ms = (x) => (x === null || x === undefined ? "–" : (x / 1000).toFixed(2));
const mib = (x) => (x ? (x / 1024).toFixed(1) : "–");
const x2 = (r) => (r === null || r === undefined || !Number.isFinite(r) ? "–" : `${r.toFixed(2)}×`);
const HAPROXY = "haproxy-h2";
const DIRECT = "direct-h2";
const setDesc = {
  "h2-hello": "h2 GET /hello (5-byte body)",
  "h2-16k": "h2 GET /16k (16384-byte body)",
  "h2-grpc": "gRPC unary: POST /grpc.testing.TestService/UnaryCall, 12-byte message each way, trailer grpc-status 0",
};
const setShort = { "h2-hello": "GET /hello", "h2-16k": "GET /16k", "h2-grpc": "gRPC unary" };

// paired ratios: rep k of a over rep k of b (both kept)
function paired(a, b, k = "rps") {
  const byRep = new Map(b.rs.map((r) => [r.rep, num(r[k])]));
  const rs = a.rs.map((r) => (byRep.get(r.rep) ? num(r[k]) / byRep.get(r.rep) : null)).filter((x) => x !== null && Number.isFinite(x));
  return rs.length ? { med: median(rs), min: Math.min(...rs), max: Math.max(...rs), n: rs.length } : null;
}

const out = [];
out.push(`# meshlet HTTP/2 benchmark — ${metaLine("date")}${dirs.length > 1 ? ` (+${dirs.length - 1} more run dir(s) pooled)` : ""}`, "");
out.push(`- host: ${metaLine("host")}`, `- pinning: ${metaLine("pinning")}`, `- h2: ${metaLine("h2")}`);
out.push(`- versions: ${metaLine("versions")}`);
for (const l of readText(join(dir, "meshlet-meta.txt")).trim().split("\n").filter(Boolean)) out.push(`- ${l}`);
if (metaLine("noise")) out.push(`- noise: ${metaLine("noise")}`);
out.push("");

const setOrder = ["h2-hello", "h2-grpc", "h2-16k"].filter((s) => S[s]).concat(Object.keys(S).filter((s) => !setDesc[s]));
for (const set of setOrder) {
  const g = S[set];
  const hap = g[HAPROXY]?.rps;
  const dir0 = g[DIRECT]?.rps;
  out.push(`## ${set}: ${setDesc[set] ?? set} (h2load -c16 -m8; median [min–max] of reps)`, "");
  out.push("| target | req/s | vs haproxy | vs direct | CPU µs/req | p50 ms | p99 ms | peak RSS MiB | upstream conns | RR ports | reps | errors | non-2xx |");
  out.push("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
  for (const [name, v] of Object.entries(g)) {
    const range = v.n > 1 ? ` [${int(v.rpsMin)}–${int(v.rpsMax)}]` : "";
    const isDirect = name.startsWith("direct");
    out.push(
      `| ${name} | ${int(v.rps)}${range} | ${x2(v.rps && hap ? v.rps / hap : null)} | ${isDirect ? "1.00×" : x2(v.rps && dir0 ? v.rps / dir0 : null)} | ` +
        `${v.cpu === null ? "–" : v.cpu.toFixed(1)} | ${ms(v.p50)} | ${ms(v.p99)} | ${mib(v.rss)} | ${v.conns === null ? "–" : int(v.conns)} | ` +
        `${isDirect ? "n/a" : `${v.rr}/2`} | ${v.n}/${v.total}${v.note ? ` (${v.note})` : ""}${v.failed ? `, ${v.failed} FAILED` : ""} | ${v.errors} | ${v.non2xx} |`,
    );
  }
  out.push("");
}

// ---- ratios and the target
const runtimes = ["node", "bun", "deno"];
const T = [];
out.push(`## meshlet vs haproxy and direct (req/s; target ≥ ${TARGET.toFixed(2)}× haproxy)`, "");
out.push("Ratio of the medians · median [min–max] of the per-rep paired ratios. CPU: meshlet's CPU µs/req over haproxy's.", "");
out.push("| runtime | workload | meshlet req/s | **/ haproxy** | / direct | CPU µs/req meshlet / haproxy | target |");
out.push("|---|---|---|---|---|---|---|");
for (const rt of runtimes) {
  for (const set of setOrder) {
    const g = S[set];
    const m = g[`meshlet-${rt}`];
    if (!m) continue;
    const h = g[HAPROXY];
    const d = g[DIRECT];
    const rh = m.rps && h?.rps ? m.rps / h.rps : null;
    const rd = m.rps && d?.rps ? m.rps / d.rps : null;
    const ph = h ? paired(m, h) : null;
    const pd = d ? paired(m, d) : null;
    const pr = (p) => (p ? ` · ${p.med.toFixed(2)} [${p.min.toFixed(2)}–${p.max.toFixed(2)}]` : "");
    const verdict = rh === null ? "n/a" : rh >= TARGET ? "MET" : "MISSED";
    T.push({ rt, set, rh, verdict });
    out.push(
      `| ${rt} | ${setShort[set] ?? set} | ${int(m.rps)} | **${x2(rh)}**${pr(ph)} | ${x2(rd)}${pr(pd)} | ` +
        `${m.cpu === null ? "–" : m.cpu.toFixed(1)} / ${h?.cpu == null ? "–" : h.cpu.toFixed(1)} = ${x2(m.cpu && h?.cpu ? m.cpu / h.cpu : null)} | ${verdict} |`,
    );
  }
}
out.push("");
for (const set of setOrder) {
  const g = S[set];
  if (g[HAPROXY] && g[DIRECT]) out.push(`- ${setShort[set] ?? set}: haproxy-h2 / direct-h2 = ${x2(g[HAPROXY].rps / g[DIRECT].rps)}`);
}
const met = T.filter((t) => t.verdict === "MET").length;
out.push(`- target ≥ ${TARGET.toFixed(2)}× haproxy: met in ${met} of ${T.length} runtime × workload cases` +
  (T.length ? ` (${T.map((t) => `${t.rt} ${setShort[t.set] ?? t.set} ${x2(t.rh)}`).join(", ")})` : ""), "");

// ---- gRPC checks
if (checks.length) {
  out.push("## gRPC checks (one nghttp call before every h2-grpc run: status, content-type, DATA bytes, trailer grpc-status)", "");
  out.push("| target | checks ok | last answer | response DATA bytes per request under load (h2load) |", "|---|---|---|---|");
  const by = new Map();
  for (const c of checks) {
    if (!by.has(c.name)) by.set(c.name, []);
    by.get(c.name).push(c);
  }
  for (const [name, cs] of by) {
    const last = cs[cs.length - 1];
    const lr = rows.filter((r) => r.set === "h2-grpc" && r.name === name && r.h2load?.done);
    const per = lr.map((r) => r.h2load.dataBytes / r.h2load.done);
    const perTxt = per.length ? [...new Set(per.map((x) => x.toFixed(1)))].join(", ") : "–";
    out.push(`| ${name} | ${cs.filter((c) => c.verdict === "ok").length}/${cs.length} | ${last.status}, ${last.ct}, ${last.bytes} B, grpc-status ${last.grpcStatus} | ${perTxt} |`);
  }
  out.push("");
}
const kept = rows.filter((r) => r.rps !== "FAILED");
const nNoisy = kept.filter(noisy).length;
const nSlow = kept.filter(slow).length;
out.push(`Runs: ${rows.length} (${rows.length - kept.length} FAILED); ${nNoisy} disturbed and ${nSlow} on a slow host, dropped from the medians where clean reps exist.`);
out.push(`Disturbance baseline (median of max(foreign, unattributed) % of a CPU): ${Object.entries(baseline).filter(([, v]) => v).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ") || "none"}; a meshlet run more than ${fmax} above its runtime's, another target's more than ${fmax}, counts as disturbed.`);
console.log(out.join("\n"));
