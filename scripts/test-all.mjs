#!/usr/bin/env node
// `npm test`: typecheck, unit tests, adapter tests, both builds, then the conformance suite once per
// runtime (node, bun, deno, bun-binary). Prints a summary table and a final line `N passed, N failed`,
// where N counts test cases; a step without test cases (typecheck, a build, a missing runtime) that
// fails counts as one failure. Exits non-zero if anything failed or a runtime is missing.
//
// Options (for local use; CI runs everything):
//   --runtimes=node,deno   only these conformance runtimes (default: all four)
//   --only=conformance     skip typecheck, unit, adapter tests and builds
//   --files=a,b            only these conformance files (names under test/conformance, e.g. routing)

import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = (n) => join(ROOT, "node_modules", ".bin", n);
const ALL_RUNTIMES = ["node", "bun", "deno", "bun-binary"];
const MIN = 60_000;

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) usage(`unknown argument ${a}`);
    return [m[1], m[2] ?? "true"];
  }),
);
function usage(msg) {
  console.error(`${msg}\nusage: node scripts/test-all.mjs [--runtimes=node,bun,deno,bun-binary] [--only=conformance] [--files=routing,errors]`);
  process.exit(2);
}
const runtimes = args.runtimes ? args.runtimes.split(",").filter(Boolean) : ALL_RUNTIMES;
for (const r of runtimes) if (!ALL_RUNTIMES.includes(r)) usage(`unknown runtime ${r}`);
if (args.only && args.only !== "conformance") usage(`--only=${args.only}: only "conformance" is supported`);

const tmp = mkdtempSync(join(tmpdir(), "meshlet-test-all-"));
/** @type {Array<{name: string, ok: boolean, passed?: number, failed?: number, ms: number, note?: string}>} */
const results = [];
let current; // the running child, killed (by its own process group) on SIGINT/SIGTERM

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (current?.pid) killGroup(current.pid, "SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  });
}

function killGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}

/** Runs a command in its own process group with output passed through; resolves {code, output}. */
function run(cmd, argv, { env = {}, timeoutMs = 10 * MIN, capture = false } = {}) {
  return new Promise((res) => {
    console.log(`\n$ ${[cmd, ...argv].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}`);
    let output = "";
    const child = spawn(cmd, argv, {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", ...env },
      stdio: ["ignore", capture ? "pipe" : "inherit", capture ? "pipe" : "inherit"],
      detached: true,
    });
    current = child;
    if (capture) {
      for (const s of [child.stdout, child.stderr]) {
        s.on("data", (d) => {
          output += d;
          process.stdout.write(d);
        });
      }
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.error(`\n[test-all] ${cmd} timed out after ${timeoutMs / 1000}s; killing its process group ${child.pid}`);
      killGroup(child.pid, "SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      output += `\n${e.message}`;
      console.error(`[test-all] ${cmd}: ${e.message}`);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      current = undefined;
      output = output.replace(/\x1b\[[0-9;]*m/g, ""); // deno colours even with NO_COLOR
      res({ code: timedOut ? -1 : (code ?? -1), signal, output, timedOut });
    });
  });
}

async function step(name, fn) {
  const t0 = Date.now();
  let r;
  try {
    r = await fn();
  } catch (e) {
    r = { ok: false, note: String(e?.message ?? e) };
  }
  results.push({ name, ms: Date.now() - t0, ...r });
}

/** A command step without test counts: ok iff exit 0. */
const commandStep = (name, cmd, argv, opts) =>
  step(name, async () => {
    const r = await run(cmd, argv, opts);
    return { ok: r.code === 0, note: r.timedOut ? "timed out" : r.code === 0 ? undefined : `exit ${r.code}` };
  });

/** node:test summary from a TAP file: `# pass N`, `# fail N`, `# cancelled N`. */
function tapCounts(file) {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const num = (k) => {
    const all = [...text.matchAll(new RegExp(`^# ${k} (\\d+)$`, "gm"))];
    return all.length ? Number(all.at(-1)[1]) : undefined;
  };
  const pass = num("pass");
  if (pass === undefined) return undefined;
  return { passed: pass, failed: (num("fail") ?? 0) + (num("cancelled") ?? 0) };
}

/** Runs node:test files under tsx; counts come from a TAP reporter written to a file. */
async function nodeTests(name, files, { env = {}, timeoutMs = 10 * MIN, extra = [] } = {}) {
  await step(name, async () => {
    const tap = join(tmp, `${name.replace(/\W+/g, "_")}.tap`);
    const r = await run(
      process.execPath,
      [BIN("tsx"), "--test", ...extra, "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=tap", `--test-reporter-destination=${tap}`, ...files],
      { env, timeoutMs },
    );
    const c = tapCounts(tap);
    if (!c) return { ok: false, passed: 0, failed: 1, note: r.timedOut ? "timed out, no summary" : `exit ${r.code}, no summary` };
    const ok = r.code === 0 && c.failed === 0;
    return { ok, ...c, failed: ok ? c.failed : Math.max(c.failed, 1), note: r.timedOut ? "timed out" : undefined };
  });
}

function findTests(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (e.endsWith(".test.ts")) out.push(relative(ROOT, p));
  }
  return out.sort();
}

