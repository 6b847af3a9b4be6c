// Backend: a service's balancer with a failure-accrual breaker per endpoint, its retry budget and max-pending
// bound, and how that state carries across config updates. Driven directly: time is an argument.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Backend, FAIL_FAST, NO_ENDPOINTS, type Endpoint, type PickFailure } from "../../../core/proxy/backend.ts";
import { MetricsStore } from "../../../core/telemetry/metrics.ts";
import { mulberry32 } from "../../support/prng.ts";
import { service } from "./helpers.ts";

const A = "127.0.0.1:9001";
const B = "127.0.0.1:9002";
const C = "127.0.0.1:9003";

/** Round-robin over a, b, c; 3 consecutive failures eject for exactly 1 s, then 2 s, 4 s... (no jitter). */
function svc(extra: Record<string, unknown> = {}) {
  return service({
    name: "web",
    endpoints: [A, B, C],
    balancer: "round-robin",
    failureAccrual: { consecutiveFailures: 3, minBackoff: "1s", maxBackoff: "10s", jitter: 0 },
    ...extra,
  });
}

function backend(extra: Record<string, unknown> = {}, random: () => number = () => 0) {
  const metrics = new MetricsStore();
  const counters = metrics.service("outbound", "web");
  const b = new Backend(svc(extra), random, 0, counters);
  return { b, counters };
}

function ep(b: Backend, key: string): Endpoint {
  const e = b.endpoints.find((x) => x.key === key);
  assert.ok(e, `no endpoint ${key}`);
  return e;
}

function keyOf(p: Endpoint | PickFailure): string {
  return typeof p === "number" ? (p === FAIL_FAST ? "FAIL_FAST" : "NO_ENDPOINTS") : p.key;
}

/** `n` picks at `now`, each started and ended successfully (so probes resolve), as keys. */
function picks(b: Backend, now: number, n: number, settle = false): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = b.pick(now, undefined);
    out.push(keyOf(p));
    if (settle && typeof p !== "number") {
      b.onTryStart(p, now);
      b.onTryEnd(p, now, true, 1);
    }
  }
  return out;
}

function fail(b: Backend, key: string, now: number, times = 1): void {
  const e = ep(b, key);
  for (let i = 0; i < times; i++) {
    b.onTryStart(e, now);
    b.onTryEnd(e, now, false, undefined);
  }
}

function succeed(b: Backend, key: string, now: number): void {
  const e = ep(b, key);
  b.onTryStart(e, now);
  b.onTryEnd(e, now, true, 5);
}

function states(b: Backend): Record<string, string> {
  return Object.fromEntries([...b.gauges()].map((g) => [g.endpoint, g.breaker]));
}

test("the breaker ejects an endpoint after N consecutive failures and the balancer stops picking it", () => {
  const { b, counters } = backend();
  assert.deepEqual(picks(b, 0, 6), [A, B, C, A, B, C]);
  fail(b, A, 0, 2);
  assert.equal(b.ejectedCount, 0, "two failures are below the threshold of three");
  assert.ok(picks(b, 0, 6).includes(A));
  fail(b, A, 0);
  assert.equal(b.ejectedCount, 1);
  assert.equal(counters.ejections.get(A), 1, "the ejection is counted for the endpoint");
  const after = picks(b, 10, 12);
  assert.ok(!after.includes(A), `ejected endpoint picked: ${after.join(" ")}`);
  assert.ok(after.includes(B) && after.includes(C));
  assert.deepEqual(states(b), { [A]: "open", [B]: "closed", [C]: "closed" });
});

test("a success between failures resets the consecutive count", () => {
  const { b } = backend();
  fail(b, A, 0, 2);
  succeed(b, A, 0);
  fail(b, A, 0, 2);
  assert.equal(b.ejectedCount, 0);
  fail(b, A, 0);
  assert.equal(b.ejectedCount, 1);
});

test("fail-fast when every endpoint is ejected; no-endpoints when the service has none", () => {
  const { b } = backend({ failureAccrual: { consecutiveFailures: 1, minBackoff: "1s", maxBackoff: "10s", jitter: 0 } });
  fail(b, A, 0);
  fail(b, B, 0);
  assert.deepEqual(picks(b, 0, 3), [C, C, C]);
  fail(b, C, 0);
  assert.equal(b.ejectedCount, 3);
  assert.equal(b.pick(500, undefined), FAIL_FAST);

  const empty = new Backend(service({ name: "none", endpoints: [] }), () => 0, 0, new MetricsStore().service("outbound", "none"));
  assert.equal(empty.pick(0, undefined), NO_ENDPOINTS);
});

