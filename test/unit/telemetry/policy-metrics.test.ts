// Traffic-policy metrics of MetricsStore: route and service counters, endpoint gauges.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { METRIC, MetricsStore, OVERFLOW_LABEL } from "../../../core/telemetry/metrics.ts";
import type { EndpointGauge, MetricFamily, ProxyMetrics, ScalarFamily } from "../../../core/telemetry/types.ts";

function scalar(snap: MetricFamily[], name: string): ScalarFamily {
  const f = snap.find((x) => x.name === name);
  assert.ok(f, `family ${name}`);
  assert.notEqual(f.type, "histogram");
  return f as ScalarFamily;
}
const samples = (s: MetricsStore, name: string) => scalar(s.snapshot(), name).samples;

const POLICY_COUNTERS = [
  METRIC.routeRetryRequestsTotal,
  METRIC.routeRetrySuccessesTotal,
  METRIC.routeRetryLimitExceededTotal,
  METRIC.routeRetryOverflowTotal,
  METRIC.routeFaultInjectionsTotal,
  METRIC.routeRateLimitedTotal,
  METRIC.routeTimeoutsTotal,
  METRIC.serviceLoadShedTotal,
  METRIC.serviceFailFastTotal,
  METRIC.endpointEjectionsTotal,
];
const GAUGES = [METRIC.balancerEndpoints, METRIC.endpointBreakerState];

