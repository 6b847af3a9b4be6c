#!/usr/bin/env node
// meshlet view of a harness run: per set, req/s with the ratio to nginx, latency, proxy CPU per request and
// peak RSS, then the issue's targets checked (issue 2, item 10). Reads RUNDIR/results.tsv.
// Medians over reps; runs the harness marked as disturbed (foreign or unattributed CPU > foreign-max) or measured
// on a slow host are dropped when clean reps of the same configuration exist (same rule as lib/summarize.js).
//
// Usage: node bench/report.mjs RUNDIR [MORE_RUNDIRS...]   (bench/run.sh writes RUNDIR/meshlet-report.md with it;
// several dirs pool their runs, e.g. a second run that adds reps)
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { median, num, runQuality } from "./stats.mjs";

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  process.stderr.write("usage: node bench/report.mjs RUNDIR [MORE_RUNDIRS...]\n");
  process.exit(2);
}
const dir = dirs[0];
// Several run dirs are pooled (same configurations measured in separate runs); the meta is the first one's.
const rows = [];
for (const d of dirs) {
  const lines = readFileSync(join(d, "results.tsv"), "utf8").trim().split("\n");
  const head = lines.shift().split("\t");
  for (const l of lines) {
    const c = l.split("\t");
    rows.push(Object.fromEntries(head.map((h, i) => [h, c[i] ?? ""])));
  }
}
const meta = existsSync(join(dir, "meta.txt")) ? readFileSync(join(dir, "meta.txt"), "utf8") : "";
const metaLine = (k) => (meta.split("\n").find((l) => l.startsWith(k + ":")) || "").slice(k.length + 1).trim();
const fmax = Number(metaLine("foreign-max") || 5);

const { usable } = runQuality(rows, fmax);
const med = (rs, k) => median(rs.map((r) => num(r[k])).filter((x) => x !== null));

const sets = new Map();
for (const r of rows) {
  if (!sets.has(r.set)) sets.set(r.set, new Map());
  const g = sets.get(r.set);
  if (!g.has(r.name)) g.set(r.name, []);
  g.get(r.name).push(r);
}
const S = {}; // set -> name -> medians
for (const [set, g] of sets) {
  S[set] = {};
  for (const [name, all] of g) {
    const { rs, note } = usable(all);
    S[set][name] = {
      n: rs.length,
      total: all.length,
      failed: all.filter((r) => r.rps === "FAILED").length,
      note,
      rps: med(rs, "rps"),
      p50: med(rs, "p50_us"),
      p99: med(rs, "p99_us"),
      cpu: med(rs, "proxy_cpu_us_per_req"),
      rss: med(rs, "proxy_peak_rss_kb"),
      rssMax: Math.max(0, ...rs.map((r) => num(r.proxy_peak_rss_kb) ?? 0)),
      errors: rs.reduce((a, r) => a + (num(r.errors) ?? 0), 0),
    };
  }
}

const int = (x) => (x === null || x === undefined ? "–" : Math.round(x).toLocaleString("en-US"));
const ms = (x) => (x === null || x === undefined ? "–" : (x / 1000).toFixed(2));
const mib = (x) => (x ? (x / 1024).toFixed(1) : "–");
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : "–");
const out = [];
out.push(`# meshlet benchmark — ${metaLine("date")}${dirs.length > 1 ? ` (+${dirs.length - 1} more run dir(s) pooled)` : ""}`, "");
out.push(`- host: ${metaLine("host")}`, `- pinning: ${metaLine("pinning")}`, `- thru: ${metaLine("thru")}`);
if (metaLine("lat")) out.push(`- lat: ${metaLine("lat")}`);
out.push(`- versions: ${metaLine("versions")}`);
const mm = existsSync(join(dir, "meshlet-meta.txt")) ? readFileSync(join(dir, "meshlet-meta.txt"), "utf8").trim().split("\n") : [];
for (const l of mm) out.push(`- ${l}`);
out.push("");