test("after probation exactly one probe is picked; its success readmits the endpoint", () => {
  const { b } = backend();
  fail(b, A, 0, 3); // open until exactly 1000 (jitter 0)
  assert.ok(!picks(b, 999, 10).includes(A), "no probe before the backoff has passed");
  assert.equal(keyOf(b.pick(1000, undefined)), A, "the first pick once probation is over is the probe");
  assert.equal(states(b)[A], "half-open");
  const meanwhile = picks(b, 1000, 10);
  assert.ok(!meanwhile.includes(A), `a second request went to the endpoint under probe: ${meanwhile.join(" ")}`);
  assert.equal(b.ejectedCount, 1, "half-open still counts as not ready");
  succeed(b, A, 1001);
  assert.equal(states(b)[A], "closed");
  assert.equal(b.ejectedCount, 0);
  assert.ok(picks(b, 1001, 6).includes(A), "readmitted into the balancer");
});

test("a probe that fails ejects again with a longer backoff (2x, capped at maxBackoff)", () => {
  const { b, counters } = backend({ failureAccrual: { consecutiveFailures: 3, minBackoff: "1s", maxBackoff: "3s", jitter: 0 } });
  fail(b, A, 0, 3); // open [0, 1000)
  assert.equal(keyOf(b.pick(1000, undefined)), A);
  fail(b, A, 1000); // probe failed: open [1000, 3000)
  assert.equal(states(b)[A], "open");
  assert.ok(!picks(b, 2999, 10).includes(A), "the second backoff is twice the first");
  assert.equal(keyOf(b.pick(3000, undefined)), A);
  fail(b, A, 3000); // open [3000, 6000): 4 s capped at 3 s
  assert.ok(!picks(b, 5999, 10).includes(A));
  assert.equal(keyOf(b.pick(6000, undefined)), A);
  assert.equal(counters.ejections.get(A), 3);
  succeed(b, A, 6000);
  // Healthy again: the next ejection starts from minBackoff.
  fail(b, A, 7000, 3);
  assert.ok(!picks(b, 7999, 10).includes(A));
  assert.equal(keyOf(b.pick(8000, undefined)), A);
});

test("a late success from a request sent before the ejection does not readmit", () => {
  const { b } = backend();
  const a = ep(b, A);
  b.onTryStart(a, 0); // in flight while the endpoint fails
  fail(b, A, 0, 3);
  b.onTryEnd(a, 10, true, 5);
  assert.equal(states(b)[A], "open");
  assert.ok(!picks(b, 10, 6).includes(A));
});

test("breakers, probe times, budget and pending count survive an update with the same endpoints", () => {
  const { b } = backend({ retryBudget: { retryRatio: 0, minRetriesPerSecond: 1, ttl: "1s" }, maxPending: 5 });
  fail(b, A, 0, 3); // open until 1000
  fail(b, B, 0, 2); // two of three failures counted
  assert.ok(b.budget.tryWithdraw(0), "the reserve holds one retry");
  assert.ok(!b.budget.tryWithdraw(0));
  assert.ok(b.shed.tryAcquire());
  const budget = b.budget;

  b.update(svc({ retryBudget: { retryRatio: 0, minRetriesPerSecond: 1, ttl: "1s" }, maxPending: 7 }), 500);
  assert.equal(b.budget, budget);
  assert.ok(!b.budget.tryWithdraw(500), "the spent budget stays spent");
  assert.equal(b.shed.pending, 1, "the request in flight is still counted");
  assert.equal(b.shed.maxPending, 7);
  assert.deepEqual(states(b), { [A]: "open", [B]: "closed", [C]: "closed" });
  assert.ok(!picks(b, 999, 10).includes(A), "probation is not restarted by the update");
  assert.equal(keyOf(b.pick(1000, undefined)), A, "and ends when it would have");
  fail(b, A, 1000); // the probe fails
  fail(b, B, 1000); // B's third consecutive failure: the count survived the update
  assert.deepEqual(states(b), { [A]: "open", [B]: "open", [C]: "closed" });
});

test("a changed retry budget keeps what was withdrawn", () => {
  const { b } = backend({ retryBudget: { retryRatio: 0, minRetriesPerSecond: 2, ttl: "1s" } });
  assert.ok(b.budget.tryWithdraw(0));
  assert.ok(b.budget.tryWithdraw(0));
  assert.ok(!b.budget.tryWithdraw(0));
  b.update(svc({ retryBudget: { retryRatio: 0, minRetriesPerSecond: 3, ttl: "1s" } }), 0);
  assert.ok(b.budget.tryWithdraw(0), "one more retry from the larger reserve");
  assert.ok(!b.budget.tryWithdraw(0), "the two withdrawn before the change still count");
});

