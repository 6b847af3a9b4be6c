// package.json (npm, Node/Bun) and deno.json (Deno, JSR) must export the same subpaths from the same sources.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const deno = JSON.parse(readFileSync("deno.json", "utf8"));

test("package.json and deno.json export the same subpaths", () => {
  const npmPaths = Object.keys(pkg.exports).filter((k) => k !== "./package.json").sort();
  assert.deepEqual(npmPaths, Object.keys(deno.exports).sort());
  assert.deepEqual(npmPaths, [".", "./bun", "./deno", "./node"]);
});

test("the bun and deno conditions point at the sources deno.json exports", () => {
  for (const [sub, target] of Object.entries<string>(deno.exports)) {
    assert.ok(existsSync(target), `${target} exists`);
    const cond = pkg.exports[sub];
    if (sub === "./node") continue; // Node runs the built dist/
    for (const c of ["bun", "deno"]) {
      if (cond[c] !== undefined) assert.equal(cond[c], target, `${sub} ${c} condition`);
    }
  }
  assert.equal(pkg.exports["./deno"].deno, deno.exports["./deno"]);
  assert.equal(pkg.exports["./bun"].bun, deno.exports["./bun"]);
  assert.equal(pkg.exports["."].bun, deno.exports["."]);
});

test("the names and versions agree", () => {
  assert.equal(pkg.name, "meshlet");
  assert.equal(pkg.version, deno.version);
  assert.ok(pkg.bin.meshlet.startsWith("dist/"));
});