function runnable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

if (!args.only) {
  await commandStep("typecheck", "npm", ["run", "typecheck"]);

  const unit = findTests(join(ROOT, "test/unit"));
  if (unit.length) await nodeTests("unit", unit, { timeoutMs: 5 * MIN });
  else results.push({ name: "unit", ok: true, passed: 0, failed: 0, ms: 0, note: "no test/unit/**/*.test.ts" });

  const adapterDir = join(ROOT, "test/adapters");
  const adapterNode = findTests(adapterDir).filter((f) => !/\/(bun|deno)\.test\.ts$/.test(f));
  if (adapterNode.length) await nodeTests("adapters:node", adapterNode, { timeoutMs: 3 * MIN });

  const interop = findTests(join(ROOT, "test/interop"));
  if (interop.length) await nodeTests("interop", interop, { timeoutMs: 5 * MIN });
  if (existsSync(join(adapterDir, "bun.test.ts"))) {
    await step("adapters:bun", async () => {
      const r = await run(BIN("bun"), ["test", "./test/adapters/bun.test.ts"], { capture: true, timeoutMs: 3 * MIN });
      const pass = /^\s*(\d+) pass\b/m.exec(r.output);
      const fail = /^\s*(\d+) fail\b/m.exec(r.output);
      const passed = pass ? Number(pass[1]) : 0;
      const failed = fail ? Number(fail[1]) : 0;
      const ok = r.code === 0 && failed === 0;
      return { ok, passed, failed: ok ? failed : Math.max(failed, 1), note: ok ? undefined : r.timedOut ? "timed out" : `exit ${r.code}` };
    });
  }
  if (existsSync(join(adapterDir, "deno.test.ts"))) {
    await step("adapters:deno", async () => {
      const r = await run(BIN("deno"), ["test", "-A", "test/adapters/deno.test.ts"], { capture: true, timeoutMs: 3 * MIN });
      const m = /(\d+) passed\D+?(\d+) failed/.exec(r.output);
      const passed = m ? Number(m[1]) : 0;
      const failed = m ? Number(m[2]) : 0;
      const ok = r.code === 0 && failed === 0;
      return { ok, passed, failed: ok ? failed : Math.max(failed, 1), note: ok ? undefined : r.timedOut ? "timed out" : `exit ${r.code}` };
    });
  }

  await commandStep("build", "npm", ["run", "build"]);
  await commandStep("build:bin", "npm", ["run", "build:bin"]);
}

let conformance = findTests(join(ROOT, "test/conformance"));
if (args.files) {
  const want = args.files.split(",").map((f) => f.replace(/\.test\.ts$/, ""));
  conformance = conformance.filter((f) => want.some((w) => f.endsWith(`/${w}.test.ts`)));
}

/** Why a runtime cannot run, or undefined when it can. */
async function missing(rt) {
  switch (rt) {
    case "node":
      return existsSync(join(ROOT, "dist/node/main.js")) ? undefined : "dist/node/main.js not built";
    case "bun":
    case "deno": {
      const bin = BIN(rt);
      if (!runnable(bin)) return `${relative(ROOT, bin)} not found (npm ci?)`;
      const r = await run(bin, ["--version"], { capture: true, timeoutMs: MIN });
      return r.code === 0 ? undefined : `${rt} --version failed`;
    }
    case "bun-binary":
      return runnable(join(ROOT, "dist/meshlet-bun")) ? undefined : "dist/meshlet-bun not built";
  }
}

for (const rt of runtimes) {
  const why = await missing(rt);
  if (why) {
    console.error(`\n[test-all] runtime ${rt} is missing: ${why}`);
    results.push({ name: `conformance:${rt}`, ok: false, passed: 0, failed: 1, ms: 0, note: `missing: ${why}` });
    continue;
  }
  if (!conformance.length) {
    results.push({ name: `conformance:${rt}`, ok: false, passed: 0, failed: 1, ms: 0, note: "no conformance files" });
    continue;
  }
  await nodeTests(`conformance:${rt}`, conformance, { env: { MESHLET_RUNTIME: rt }, timeoutMs: 6 * MIN, extra: ["--test-concurrency=1"] });
}

rmSync(tmp, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
console.log("\n" + pad("step", 24) + pad("result", 8) + lpad("passed", 8) + lpad("failed", 8) + lpad("time", 9) + "  note");
console.log("-".repeat(72));
let passed = 0;
let failed = 0;
for (const r of results) {
  const counted = r.passed !== undefined;
  passed += r.passed ?? 0;
  failed += counted ? (r.failed ?? 0) : r.ok ? 0 : 1;
  console.log(
    pad(r.name, 24) + pad(r.ok ? "ok" : "FAIL", 8) + lpad(counted ? r.passed : "-", 8) + lpad(counted ? r.failed : "-", 8) + lpad(`${(r.ms / 1000).toFixed(1)}s`, 9) + (r.note ? `  ${r.note}` : ""),
  );
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && results.every((r) => r.ok) ? 0 : 1);
