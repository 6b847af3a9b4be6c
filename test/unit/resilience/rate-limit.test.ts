import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KeyedRateLimiter, TokenBucket, retryAfterSeconds } from "../../../core/resilience/rate-limit.ts";
import { mulberry32 } from "../../support/prng.ts";

describe("TokenBucket", () => {
  it("holds its rate within 5 % over a simulated minute of overload (1 000 req/s against 100/s)", () => {
    const b = new TokenBucket({ ratePerSec: 100, burst: 10 });
    let ok = 0;
    for (let t = 0; t < 60_000; t++) if (b.tryTake(t).ok) ok++;
    const expected = 100 * 60 + 10;
    assert.ok(Math.abs(ok - expected) <= expected * 0.05, `${ok} vs ${expected}`);
    assert.ok(Math.abs(ok - expected) <= 1, `exact: ${ok} vs ${expected}`);
  });

  it("holds its rate with seeded random arrivals, and lets light traffic through", () => {
    const rnd = mulberry32(9);
    const b = new TokenBucket({ ratePerSec: 50, burst: 5 });
    let ok = 0, t = 0;
    while (t < 60_000) {
      t += -Math.log(1 - rnd()) * 5; // Poisson, 200 req/s
      if (b.tryTake(t).ok) ok++;
    }
    assert.ok(Math.abs(ok - 3_000) <= 150, `${ok} vs 3000`);
    const light = new TokenBucket({ ratePerSec: 50, burst: 5 });
    let all = 0;
    for (let s = 0; s < 60_000; s += 25) if (light.tryTake(s).ok) all++; // 40 req/s < 50
    assert.equal(all, 2_400);
  });

  it("allows a burst, then says how long to wait, and that wait is right", () => {
    const b = new TokenBucket({ ratePerSec: 2, burst: 3 });
    for (let i = 0; i < 3; i++) assert.deepEqual(b.tryTake(1_000), { ok: true });
    assert.deepEqual(b.tryTake(1_000), { ok: false, retryAfterMs: 500 });
    assert.deepEqual(b.tryTake(1_200), { ok: false, retryAfterMs: 300 });
    assert.equal(b.tryTake(1_499).ok, false);
    assert.deepEqual(b.tryTake(1_500), { ok: true });
    const slow = new TokenBucket({ ratePerSec: 0.5, burst: 1 });
    slow.tryTake(0);
    const r = slow.tryTake(0);
    assert.deepEqual(r, { ok: false, retryAfterMs: 2_000 });
    assert.equal(slow.tryTake(1_999).ok, false);
    assert.equal(slow.tryTake(2_000).ok, true);
  });

  it("formats Retry-After in whole seconds, at least 1", () => {
    assert.equal(retryAfterSeconds(1), 1);
    assert.equal(retryAfterSeconds(1_000), 1);
    assert.equal(retryAfterSeconds(1_001), 2);
    assert.equal(retryAfterSeconds(2_000), 2);
  });

  it("does not refill past the burst, nor when time goes back", () => {
    const b = new TokenBucket({ ratePerSec: 10, burst: 2 });
    assert.equal(b.available(1_000_000), 2);
    b.tryTake(1_000_000);
    b.tryTake(1_000_000);
    assert.equal(b.available(999_000), 0);
    assert.equal(b.tryTake(1_000_000).ok, false);
    assert.equal(b.tryTake(1_000_100).ok, true);
  });

  it("a cost above the burst never fits", () => {
    const b = new TokenBucket({ ratePerSec: 10, burst: 2 });
    assert.deepEqual(b.tryTake(0, 3), { ok: false, retryAfterMs: Infinity });
  });
});

describe("KeyedRateLimiter", () => {
  it("keeps one bucket per key", () => {
    const k = new KeyedRateLimiter({ ratePerSec: 1, burst: 1, maxKeys: 10 });
    assert.equal(k.tryTake("a", 0).ok, true);
    assert.equal(k.tryTake("a", 0).ok, false);
    assert.equal(k.tryTake("b", 0).ok, true);
  });

  it("evicts the least recently used key when full", () => {
    const k = new KeyedRateLimiter({ ratePerSec: 1, burst: 1, maxKeys: 2 });
    k.tryTake("a", 0);
    k.tryTake("b", 0);
    k.tryTake("a", 1); // a is now the most recent
    k.tryTake("c", 2); // evicts b
    assert.equal(k.size, 2);
    assert.equal(k.has("a") && k.has("c") && !k.has("b"), true);
    assert.equal(k.evictions, 1);
    assert.equal(k.tryTake("a", 3).ok, false, "a keeps its drained bucket");
    assert.equal(k.tryTake("b", 3).ok, true, "b starts over with a full bucket"); // evicts c
    assert.equal(k.has("c"), false);
    assert.equal(k.evictions, 2);
  });

  it("stays bounded under many keys", () => {
    const k = new KeyedRateLimiter({ ratePerSec: 5, burst: 5, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) k.tryTake(`10.0.${i >> 8}.${i & 255}`, i);
    assert.equal(k.size, 100);
    assert.equal(k.evictions, 9_900);
  });
});