describe("MetricsStore route metrics", () => {
  it("is usable as ProxyMetrics and returns the same counters for the same labels", () => {
    const s = new MetricsStore();
    const m: ProxyMetrics = s;
    assert.equal(m.route("outbound", "r1", "web"), s.route("outbound", "r1", "web"));
    assert.notEqual(s.route("outbound", "r1", "web"), s.route("inbound", "r1", "web"));
    assert.notEqual(s.route("outbound", "r1", "web"), s.route("outbound", "r1", "api"));
    assert.notEqual(s.route("outbound", "r1", "web"), s.route("outbound", "r2", "web"));
    assert.equal(m.service("outbound", "web"), s.service("outbound", "web"));
    assert.notEqual(s.service("outbound", "web"), s.service("inbound", "web"));
  });

  it("does not confuse (route, service) pairs whose concatenations collide", () => {
    const s = new MetricsStore();
    s.route("outbound", "a", "bc").retry();
    s.route("outbound", "ab", "c").retry();
    s.route("outbound", "ab", "c").retry();
    assert.deepEqual(samples(s, METRIC.routeRetryRequestsTotal), [
      { labels: { direction: "outbound", route: "a", service: "bc" }, value: 1 },
      { labels: { direction: "outbound", route: "ab", service: "c" }, value: 2 },
    ]);
  });

  it("counts retries into the four retry families", () => {
    const s = new MetricsStore();
    const r = s.route("outbound", "checkout", "payments");
    r.retry();
    r.retry();
    r.retry();
    r.retrySuccess();
    r.retryLimitExceeded();
    r.retryLimitExceeded();
    r.retryOverflow();
    const l = { direction: "outbound", route: "checkout", service: "payments" };
    assert.deepEqual(samples(s, METRIC.routeRetryRequestsTotal), [{ labels: l, value: 3 }]);
    assert.deepEqual(samples(s, METRIC.routeRetrySuccessesTotal), [{ labels: l, value: 1 }]);
    assert.deepEqual(samples(s, METRIC.routeRetryLimitExceededTotal), [{ labels: l, value: 2 }]);
    assert.deepEqual(samples(s, METRIC.routeRetryOverflowTotal), [{ labels: l, value: 1 }]);
  });

  it("counts faults, rate limits and timeouts by kind", () => {
    const s = new MetricsStore();
    const r = s.route("inbound", "api", "app");
    r.faultInjected("delay");
    r.faultInjected("abort");
    r.faultInjected("abort");
    r.rateLimited();
    r.timeout("request");
    r.timeout("backend-request");
    r.timeout("backend-request");
    r.timeout("idle");
    r.timeout("header");
    r.timeout("header");
    r.timeout("header");
    const l = { direction: "inbound", route: "api", service: "app" };
    assert.deepEqual(samples(s, METRIC.routeFaultInjectionsTotal), [
      { labels: { ...l, kind: "delay" }, value: 1 },
      { labels: { ...l, kind: "abort" }, value: 2 },
    ]);
    assert.deepEqual(samples(s, METRIC.routeRateLimitedTotal), [{ labels: l, value: 1 }]);
    assert.deepEqual(samples(s, METRIC.routeTimeoutsTotal), [
      { labels: { ...l, kind: "request" }, value: 1 },
      { labels: { ...l, kind: "backend-request" }, value: 2 },
      { labels: { ...l, kind: "idle" }, value: 1 },
      { labels: { ...l, kind: "header" }, value: 3 },
    ]);
  });

  it("emits only non-zero counter samples: a created but unused route or service adds none", () => {
    const s = new MetricsStore();
    s.route("outbound", "idle-route", "web");
    s.service("outbound", "web");
    const r = s.route("outbound", "busy", "web");
    r.faultInjected("abort");
    r.timeout("idle");
    const snap = s.snapshot();
    for (const name of POLICY_COUNTERS) {
      const got = scalar(snap, name).samples;
      assert.ok(got.every((x) => x.value > 0), `${name}: no zero samples`);
      assert.ok(got.every((x) => x.labels["route"] !== "idle-route"), `${name}: nothing for the unused route`);
    }
    assert.deepEqual(
      scalar(snap, METRIC.routeFaultInjectionsTotal).samples.map((x) => x.labels["kind"]),
      ["abort"],
    );
    assert.deepEqual(
      scalar(snap, METRIC.routeTimeoutsTotal).samples.map((x) => x.labels["kind"]),
      ["idle"],
    );
    assert.equal(scalar(snap, METRIC.routeRetryRequestsTotal).samples.length, 0);
    assert.equal(scalar(snap, METRIC.serviceLoadShedTotal).samples.length, 0);
  });

  it("caps (route, service) pairs per direction and folds the rest into overflow labels", () => {
    const s = new MetricsStore({ maxLabelValues: 3 });
    for (let i = 0; i < 10; i++) s.route("outbound", `r-${i % 5}`, `svc-${i}`).retry();
    s.route("outbound", "r-0", "svc-0").retry(); // an existing entry keeps its own counters
    s.route("inbound", "r-9", "svc-9").retry(); // the other direction has its own budget
    const got = samples(s, METRIC.routeRetryRequestsTotal);
    assert.deepEqual(
      got.filter((x) => x.labels["direction"] === "outbound").map((x) => [x.labels["route"], x.labels["service"], x.value]),
      [
        ["r-0", "svc-0", 2],
        ["r-1", "svc-1", 1],
        ["r-2", "svc-2", 1],
        [OVERFLOW_LABEL, OVERFLOW_LABEL, 7],
      ],
    );
    assert.ok(got.some((x) => x.labels["direction"] === "inbound" && x.labels["route"] === "r-9"));
    assert.equal(s.route("outbound", "x", "y"), s.route("outbound", "z", "w"), "overflow entries share one object");
  });
});

describe("MetricsStore service metrics", () => {
  it("counts load shedding, fail-fast and ejections per endpoint", () => {
    const s = new MetricsStore();
    const svc = s.service("outbound", "web");
    svc.loadShed();
    svc.loadShed();
    svc.failFast();
    svc.ejected("10.0.0.1:80");
    svc.ejected("10.0.0.2:80");
    svc.ejected("10.0.0.1:80");
    s.service("inbound", "app").failFast();
    const l = { direction: "outbound", service: "web" };
    assert.deepEqual(samples(s, METRIC.serviceLoadShedTotal), [{ labels: l, value: 2 }]);
    assert.deepEqual(samples(s, METRIC.serviceFailFastTotal), [
      { labels: { direction: "inbound", service: "app" }, value: 1 },
      { labels: l, value: 1 },
    ]);
    assert.deepEqual(samples(s, METRIC.endpointEjectionsTotal), [
      { labels: { ...l, endpoint: "10.0.0.1:80" }, value: 2 },
      { labels: { ...l, endpoint: "10.0.0.2:80" }, value: 1 },
    ]);
  });

  it("caps services per direction and ejected endpoints per service", () => {
    const s = new MetricsStore({ maxLabelValues: 2 });
    for (let i = 0; i < 5; i++) s.service("outbound", `svc-${i}`).loadShed();
    assert.deepEqual(
      samples(s, METRIC.serviceLoadShedTotal).map((x) => [x.labels["service"], x.value]),
      [
        ["svc-0", 1],
        ["svc-1", 1],
        [OVERFLOW_LABEL, 3],
      ],
    );
    const web = s.service("outbound", "svc-0");
    for (let i = 0; i < 5; i++) web.ejected(`10.0.0.${i}:80`);
    web.ejected("10.0.0.0:80");
    assert.deepEqual(
      samples(s, METRIC.endpointEjectionsTotal).map((x) => [x.labels["endpoint"], x.value]),
      [
        ["10.0.0.0:80", 2],
        ["10.0.0.1:80", 1],
        [OVERFLOW_LABEL, 3],
      ],
    );
  });
});

