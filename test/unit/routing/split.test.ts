// Weighted backend choice.

import { test } from "node:test";
import assert from "node:assert/strict";
import { WeightedSplit } from "../../../core/routing/split.ts";
import { mulberry32 } from "../../support/prng.ts";

function counts(s: WeightedSplit, n: number, seed: number): Map<string | undefined, number> {
  const rnd = mulberry32(seed);
  const m = new Map<string | undefined, number>();
  for (let i = 0; i < n; i++) {
    const k = s.pick(rnd);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

test("90/10 over 10,000 seeded picks within ±1 %", () => {
  for (const seed of [1, 42, 2024]) {
    const c = counts(new WeightedSplit([{ name: "stable", weight: 90 }, { name: "canary", weight: 10 }]), 10_000, seed);
    const canary = (c.get("canary") ?? 0) / 10_000;
    assert.ok(Math.abs(canary - 0.1) <= 0.01, `seed ${seed}: canary share ${canary}`);
    assert.equal((c.get("stable") ?? 0) + (c.get("canary") ?? 0), 10_000);
  }
});

test("three-way split within ±1 %", () => {
  const c = counts(new WeightedSplit([{ name: "a", weight: 1 }, { name: "b", weight: 2 }, { name: "c", weight: 7 }]), 10_000, 7);
  for (const [k, want] of [["a", 0.1], ["b", 0.2], ["c", 0.7]] as const) {
    assert.ok(Math.abs((c.get(k) ?? 0) / 10_000 - want) <= 0.01, `${k}: ${c.get(k)}`);
  }
});

test("weight 0 is never chosen", () => {
  const c = counts(new WeightedSplit([{ name: "zero", weight: 0 }, { name: "one", weight: 1 }, { name: "z2", weight: 0 }]), 5_000, 3);
  assert.deepEqual([...c.keys()], ["one"]);
});

test("edge randoms: 0 picks the first positive, just below 1 the last", () => {
  const s = new WeightedSplit([{ name: "zero", weight: 0 }, { name: "a", weight: 1 }, { name: "b", weight: 1 }, { name: "z", weight: 0 }]);
  assert.equal(s.pick(() => 0), "a");
  assert.equal(s.pick(() => 0.9999999), "b");
  assert.equal(s.pick(() => 0.5), "b");
});

test("all zero or empty: none (the engine answers 500)", () => {
  assert.equal(new WeightedSplit([{ name: "a", weight: 0 }]).pick(Math.random), undefined);
  assert.equal(new WeightedSplit([]).pick(Math.random), undefined);
});

test("weight defaults to 1", () => {
  const c = counts(new WeightedSplit([{ name: "a" }, { name: "b" }]), 10_000, 9);
  assert.ok(Math.abs((c.get("a") ?? 0) / 10_000 - 0.5) <= 0.015);
});
