#!/usr/bin/env node
// Report of a bench/routing.sh run: CPU us/request and req/s per variant and runtime, the ratios b/a, c/b, c/a
// (and d/b, e/b for the diagnostic variants), and the issue 3 item 10 target (c/a CPU per request < 1.10).
// Reads RUNDIR/results.tsv. Runs disturbed by other processes (foreign or unattributed CPU more than foreign-max
// above the runtime's median level) or measured on a slow host are dropped when clean runs of the same
// configuration exist (as bench/report.mjs, with the baseline explained below).
// Each ratio is given twice: ratio of the medians, and the median (min–max) of the per-rep ratios — rep k of
// every configuration ran in the same interleaved round, so the paired ratio cancels slow drifts of the machine.
//
// Usage: node bench/routing-report.mjs RUNDIR [MORE_RUNDIRS...]   (several dirs pool their runs)
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { disturbance, median, num, runQuality } from "./stats.mjs";

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  process.stderr.write("usage: node bench/routing-report.mjs RUNDIR [MORE_RUNDIRS...]\n");
  process.exit(2);
}
const rows = [];
dirs.forEach((d, di) => {
  const lines = readFileSync(join(d, "results.tsv"), "utf8").trim().split("\n");
  const head = lines.shift().split("\t");
  for (const l of lines) {
    const c = l.split("\t");
    const r = Object.fromEntries(head.map((h, i) => [h, c[i] ?? ""]));
    r.round = `${di}:${r.rep}`; // pairing key: the interleaved round
    rows.push(r);
  }
});
const read = (d, f) => (existsSync(join(d, f)) ? readFileSync(join(d, f), "utf8") : "");
const meta = read(dirs[0], "meta.txt");
const metaLine = (k) => (meta.split("\n").find((l) => l.startsWith(k + ":")) || "").slice(k.length + 1).trim();
const fmax = Number(metaLine("foreign-max") || 5);

// A run is disturbed when it is more than foreign-max above its runtime's usual level: Node's runs always show
// ~5-8 % of a CPU "unattributed" (machine busy time outside every task, on a quiet machine too), which the
// harness's absolute threshold would count as noise in every Node run.
const rtOf = (r) => /-(node|bun|deno)$/.exec(r.name)?.[1] ?? "";
const { baseline, usable } = runQuality(rows, fmax, rtOf);

const VARIANTS = {
  a: "foundation (2ef6462), 1 service, 2 endpoints",
  b: "current, 1 service, default route, 2 endpoints",
  c: "current, 100 routes, 50 endpoints/service",
  d: "current, 100 routes, 2 endpoints/service",
  e: "current, 1 service, default route, 50 endpoints",
  f: "foundation, 1 service, 50 endpoints (round-robin)",
  g: "current, 1 service, default route, 50 endpoints, round-robin",
};
const RUNTIMES = ["node", "bun", "deno"];
// name = "<letter>-<label>-<runtime>"
const groups = new Map(); // runtime -> letter -> rows
for (const r of rows) {
  if (!r.set.startsWith("thru-")) continue;
  const m = /^([a-g])-.*-(node|bun|deno)$/.exec(r.name);
  if (!m) continue;
  const [, v, rt] = m;
  if (!groups.has(rt)) groups.set(rt, new Map());
  const g = groups.get(rt);
  if (!g.has(v)) g.set(v, []);
  g.get(v).push(r);
}

const S = {}; // rt -> v -> stats
for (const [rt, g] of groups) {
  S[rt] = {};
  for (const [v, all] of g) {
    const { rs, note } = usable(all);
    const vals = (k) => rs.map((r) => num(r[k])).filter((x) => x !== null);
    S[rt][v] = {
      rs,
      n: rs.length,
      total: all.length,
      failed: all.filter((r) => r.rps === "FAILED").length,
      note,
      cpu: vals("proxy_cpu_us_per_req"),
      rps: vals("rps"),
      p99: median(vals("p99_us")),
      rss: median(vals("proxy_peak_rss_kb")),
      errors: rs.reduce((a, r) => a + (num(r.errors) ?? 0), 0),
      dist: Math.max(0, ...rs.map(disturbance)),
    };
  }
}

