import assert from "node:assert/strict";
import { test } from "node:test";
import { RoundRobinBalancer } from "../../../core/balance/round-robin.ts";
import { WeightedRoundRobinBalancer } from "../../../core/balance/weighted-round-robin.ts";

test("smooth WRR gives nginx's sequence for weights 5,1,1", () => {
  const b = new WeightedRoundRobinBalancer([{ key: "a", weight: 5 }, { key: "b", weight: 1 }, { key: "c", weight: 1 }]);
  const seq = Array.from({ length: 14 }, () => b.pick()!.key).join(" ");
  assert.equal(seq, "a a b a c a a a a b a c a a");
});

test("smooth WRR proportions over many picks are exact per cycle", () => {
  const b = new WeightedRoundRobinBalancer([{ key: "x", weight: 3 }, { key: "y", weight: 2 }, { key: "z" }, { key: "w", weight: 4 }]);
  const counts: Record<string, number> = { x: 0, y: 0, z: 0, w: 0 };
  for (let i = 0; i < 10_000; i++) counts[b.pick()!.key]!++;
  assert.deepEqual(counts, { x: 3000, y: 2000, z: 1000, w: 4000 });
  // equal weights alternate
  const b2 = new WeightedRoundRobinBalancer([{ key: "a", weight: 1 }, { key: "b", weight: 1 }]);
  assert.deepEqual([1, 2, 3, 4].map(() => b2.pick()!.key), ["a", "b", "a", "b"]);
});

test("WRR update keeps state for stable keys and handles empty sets", () => {
  const b = new WeightedRoundRobinBalancer<{ key: string; weight?: number }>([]);
  assert.equal(b.pick(), undefined);
  b.update([{ key: "a", weight: 2 }, { key: "b", weight: 1 }]);
  assert.deepEqual([1, 2, 3].map(() => b.pick()!.key), ["a", "b", "a"]);
  b.update([{ key: "a", weight: 2 }, { key: "b", weight: 1 }, { key: "c", weight: 3 }]);
  assert.equal(b.size, 3);
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 600; i++) counts[b.pick()!.key]!++;
  assert.deepEqual(counts, { a: 200, b: 100, c: 300 });
  b.update([{ key: "c", weight: 0 }]); // invalid weight -> 1
  assert.equal(b.pick()!.key, "c");
});

test("round-robin balancer cycles, starts at a random offset, keeps position across updates", () => {
  const b = new RoundRobinBalancer([{ key: "a" }, { key: "b" }, { key: "c" }], () => 0.5);
  assert.deepEqual([1, 2, 3, 4].map(() => b.pick()!.key), ["b", "c", "a", "b"]);
  b.update([{ key: "a" }, { key: "b" }]);
  assert.deepEqual([1, 2, 3].map(() => b.pick()!.key), ["a", "b", "a"]);
  b.update([]);
  assert.equal(b.pick(), undefined);
});
