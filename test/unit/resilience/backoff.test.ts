import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_BACKOFF, FullJitterBackoff } from "../../../core/resilience/backoff.ts";
import { mulberry32 } from "../../support/prng.ts";

describe("FullJitterBackoff", () => {
  it("defaults to 25..250 ms and the ceiling doubles up to the max", () => {
    const b = new FullJitterBackoff();
    assert.deepEqual(DEFAULT_BACKOFF, { baseMs: 25, maxMs: 250 });
    assert.deepEqual([0, 1, 2, 3, 4, 5, 100, 5000].map((n) => b.ceiling(n)), [25, 50, 100, 200, 250, 250, 250, 250]);
  });

  it("keeps 10k seeded draws per attempt in [0, ceiling) and spreads them uniformly", () => {
    const b = new FullJitterBackoff();
    const rnd = mulberry32(42);
    for (let attempt = 0; attempt < 6; attempt++) {
      const cap = b.ceiling(attempt);
      let min = Infinity, max = -Infinity, sum = 0;
      for (let i = 0; i < 10_000; i++) {
        const d = b.delay(attempt, rnd);
        min = Math.min(min, d);
        max = Math.max(max, d);
        sum += d;
      }
      assert.ok(min >= 0 && min < cap * 0.01, `attempt ${attempt}: min ${min}`);
      assert.ok(max < cap && max > cap * 0.99, `attempt ${attempt}: max ${max} cap ${cap}`);
      const mean = sum / 10_000;
      assert.ok(Math.abs(mean - cap / 2) < cap * 0.02, `attempt ${attempt}: mean ${mean} vs ${cap / 2}`);
    }
  });

  it("the mean delay grows with the attempt until the cap", () => {
    const b = new FullJitterBackoff({ baseMs: 10, maxMs: 1000 });
    const rnd = mulberry32(7);
    const means = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((a) => {
      let s = 0;
      for (let i = 0; i < 10_000; i++) s += b.delay(a, rnd);
      return s / 10_000;
    });
    for (let a = 1; a <= 6; a++) assert.ok(Math.abs(means[a]! / means[a - 1]! - 2) < 0.1, `ratio at ${a}: ${means[a]! / means[a - 1]!}`);
    assert.ok(Math.abs(means[8]! - 500) < 20 && Math.abs(means[7]! - 500) < 20);
  });

  it("uses the random source: 0 gives 0, just under 1 gives just under the ceiling", () => {
    const b = new FullJitterBackoff();
    assert.equal(b.delay(3, () => 0), 0);
    assert.ok(b.delay(3, () => 0.999999) > 199.99);
  });

  it("rejects base > max and negative values", () => {
    assert.throws(() => new FullJitterBackoff({ baseMs: 300, maxMs: 250 }), RangeError);
    assert.throws(() => new FullJitterBackoff({ baseMs: -1 }), RangeError);
  });
});