const f1 = (x) => (x === null ? "–" : x.toFixed(1));
const int = (x) => (x === null ? "–" : Math.round(x).toLocaleString("en-US"));
const range = (a, f) => (a.length > 1 ? ` (${f(Math.min(...a))}–${f(Math.max(...a))})` : "");
function ratio(rt, x, y, key) {
  const X = S[rt]?.[x];
  const Y = S[rt]?.[y];
  if (!X || !Y || !X.n || !Y.n) return null;
  const ofMedians = median(X[key]) / median(Y[key]);
  const col = key === "cpu" ? "proxy_cpu_us_per_req" : "rps";
  const yBy = new Map(Y.rs.map((r) => [r.round, num(r[col])]));
  const paired = X.rs.map((r) => (yBy.has(r.round) ? num(r[col]) / yBy.get(r.round) : null)).filter((q) => q !== null && Number.isFinite(q));
  return { ofMedians, paired };
}
const fr = (q) => (q === null ? "–" : `${q.ofMedians.toFixed(3)}${q.paired.length ? ` · ${median(q.paired).toFixed(3)}${q.paired.length > 1 ? ` [${Math.min(...q.paired).toFixed(2)}–${Math.max(...q.paired).toFixed(2)}]` : ""}` : ""}`);

const out = [];
out.push(`# meshlet routing and balancing cost — ${metaLine("date")}${dirs.length > 1 ? ` (+${dirs.length - 1} more run dir(s) pooled)` : ""}`, "");
out.push(`- host: ${metaLine("host")}`, `- pinning: ${metaLine("pinning")}`, `- thru: ${metaLine("thru")}`);
for (const l of read(dirs[0], "meshlet-meta.txt").trim().split("\n").filter(Boolean)) out.push(`- ${l}`);
const noise = metaLine("noise");
if (noise) out.push(`- noise: ${noise}`);
out.push("");

out.push(`- disturbance baseline (median of max(foreign, unattributed) % of a CPU): ${Object.entries(baseline).filter(([, v]) => v).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ")}; a run > baseline + ${fmax} is dropped when clean reps exist`, "");
out.push("## Per variant (wrk -c64 /hello; medians, min–max over the reps kept)", "");
out.push("| runtime | variant | CPU µs/req | req/s | p99 ms | peak RSS MiB | reps | errors | max disturbance % of a CPU |");
out.push("|---|---|---|---|---|---|---|---|---|");
for (const rt of RUNTIMES) {
  for (const v of Object.keys(VARIANTS)) {
    const s = S[rt]?.[v];
    if (!s) continue;
    out.push(
      `| ${rt} | ${v}: ${VARIANTS[v]} | ${f1(median(s.cpu))}${range(s.cpu, f1)} | ${int(median(s.rps))}${range(s.rps, int)} | ` +
        `${s.p99 === null ? "–" : (s.p99 / 1000).toFixed(2)} | ${s.rss ? (s.rss / 1024).toFixed(1) : "–"} | ` +
        `${s.n}/${s.total}${s.note ? ` (${s.note})` : ""}${s.failed ? `, ${s.failed} FAILED` : ""} | ${s.errors} | ${s.dist.toFixed(1)} |`,
    );
  }
}
out.push("");

const pairs = [["b", "a"], ["c", "b"], ["c", "a"], ["d", "b"], ["e", "b"], ["f", "a"], ["e", "f"], ["g", "f"]].filter(([x, y]) => RUNTIMES.some((rt) => S[rt]?.[x] && S[rt]?.[y]));
out.push("## Ratios (ratio of the medians · median [range] of the per-rep paired ratios)", "");
out.push(`| runtime | ${pairs.map(([x, y]) => `CPU/req ${x}/${y}`).join(" | ")} | ${pairs.map(([x, y]) => `req/s ${x}/${y}`).join(" | ")} |`);
out.push(`|---|${pairs.map(() => "---").join("|")}|${pairs.map(() => "---").join("|")}|`);
for (const rt of RUNTIMES) {
  if (!S[rt]) continue;
  out.push(`| ${rt} | ${pairs.map(([x, y]) => fr(ratio(rt, x, y, "cpu"))).join(" | ")} | ${pairs.map(([x, y]) => fr(ratio(rt, x, y, "rps"))).join(" | ")} |`);
}
out.push("");

out.push("## Target (issue 3, item 10): routing and balancing add < 10 % CPU per request over the foundation", "");
out.push("| runtime | CPU/req c/a | verdict | of which: b/a (issue 3 on the single-route path) | c/b (100 routes, 50 endpoints) |");
out.push("|---|---|---|---|---|");
for (const rt of RUNTIMES) {
  const ca = ratio(rt, "c", "a", "cpu");
  if (!ca) continue;
  const q = ca.ofMedians;
  const p = ca.paired.length ? median(ca.paired) : q;
  const verdict = q < 1.1 && p < 1.1 ? "MET" : q >= 1.1 && p >= 1.1 ? "MISSED" : "borderline (the two estimates disagree)";
  const pc = (x) => `${x >= 1 ? "+" : "−"}${Math.abs((x - 1) * 100).toFixed(1)} %`;
  out.push(`| ${rt} | ${pc(q)} (paired ${pc(p)}) | ${verdict} | ${fr(ratio(rt, "b", "a", "cpu"))} | ${fr(ratio(rt, "c", "b", "cpu"))} |`);
}
out.push("");
console.log(out.join("\n"));
