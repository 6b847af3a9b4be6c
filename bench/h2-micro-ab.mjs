// A/B driver for bench/h2-micro.ts: runs two core trees (a copy of the base, e.g. /tmp/h2ab/base, and this
// tree's core/) in alternating fresh processes pinned to one CPU, round after round, and reports medians, spread
// and the per-round paired ratio (B / A) of CPU µs per exchange.
//
//   node bench/h2-micro-ab.mjs --a /tmp/h2ab/base [--b core] [--rounds 7] [--runtimes node,bun,deno] [--sets get,grpc,get-indexed]
//        [--cpu 1] [--n 50000] [--segments 5] [--warmup 30000] [--alloc]
//
// --alloc adds, per tree, Node's bytes allocated per exchange (bench/h2-micro.ts --alloc). Sets: get (nginx-like
// literal responses), grpc (--grpc), get-indexed (--indexed-responses). The trees must be compiled alike: keep a
// copy of core/ where a tsconfig.json like this repository's applies (tsx compiles a .ts file outside any project
// with other settings, which changed the timings by 1.5x here), e.g. /tmp/h2ab/{base,...} with /tmp/h2ab/tsconfig.json
// and a package.json of {"type":"module"}.

import { execFileSync } from "node:child_process";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const o = { a: "", b: resolve(root, "core"), rounds: 7, runtimes: "node,bun", sets: "get,grpc", cpu: "1", n: "50000", segments: "5", warmup: "30000", alloc: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, "");
  if (k === "alloc") o.alloc = true;
  else if (k in o) o[k] = argv[++i];
  else throw new Error(`unknown argument ${argv[i]}`);
}
if (o.a === "") throw new Error("--a DIR (the base core tree) is required");
o.a = resolve(o.a);
o.b = resolve(o.b);

const bench = resolve(root, "bench/h2-micro.ts");
const setArgs = { get: [], grpc: ["--grpc"], "get-indexed": ["--indexed-responses"] };
const cmds = {
  node: ["node", "--import", "tsx", bench],
  bun: [resolve(root, "node_modules/.bin/bun"), bench],
  deno: [resolve(root, "node_modules/.bin/deno"), "run", "-A", bench],
};

function once(runtime, set, core, extra = []) {
  const [cmd, ...rest] = cmds[runtime];
  const args = ["-c", o.cpu, cmd, ...rest, "--core", core, "--json", "--n", o.n, "--segments", o.segments, "--warmup", o.warmup, ...extra];
  args.push(...setArgs[set]);
  const out = execFileSync("taskset", args, { cwd: root, timeout: 300_000, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.trim().split("\n").pop());
}

const f2 = (x) => x.toFixed(2);

const results = [];
for (const runtime of o.runtimes.split(",")) {
  for (const set of o.sets.split(",")) {
    const A = [];
    const B = [];
    for (let r = 0; r < Number(o.rounds); r++) {
      // ABBA: alternate which tree goes first.
      if (r % 2 === 0) {
        A.push(once(runtime, set, o.a).cpuUs);
        B.push(once(runtime, set, o.b).cpuUs);
      } else {
        B.push(once(runtime, set, o.b).cpuUs);
        A.push(once(runtime, set, o.a).cpuUs);
      }
      process.stderr.write(`${runtime} ${set} round ${r + 1}: A ${f2(A.at(-1))} B ${f2(B.at(-1))}\n`);
    }
    const ratios = A.map((a, i) => B[i] / a);
    const row = {
      runtime,
      set,
      rounds: A.length,
      a: { median: median(A), min: Math.min(...A), max: Math.max(...A) },
      b: { median: median(B), min: Math.min(...B), max: Math.max(...B) },
      ratio: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
    };
    results.push(row);
    console.log(
      `${runtime} ${set}: A ${f2(row.a.median)} µs [${f2(row.a.min)}–${f2(row.a.max)}]  B ${f2(row.b.median)} µs [${f2(row.b.min)}–${f2(row.b.max)}]` +
        `  B/A ${row.ratio.median.toFixed(3)} [${row.ratio.min.toFixed(3)}–${row.ratio.max.toFixed(3)}]  (${row.rounds} rounds)`,
    );
  }
}
if (o.alloc) {
  for (const set of o.sets.split(",")) {
    const alloc = (core) => {
      const args = ["-c", o.cpu, "node", "--expose-gc", "--min-semi-space-size=128", "--max-semi-space-size=128", "--import", "tsx", bench, "--core", core, "--json", "--alloc", "--warmup", o.warmup];
      args.push(...setArgs[set]);
      const out = execFileSync("taskset", args, { cwd: root, timeout: 300_000, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
      return JSON.parse(out.trim().split("\n").pop()).bytesPerExchange;
    };
    console.log(`node ${set} bytes allocated/exchange: A ${alloc(o.a).toFixed(0)}  B ${alloc(o.b).toFixed(0)}`);
  }
}