test("peak-EWMA estimates survive an update; a changed balancer config starts afresh", () => {
  const random = mulberry32(7);
  const ewma = { balancer: { kind: "peak-ewma", defaultRtt: "30ms", decay: "10s" }, failureAccrual: false, endpoints: [A, B] };
  const { b } = backend(ewma, random);
  // A is slow (1 s to first byte), B fast; P2C over two endpoints always compares both.
  for (let i = 0; i < 3; i++) {
    b.onTryStart(ep(b, A), 0);
    b.onTryEnd(ep(b, A), 0, true, 1000);
    b.onTryStart(ep(b, B), 0);
    b.onTryEnd(ep(b, B), 0, true, 1);
  }
  assert.deepEqual(new Set(picks(b, 10, 20)), new Set([B]));
  b.update(svc({ ...ewma, maxPending: 10 }), 10);
  assert.deepEqual(new Set(picks(b, 20, 20)), new Set([B]), "the learned RTTs were kept");
  b.update(svc({ ...ewma, balancer: { kind: "peak-ewma", defaultRtt: "30ms", decay: "5s" } }), 20);
  const fresh = picks(b, 30, 40);
  assert.ok(fresh.includes(A) && fresh.includes(B), `a rebuilt balancer starts with equal estimates: ${fresh.join(" ")}`);
});

test("in-flight counts survive an update (least-request keeps steering away from the busy endpoint)", () => {
  const lr = { balancer: "least-request", failureAccrual: false, endpoints: [A, B] };
  const { b } = backend(lr, mulberry32(3));
  for (let i = 0; i < 5; i++) b.onTryStart(ep(b, A), 0);
  assert.deepEqual(new Set(picks(b, 0, 10)), new Set([B]));
  b.update(svc({ ...lr, maxPending: 10 }), 0);
  assert.deepEqual(new Set(picks(b, 0, 10)), new Set([B]));
});

test("a removed endpoint disappears from picks and gauges; re-added, it starts with a closed breaker", () => {
  const { b } = backend();
  fail(b, B, 0, 3);
  b.update(svc({ endpoints: [A, C] }), 10);
  assert.deepEqual(b.endpoints.map((e) => e.key), [A, C]);
  assert.equal(b.ejectedCount, 0);
  const p = picks(b, 10, 8);
  assert.ok(!p.includes(B));
  assert.deepEqual(new Set(p), new Set([A, C]));
  assert.deepEqual([...b.gauges()].map((g) => g.endpoint), [A, C]);
  // A try to the removed endpoint that ends now is ignored.
  const gone: Endpoint = { addr: { host: "127.0.0.1", port: 9002 }, key: B, pool: B };
  b.onTryEnd(gone, 20, false, undefined);
  b.update(svc(), 30);
  assert.equal(states(b)[B], "closed");
  assert.ok(picks(b, 30, 6).includes(B));
});

test("an added endpoint joins the balancer", () => {
  const { b } = backend({ endpoints: [A] });
  assert.deepEqual(new Set(picks(b, 0, 4)), new Set([A]));
  b.update(svc({ endpoints: [A, B] }), 0);
  assert.deepEqual(new Set(picks(b, 0, 4)), new Set([A, B]));
});

test("changing the balancer kind rebuilds the balancer: weights now count", () => {
  const eps = [{ host: "127.0.0.1", port: 9001, weight: 3 }, { host: "127.0.0.1", port: 9002, weight: 1 }];
  const { b } = backend({ endpoints: eps });
  assert.equal(b.balancerKind, "round-robin");
  assert.deepEqual(picks(b, 0, 4), [A, B, A, B], "round-robin ignores weights");
  b.update(svc({ endpoints: eps, balancer: "weighted-round-robin" }), 0);
  assert.equal(b.balancerKind, "weighted-round-robin");
  assert.deepEqual([...new Set([...b.gauges()].map((g) => g.balancer))], ["weighted-round-robin"]);
  assert.deepEqual(picks(b, 0, 8), [A, A, B, A, A, A, B, A]);
});

test("breakers survive a change of balancer kind (only the balancer is rebuilt)", () => {
  const { b } = backend();
  fail(b, A, 0, 3);
  b.update(svc({ balancer: "least-request" }), 10);
  assert.equal(states(b)[A], "open", "an ejected endpoint was readmitted by a balancer change");
  assert.ok(!picks(b, 10, 10).includes(A));
});

