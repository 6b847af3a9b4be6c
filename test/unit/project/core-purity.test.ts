// core/ must stay runtime-free: it reaches the world only through the ports in core/ports.ts.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const FORBIDDEN: [RegExp, string][] = [
  [/from\s+["']node:|require\(\s*["']node:|import\(\s*["']node:/, "node:* import"],
  [/\bBun\./, "Bun global"],
  [/\bDeno\./, "Deno global"],
  [/\bprocess\./, "process global"],
  [/\bBuffer\b/, "Buffer"],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, "global timers"],
  [/\bclear(Timeout|Interval|Immediate)\s*\(/, "global timers"],
  [/\bDate\.now\s*\(/, "Date.now (use Clock.wallNow)"],
  [/\bperformance\.now\s*\(/, "performance.now (use Clock.now)"],
];
const ALLOWED_PACKAGES = new Set(["valibot", "hono", "yaml"]);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Code without comments, so a comment may name what it avoids. */
function code(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

test("core/ uses no runtime globals, node:* modules or global timers", () => {
  const hits: string[] = [];
  for (const file of tsFiles("core")) {
    const lines = code(readFileSync(file, "utf8")).split("\n");
    lines.forEach((line, i) => {
      for (const [re, what] of FORBIDDEN) if (re.test(line)) hits.push(`${file}:${i + 1}: ${what}: ${line.trim()}`);
    });
  }
  assert.deepEqual(hits, []);
});

test("core/ imports only core/ and the allowed packages", () => {
  const bad: string[] = [];
  for (const file of tsFiles("core")) {
    for (const m of code(readFileSync(file, "utf8")).matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
      const spec = m[1]!;
      if (spec.startsWith(".")) {
        const target = join(file, "..", spec);
        if (!target.startsWith("core")) bad.push(`${file}: ${spec} leaves core/`);
        if (!spec.endsWith(".ts")) bad.push(`${file}: ${spec} must end in .ts (Deno and Bun run the sources)`);
      } else if (!ALLOWED_PACKAGES.has(spec.split("/")[0]!)) bad.push(`${file}: imports ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("the purity check itself catches a violation", () => {
  const sample = code('import { x } from "node:net";\nsetTimeout(() => {}, 1); // ok in comment: Date.now()');
  const found = FORBIDDEN.filter(([re]) => re.test(sample)).map(([, w]) => w);
  assert.deepEqual(found, ["node:* import", "global timers"]);
});