for (const set of Object.keys(S).filter((s) => s.startsWith("thru-"))) {
  const g = S[set];
  const ng = g.nginx?.rps;
  out.push(`## ${set} (wrk -c64; median of reps)`, "");
  out.push("| proxy | req/s | vs nginx | p50 ms | p99 ms | CPU µs/req | peak RSS MiB | reps | errors |");
  out.push("|---|---|---|---|---|---|---|---|---|");
  for (const [name, v] of Object.entries(g)) {
    out.push(
      `| ${name} | ${int(v.rps)} | ${ratio(v.rps, ng)} | ${ms(v.p50)} | ${ms(v.p99)} | ` +
        `${v.cpu === null ? "–" : v.cpu.toFixed(1)} | ${mib(v.rss)} | ${v.n}/${v.total}${v.note ? ` (${v.note})` : ""}${v.failed ? `, ${v.failed} FAILED` : ""} | ${v.errors} |`,
    );
  }
  out.push("");
}
for (const set of Object.keys(S).filter((s) => s.startsWith("lat"))) {
  const g = S[set];
  const d = g.direct;
  const ngAdd = g.nginx && d ? g.nginx.p50 - d.p50 : null;
  out.push(`## ${set} (wrk -c1, 1 ms think time; "added" = proxy p50 − direct p50)`, "");
  out.push("| proxy | req/s | p50 µs | p99 µs | added p50 µs | added p50 − nginx's µs | CPU µs/req | peak RSS MiB | reps |");
  out.push("|---|---|---|---|---|---|---|---|---|");
  for (const [name, v] of Object.entries(g)) {
    const add = d && name !== "direct" ? v.p50 - d.p50 : null;
    out.push(
      `| ${name} | ${int(v.rps)} | ${int(v.p50)} | ${int(v.p99)} | ${add === null ? "–" : `+${int(add)}`} | ` +
        `${add === null || ngAdd === null || name === "nginx" ? "–" : `${add - ngAdd >= 0 ? "+" : ""}${int(add - ngAdd)}`} | ` +
        `${v.cpu === null ? "–" : v.cpu.toFixed(1)} | ${mib(v.rss)} | ${v.n}/${v.total}${v.note ? ` (${v.note})` : ""} |`,
    );
  }
  out.push("");
}

// ---- targets (issue 2, item 10)
const T = [];
const hello = S["thru-hello"];
const lat = S.lat;
const check = (ok) => (ok === null ? "n/a" : ok ? "MET" : "MISSED");
for (const [rt, min] of [["node", 0.6], ["deno", 0.6], ["bun", 0.9]]) {
  const v = hello?.[`meshlet-${rt}`]?.rps;
  const ng = hello?.nginx?.rps;
  const r = v && ng ? v / ng : null;
  T.push(`| req/s ≥ ${min}× nginx, /hello c64, ${rt} | ${r === null ? "–" : `${r.toFixed(2)}×`} | ${check(r === null ? null : r >= min)} |`);
}
if (lat?.direct && lat?.nginx) {
  const ngAdd = lat.nginx.p50 - lat.direct.p50;
  for (const rt of ["node", "bun", "deno"]) {
    const v = lat[`meshlet-${rt}`];
    if (!v) continue;
    const add = v.p50 - lat.direct.p50;
    T.push(`| added p50 within 0.1 ms of nginx's (+${int(ngAdd)} µs), ${rt} | +${int(add)} µs (${add - ngAdd >= 0 ? "+" : ""}${int(add - ngAdd)}) | ${check(add - ngAdd <= 100)} |`);
  }
}
{
  const rss = Math.max(0, ...Object.keys(S).filter((s) => s.startsWith("thru-")).map((s) => S[s]["meshlet-node"]?.rss ?? 0));
  if (rss) T.push(`| peak RSS after load ≤ 60 MB, node (worst set median) | ${(rss / 1024).toFixed(1)} MiB (${((rss * 1024) / 1e6).toFixed(1)} MB) | ${check((rss * 1024) / 1e6 <= 60)} |`);
}
out.push("## Targets (issue 2, item 10)", "", "| target | measured | |", "|---|---|---|", ...T, "");
console.log(out.join("\n"));