test("a changed failureAccrual config starts every breaker afresh", () => {
  const { b } = backend();
  fail(b, A, 0, 3);
  b.update(svc({ failureAccrual: { consecutiveFailures: 5, minBackoff: "1s", maxBackoff: "10s", jitter: 0 } }), 10);
  assert.equal(states(b)[A], "closed");
  fail(b, A, 10, 4);
  assert.equal(states(b)[A], "closed", "the new threshold applies");
  fail(b, A, 10);
  assert.equal(states(b)[A], "open");
  b.update(svc({ failureAccrual: false }), 20);
  assert.equal(states(b)[A], "closed", "no breakers at all");
  fail(b, A, 20, 100);
  assert.equal(b.ejectedCount, 0);
});

test("endpoint weights reach weighted-round-robin, and a weight change applies on update", () => {
  const { b } = backend({
    balancer: "weighted-round-robin",
    endpoints: [{ host: "127.0.0.1", port: 9001, weight: 3 }, { host: "127.0.0.1", port: 9002, weight: 1 }],
  });
  assert.deepEqual(ep(b, A).weight, 3);
  const p = picks(b, 0, 40);
  assert.equal(p.filter((k) => k === A).length, 30);
  assert.equal(p.filter((k) => k === B).length, 10);
  b.update(svc({ balancer: "weighted-round-robin", endpoints: [{ host: "127.0.0.1", port: 9001, weight: 1 }, { host: "127.0.0.1", port: 9002, weight: 1 }] }), 0);
  const q = picks(b, 0, 40);
  assert.equal(q.filter((k) => k === A).length, 20);
});

test("weighted-round-robin skips an ejected endpoint and keeps the others' proportions", () => {
  const { b } = backend({
    balancer: "weighted-round-robin",
    endpoints: [
      { host: "127.0.0.1", port: 9001, weight: 1 },
      { host: "127.0.0.1", port: 9002, weight: 2 },
      { host: "127.0.0.1", port: 9003, weight: 6 },
    ],
  });
  fail(b, C, 0, 3);
  const p = picks(b, 0, 30);
  assert.equal(p.filter((k) => k === C).length, 0);
  assert.equal(p.filter((k) => k === A).length, 10);
  assert.equal(p.filter((k) => k === B).length, 20);
});

test("gauges() reports each endpoint's breaker state with the service and balancer", () => {
  const { b } = backend();
  fail(b, A, 0, 3);
  fail(b, B, 0, 3);
  assert.equal(keyOf(b.pick(1000, undefined)), A); // A's probe: half-open
  assert.deepEqual([...b.gauges()], [
    { service: "web", balancer: "round-robin", endpoint: A, breaker: "half-open" },
    { service: "web", balancer: "round-robin", endpoint: B, breaker: "open" },
    { service: "web", balancer: "round-robin", endpoint: C, breaker: "closed" },
  ]);
  const off = new Backend(service({ name: "off", endpoints: [A], failureAccrual: false }), () => 0, 0, new MetricsStore().service("outbound", "off"));
  assert.deepEqual([...off.gauges()].map((g) => g.breaker), ["closed"]);
  assert.equal([...off.gauges()][0]!.balancer, "peak-ewma", "the default balancer");
});

test("the metrics snapshot counts ready and ejected endpoints from the gauges", () => {
  const metrics = new MetricsStore();
  const b = new Backend(svc(), () => 0, 0, metrics.service("outbound", "web"));
  metrics.setEndpointGauges(() => b.gauges());
  fail(b, A, 0, 3);
  const fam = metrics.snapshot().find((f) => f.name === "http_balancer_endpoints");
  assert.ok(fam && fam.type === "gauge");
  const value = (state: string) => fam.samples.find((s) => s.labels.endpoint_state === state)?.value;
  assert.equal(value("ready"), 2);
  assert.equal(value("ejected"), 1);
});

test("jittered probation lies within [backoff, backoff * (1 + jitter)]", () => {
  const random = mulberry32(11);
  for (let i = 0; i < 20; i++) {
    const b = new Backend(
      svc({ endpoints: [A], failureAccrual: { consecutiveFailures: 1, minBackoff: "1s", maxBackoff: "60s", jitter: 0.5 } }),
      random, 0, new MetricsStore().service("outbound", "web"));
    fail(b, A, 0);
    assert.equal(b.pick(999, undefined), FAIL_FAST);
    assert.equal(keyOf(b.pick(1500, undefined)), A);
  }
});
