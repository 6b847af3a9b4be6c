import assert from "node:assert/strict";
import { test } from "node:test";
import { LeastRequestBalancer } from "../../../core/balance/least-request.ts";
import { twoDistinct } from "../../../core/balance/p2c.ts";
import { PeakEwmaBalancer } from "../../../core/balance/peak-ewma.ts";
import type { Balancer } from "../../../core/balance/types.ts";
import { type Ep, eps, mulberry32 } from "./prng.ts";

test("twoDistinct draws two different indices, uniformly", () => {
  const r = mulberry32(1);
  const seen = new Array(5).fill(0);
  for (let i = 0; i < 50_000; i++) {
    const [a, b] = twoDistinct(5, r);
    assert.notEqual(a, b);
    seen[a]++;
    seen[b]++;
  }
  for (const s of seen) assert.ok(Math.abs(s / 100_000 - 0.2) < 0.01, String(seen));
  assert.deepEqual(twoDistinct(2, () => 0.99999), [1, 0]);
});

/**
 * A virtual-clock simulation: a request arrives every `gapMs`; each is picked, started, and ends after the
 * endpoint's latency (with seeded jitter), when the balancer learns its RTT. Returns picks per key.
 */
function simulate(
  b: Balancer<Ep>,
  opts: { requests: number; gapMs: number; latency: (key: string, now: number) => number; seed: number; countFrom?: number },
): Record<string, number> {
  const r = mulberry32(opts.seed);
  const pending: { end: number; e: Ep; rtt: number }[] = [];
  const counts: Record<string, number> = {};
  for (const e of b.endpoints()) counts[e.key] = 0;
  let now = 0;
  for (let i = 0; i < opts.requests; i++) {
    now += opts.gapMs;
    pending.sort((x, y) => x.end - y.end);
    while (pending.length > 0 && pending[0]!.end <= now) {
      const p = pending.shift()!;
      b.onEnd(p.e, p.end, { ok: true, rttMs: p.rtt });
    }
    const e = b.pick({ now })!;
    b.onStart(e, now);
    if (now >= (opts.countFrom ?? 0)) counts[e.key]!++;
    const rtt = opts.latency(e.key, now) * (0.8 + 0.4 * r());
    pending.push({ end: now + rtt, e, rtt });
  }
  return counts;
}

test("P2C PeakEWMA sends >= 90 % of picks away from an endpoint made slow", () => {
  const endpoints = eps(4);
  const slow = endpoints[2]!.key;
  const b = new PeakEwmaBalancer(endpoints, mulberry32(42));
  // all fast (10 ms) for 10 s, then one endpoint turns slow (500 ms); count picks after the change
  const counts = simulate(b, {
    requests: 20_000,
    gapMs: 1,
    seed: 7,
    countFrom: 10_000,
    latency: (k, now) => (k === slow && now >= 10_000 ? 500 : 10),
  });
  const total = Object.values(counts).reduce((a, c) => a + c, 0);
  const share = counts[slow]! / total;
  assert.ok(share <= 0.1, `slow endpoint got ${(share * 100).toFixed(2)} % (${JSON.stringify(counts)})`);
  // the fast ones share the rest about evenly
  for (const e of endpoints) if (e.key !== slow) assert.ok(counts[e.key]! / total > 0.28, JSON.stringify(counts));
});

test("PeakEWMA load = RTT estimate x (in-flight + 1) / weight", () => {
  const a = { key: "a" };
  const w = { key: "w", weight: 2 };
  const b = new PeakEwmaBalancer<Ep>([a, w], mulberry32(1));
  assert.equal(b.cost(a, 0), 30);
  assert.equal(b.cost(w, 0), 15);
  b.onStart(a, 0);
  b.onStart(a, 0);
  assert.equal(b.cost(a, 0), 90);
  b.onEnd(a, 0, { ok: true, rttMs: 100 });
  assert.equal(b.rttEstimate(a, 0), 100);
  assert.equal(b.cost(a, 0), 200);
  assert.equal(b.inflight(a), 1);
  assert.equal(b.pick({ now: 0 }), w); // with two endpoints both are compared
});

