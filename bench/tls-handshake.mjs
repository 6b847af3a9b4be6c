// A/B driver for bench/tls-handshake.ts: the Tls port of a base revision (its core/ and adapters/shared/, extracted
// with git archive) against this tree's, in alternating fresh processes pinned to one CPU (A B, then B A, round after
// round), per runtime. Reports the medians of handshakes/s and CPU µs per handshake, and the median of the per-round
// paired ratios (this tree / base: > 1 is faster for the rate, < 1 is cheaper for CPU).
//
//   node bench/tls-handshake.mjs [--base HEAD] [--rounds 7] [--runtimes node,bun,deno] [--cpu 1] [--n 400]
//        [--warmup 100] [--concurrency 1,16]

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./stats.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const o = { base: "HEAD", rounds: "7", runtimes: "node,bun,deno", cpu: "1", n: "400", warmup: "100", concurrency: "1,16" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, "");
  if (!(k in o) || argv[i + 1] === undefined) throw new Error(`unknown argument or missing value: ${argv[i]}`);
  o[k] = argv[++i];
}

const baseDir = mkdtempSync(join(tmpdir(), "meshlet-tls-base-"));
execFileSync("sh", ["-c", `git archive "$1" core adapters/shared | tar -x -C "$2"`, "sh", o.base, baseDir], { cwd: root, stdio: "inherit" });
const trees = { base: join(baseDir, "adapters/shared/node-tls.ts"), tree: join(root, "adapters/shared/node-tls.ts") };

const bench = join(root, "bench/tls-handshake.ts");
const cmds = {
  node: ["node", "--import", "tsx", bench],
  bun: [join(root, "node_modules/.bin/bun"), bench],
  deno: [join(root, "node_modules/.bin/deno"), "run", "-A", bench],
};

function once(runtime, tls) {
  const args = ["-c", o.cpu, ...cmds[runtime], "--json", "--tls", tls, "--n", o.n, "--warmup", o.warmup, "--concurrency", o.concurrency];
  const out = execFileSync("taskset", args, { cwd: root, timeout: 300_000, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.trim().split("\n").pop());
}


try {
  const levels = o.concurrency.split(",").map((c) => `c${c}`);
  console.log(`base ${o.base} vs this tree; ${o.rounds} rounds, taskset -c ${o.cpu}, ${o.n} handshakes per level`);
  console.log("runtime  level   base hs/s   tree hs/s   rate ratio   base µs CPU   tree µs CPU   CPU ratio");
  for (const runtime of o.runtimes.split(",")) {
    const runs = { base: [], tree: [] };
    for (let r = 0; r < Number(o.rounds); r++) {
      const order = r % 2 === 0 ? ["base", "tree"] : ["tree", "base"];
      for (const which of order) runs[which].push(once(runtime, trees[which]));
    }
    for (const lv of levels) {
      const pick = (which, k) => runs[which].map((x) => x[lv][k]);
      const ratio = (k) => median(runs.tree.map((x, i) => x[lv][k] / runs.base[i][lv][k]));
      console.log(
        [runtime.padEnd(7), lv.padEnd(5), median(pick("base", "rate")).toFixed(0).padStart(11), median(pick("tree", "rate")).toFixed(0).padStart(11),
          ratio("rate").toFixed(2).padStart(12), median(pick("base", "cpuUs")).toFixed(0).padStart(13), median(pick("tree", "cpuUs")).toFixed(0).padStart(13),
          ratio("cpuUs").toFixed(2).padStart(11)].join(" "),
      );
    }
  }
} finally {
  rmSync(baseDir, { recursive: true, force: true });
}
