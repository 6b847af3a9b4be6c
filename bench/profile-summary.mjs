#!/usr/bin/env node
// Summarizes V8/JSC .cpuprofile files (node --cpu-prof, bun --cpu-prof): self time per function, per source file
// and per category (meshlet code / runtime internals / GC / idle). Bundled frames (dist/node/main.js) are mapped
// back to their TypeScript source through the bundle's source map when one sits next to it.
//
// Usage: node bench/profile-summary.mjs [--top N] [--all] FILE.cpuprofile...
//   --top N   rows per table (default 25)
//   --all     include (idle)/(program) in the per-function table (default: excluded, shown in the totals)
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
let top = 25;
let all = false;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = Number(args[++i]);
  else if (args[i] === "--all") all = true;
  else files.push(args[i]);
}
if (files.length === 0) {
  process.stderr.write("usage: node bench/profile-summary.mjs [--top N] [--all] FILE.cpuprofile...\n");
  process.exit(2);
}

const maps = new Map();
function sourceMapFor(url) {
  if (maps.has(url)) return maps.get(url);
  let sm = null;
  try {
    const path = url.startsWith("file://") ? fileURLToPath(url) : url;
    if (path.endsWith(".js") && existsSync(path + ".map")) sm = new SourceMap(JSON.parse(readFileSync(path + ".map", "utf8")));
  } catch {
    sm = null;
  }
  maps.set(url, sm);
  return sm;
}

/** "core/http1/parser.ts" from an absolute path or URL (relative to the repo or snapshot root). */
function shortPath(p) {
  if (!p) return "";
  p = p.replace(/^file:\/\//, "");
  const m = /(?:^|\/)((?:core|adapters|proto|bench|test)\/.*)$/.exec(p);
  if (m) return m[1];
  const nm = /node_modules\/(.*)$/.exec(p);
  if (nm) return "node_modules/" + nm[1];
  return p;
}

function frameKey(cf) {
  const name = cf.functionName || "(anonymous)";
  let url = cf.url || "";
  let line = cf.lineNumber;
  if (url) {
    const sm = sourceMapFor(url);
    if (sm) {
      const e = sm.findEntry(cf.lineNumber, cf.columnNumber);
      if (e && e.originalSource) {
        url = e.originalSource;
        line = e.originalLine;
      }
    }
  }
  const file = shortPath(url);
  const where = file ? `${file}:${line + 1}` : "";
  return { fn: name, file, where };
}

function category(fn, file) {
  if (fn === "(idle)") return "idle";
  if (fn === "(garbage collector)") return "GC";
  if (fn === "(program)") return "program (native, unattributed)";
  if (file.startsWith("core/")) return "meshlet core/";
  if (file.startsWith("adapters/")) return "meshlet adapters/";
  if (file.startsWith("node_modules/")) return "npm dependencies";
  if (file.startsWith("node:") || file === "" || /^(internal|ext|bun|deno):/.test(file)) return "runtime (builtins, native)";
  return "other: " + file;
}

for (const f of files) {
  const prof = JSON.parse(readFileSync(f, "utf8"));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = prof.timeDeltas ?? [];
  const samples = prof.samples ?? [];
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const dt = Math.max(0, deltas[i] ?? 0);
    total += dt;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  // aggregate per function+location, per file, per category
  const perFn = new Map();
  const perFile = new Map();
  const perCat = new Map();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const k = frameKey(n.callFrame);
    const key = `${k.fn}\t${k.where}`;
    perFn.set(key, (perFn.get(key) ?? 0) + t);
    const c = category(k.fn, k.file);
    if (c !== "idle") {
      const fileKey = k.file || "(native / runtime)";
      perFile.set(fileKey, (perFile.get(fileKey) ?? 0) + t);
    }
    perCat.set(c, (perCat.get(c) ?? 0) + t);
  }
  const idle = perCat.get("idle") ?? 0;
  const busy = total - idle;
  const pct = (t, of) => (of > 0 ? ((100 * t) / of).toFixed(1) : "0.0");
  const out = [];
  out.push(`## ${f}`);
  out.push(`${samples.length} samples, ${(total / 1e6).toFixed(2)} s profiled, ${(busy / 1e6).toFixed(2)} s busy (not idle); % below are of busy time`);
  out.push("", "| category | self ms | % busy |", "|---|---|---|");
  for (const [c, t] of [...perCat].sort((a, b) => b[1] - a[1])) {
    if (c === "idle") continue;
    out.push(`| ${c} | ${(t / 1000).toFixed(0)} | ${pct(t, busy)} |`);
  }
  out.push("", `| top ${top} functions by self time | location | self ms | % busy |`, "|---|---|---|---|");
  const skip = new Set(["(idle)", "(program)"]);
  for (const [key, t] of [...perFn].sort((a, b) => b[1] - a[1]).filter(([k]) => all || !skip.has(k.split("\t")[0])).slice(0, top)) {
    const [fn, where] = key.split("\t");
    out.push(`| ${fn} | ${where || "native"} | ${(t / 1000).toFixed(0)} | ${pct(t, busy)} |`);
  }
  out.push("", `| top ${top} files by self time | self ms | % busy |`, "|---|---|---|");
  for (const [file, t] of [...perFile].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    out.push(`| ${file} | ${(t / 1000).toFixed(0)} | ${pct(t, busy)} |`);
  }
  console.log(out.join("\n") + "\n");
}