test("PeakEWMA keeps per-endpoint state across update() for keys that stay", () => {
  const [a, c, d] = eps(3);
  const b = new PeakEwmaBalancer<Ep>([a!, c!], mulberry32(3));
  b.onStart(a!, 0);
  b.onEnd(a!, 0, { ok: true, rttMs: 400 });
  b.onStart(a!, 0);
  b.update([a!, d!]);
  assert.equal(b.rttEstimate(a!, 0), 400);
  assert.equal(b.inflight(a!), 1);
  assert.equal(b.rttEstimate(d!, 0), 30);
  assert.equal(b.rttEstimate(c!, 0), undefined);
  b.onEnd(c!, 1, { ok: true, rttMs: 5 }); // a removed endpoint's late end is ignored
  assert.equal(b.size, 2);
});

test("PeakEWMA failure penalty is opt-in", () => {
  const [a, c] = eps(2);
  const off = new PeakEwmaBalancer<Ep>([a!, c!], mulberry32(3));
  off.onEnd(a!, 0, { ok: false, rttMs: 1 });
  assert.equal(off.rttEstimate(a!, 0), 30);
  off.onEnd(a!, 0, { ok: false });
  assert.equal(off.rttEstimate(a!, 0), 30);
  const on = new PeakEwmaBalancer<Ep>([a!, c!], mulberry32(3), 0, { failurePenaltyMs: 1000 });
  on.onEnd(a!, 0, { ok: false });
  assert.equal(on.rttEstimate(a!, 0), 1000);
});

test("PeakEWMA honours weights under load (3:1 at equal latency)", () => {
  const endpoints = [{ key: "heavy", weight: 3 }, { key: "light", weight: 1 }];
  const b = new PeakEwmaBalancer<Ep>(endpoints, mulberry32(5));
  const counts = simulate(b, { requests: 20_000, gapMs: 1, seed: 9, latency: () => 40 });
  const share = counts.heavy! / 20_000;
  assert.ok(share > 0.7 && share < 0.8, `heavy share ${share}`);
});

test("least-request avoids an endpoint with many in-flight", () => {
  const endpoints = eps(5);
  const busy = endpoints[0]!;
  const b = new LeastRequestBalancer(endpoints, mulberry32(11));
  for (let i = 0; i < 50; i++) b.onStart(busy, 0);
  const counts: Record<string, number> = {};
  for (let i = 0; i < 4000; i++) {
    const e = b.pick()!;
    counts[e.key] = (counts[e.key] ?? 0) + 1;
  }
  assert.equal(counts[busy.key], undefined);
  for (const e of endpoints.slice(1)) assert.ok(Math.abs(counts[e.key]! / 4000 - 0.25) < 0.03, JSON.stringify(counts));
  // and it learns as requests end
  for (let i = 0; i < 50; i++) b.onEnd(busy, 1, { ok: true, rttMs: 1 });
  assert.equal(b.inflight(busy), 0);
  b.onEnd(busy, 1, { ok: true }); // never below 0
  assert.equal(b.inflight(busy), 0);
});

test("least-request balances in-flight and honours weights (3:1)", () => {
  const b = new LeastRequestBalancer<Ep>([{ key: "heavy", weight: 3 }, { key: "light" }], mulberry32(5));
  const counts = simulate(b, { requests: 20_000, gapMs: 1, seed: 9, latency: () => 40 });
  const share = counts.heavy! / 20_000;
  assert.ok(share > 0.7 && share < 0.8, `heavy share ${share}`);
  const even = new LeastRequestBalancer<Ep>(eps(4), mulberry32(8));
  const c2 = simulate(even, { requests: 20_000, gapMs: 1, seed: 10, latency: () => 40 });
  for (const v of Object.values(c2)) assert.ok(Math.abs(v / 20_000 - 0.25) < 0.02, JSON.stringify(c2));
});

test("P2C edge cases: empty and single endpoint", () => {
  const b = new LeastRequestBalancer<Ep>([], mulberry32(1));
  assert.equal(b.pick(), undefined);
  b.update([{ key: "only" }]);
  assert.equal(b.pick()!.key, "only");
});