describe("MetricsStore endpoint gauges", () => {
  it("has empty gauge families until a source is registered", () => {
    const snap = new MetricsStore().snapshot();
    for (const name of GAUGES) {
      const f = scalar(snap, name);
      assert.equal(f.type, "gauge");
      assert.deepEqual(f.samples, []);
    }
  });

  it("counts ready and ejected endpoints per (service, balancer), always both states", () => {
    const s = new MetricsStore();
    const gauges: EndpointGauge[] = [
      { service: "web", balancer: "peak-ewma", endpoint: "10.0.0.1:80", breaker: "closed" },
      { service: "web", balancer: "peak-ewma", endpoint: "10.0.0.2:80", breaker: "half-open" },
      { service: "web", balancer: "peak-ewma", endpoint: "10.0.0.3:80", breaker: "open" },
      { service: "api", balancer: "round-robin", endpoint: "10.0.1.1:80", breaker: "closed" },
    ];
    s.setEndpointGauges(() => gauges);
    assert.deepEqual(samples(s, METRIC.balancerEndpoints), [
      { labels: { service: "web", balancer: "peak-ewma", endpoint_state: "ready" }, value: 2 },
      { labels: { service: "web", balancer: "peak-ewma", endpoint_state: "ejected" }, value: 1 },
      { labels: { service: "api", balancer: "round-robin", endpoint_state: "ready" }, value: 1 },
      { labels: { service: "api", balancer: "round-robin", endpoint_state: "ejected" }, value: 0 },
    ]);
    assert.deepEqual(samples(s, METRIC.endpointBreakerState), [
      { labels: { service: "web", endpoint: "10.0.0.1:80", state: "closed" }, value: 1 },
      { labels: { service: "web", endpoint: "10.0.0.2:80", state: "half-open" }, value: 1 },
      { labels: { service: "web", endpoint: "10.0.0.3:80", state: "open" }, value: 1 },
      { labels: { service: "api", endpoint: "10.0.1.1:80", state: "closed" }, value: 1 },
    ]);
  });

  it("reads the source at every snapshot, and the last registration wins", () => {
    const s = new MetricsStore();
    let state: EndpointGauge["breaker"] = "closed";
    s.setEndpointGauges(() => [{ service: "old", balancer: "b", endpoint: "e", breaker: "closed" }]);
    s.setEndpointGauges(() => [{ service: "web", balancer: "least-request", endpoint: "e:1", breaker: state }]);
    const ejected = () =>
      samples(s, METRIC.balancerEndpoints).find((x) => x.labels["endpoint_state"] === "ejected")?.value;
    assert.equal(ejected(), 0);
    state = "open";
    assert.equal(ejected(), 1);
    assert.deepEqual(samples(s, METRIC.endpointBreakerState), [
      { labels: { service: "web", endpoint: "e:1", state: "open" }, value: 1 },
    ]);
    assert.ok(samples(s, METRIC.balancerEndpoints).every((x) => x.labels["service"] === "web"));
  });

  it("emits one breaker-state series for an endpoint listed twice", () => {
    const s = new MetricsStore();
    const g: EndpointGauge = { service: "web", balancer: "round-robin", endpoint: "e:1", breaker: "closed" };
    s.setEndpointGauges(() => [g, g]);
    assert.equal(samples(s, METRIC.endpointBreakerState).length, 1);
    assert.equal(samples(s, METRIC.balancerEndpoints)[0]?.value, 2);
  });
});
