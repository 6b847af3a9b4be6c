import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  LATENCY_BOUNDS_MS,
  METRIC,
  MetricsStore,
  OVERFLOW_LABEL,
  classifyStatus,
} from "../../../core/telemetry/metrics.ts";
import type { HistogramFamily, MetricFamily, ScalarFamily } from "../../../core/telemetry/types.ts";

function family(snap: MetricFamily[], name: string): MetricFamily {
  const f = snap.find((x) => x.name === name);
  assert.ok(f, `family ${name}`);
  return f;
}
const scalar = (snap: MetricFamily[], name: string) => family(snap, name) as ScalarFamily;
const histogram = (snap: MetricFamily[], name: string) => family(snap, name) as HistogramFamily;

describe("classifyStatus", () => {
  for (const [status, want] of [
    [200, "success"],
    [302, "success"],
    [404, "success"],
    [499, "success"],
    [500, "failure"],
    [503, "failure"],
    [504, "failure"],
  ] as const) {
    it(`${status} -> ${want}`, () => assert.equal(classifyStatus(status), want));
  }
});

describe("MetricsStore", () => {
  it("uses Linkerd's response_latency_ms bounds", () => {
    assert.deepEqual(
      [...LATENCY_BOUNDS_MS],
      [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000],
    );
  });

  it("returns the same counters object for the same labels", () => {
    const s = new MetricsStore();
    assert.equal(s.http("outbound", "web"), s.http("outbound", "web"));
    assert.notEqual(s.http("outbound", "web"), s.http("inbound", "web"));
    assert.equal(s.tcp("inbound", "src", "a:1"), s.tcp("inbound", "src", "a:1"));
    assert.notEqual(s.tcp("inbound", "src", "a:1"), s.tcp("inbound", "dst", "a:1"));
  });

  it("counts requests and responses by status and classification", () => {
    const s = new MetricsStore();
    const h = s.http("outbound", "web:80");
    for (let i = 0; i < 3; i++) h.request();
    h.response(200, "success", 1);
    h.response(200, "success", 2);
    h.response(502, "failure", 7);
    const snap = s.snapshot();
    assert.deepEqual(scalar(snap, METRIC.requestTotal).samples, [
      { labels: { direction: "outbound", authority: "web:80" }, value: 3 },
    ]);
    assert.deepEqual(scalar(snap, METRIC.responseTotal).samples, [
      { labels: { direction: "outbound", authority: "web:80", status_code: "200", classification: "success" }, value: 2 },
      { labels: { direction: "outbound", authority: "web:80", status_code: "502", classification: "failure" }, value: 1 },
    ]);
  });

  it("buckets latency with inclusive upper bounds and cumulative counts", () => {
    const s = new MetricsStore({ latencyBoundsMs: [1, 10, 100] });
    const h = s.http("inbound", "app");
    for (const ms of [0, 1, 1.0001, 10, 50, 100, 100.5, 99999]) h.response(200, "success", ms);
    h.response(200, "success", -5); // clamped to 0
    h.response(200, "success", Number.NaN); // clamped to 0
    const [sample] = histogram(s.snapshot(), METRIC.responseLatencyMs).samples;
    assert.ok(sample);
    assert.deepEqual(sample.labels, { direction: "inbound", authority: "app", status_code: "200" });
    // <=1: 0,1,-5,NaN ; <=10: +1.0001,10 ; <=100: +50,100 ; +Inf: +100.5,99999
    assert.deepEqual(sample.cumulative, [4, 6, 8]);
    assert.equal(sample.count, 10);
    assert.equal(sample.sum, 0 + 1 + 1.0001 + 10 + 50 + 100 + 100.5 + 99999);
  });

  it("keeps a histogram per status code", () => {
    const s = new MetricsStore();
    const h = s.http("outbound", "web");
    h.response(200, "success", 3);
    h.response(500, "failure", 30);
    const samples = histogram(s.snapshot(), METRIC.responseLatencyMs).samples;
    assert.deepEqual(
      samples.map((x) => [x.labels["status_code"], x.count]),
      [
        ["200", 1],
        ["500", 1],
      ],
    );
  });

  it("derives tcp_open_connections from opened - closed", () => {
    const s = new MetricsStore();
    const t = s.tcp("outbound", "dst", "10.0.0.2:9001");
    t.opened();
    t.opened();
    t.opened();
    t.closed();
    t.read(10);
    t.read(5);
    t.written(7);
    const snap = s.snapshot();
    const labels = { direction: "outbound", peer: "dst", target_addr: "10.0.0.2:9001" };
    assert.deepEqual(scalar(snap, METRIC.tcpOpenTotal).samples, [{ labels, value: 3 }]);
    assert.deepEqual(scalar(snap, METRIC.tcpCloseTotal).samples, [{ labels, value: 1 }]);
    assert.deepEqual(scalar(snap, METRIC.tcpOpenConnections).samples, [{ labels, value: 2 }]);
    assert.deepEqual(scalar(snap, METRIC.tcpReadBytesTotal).samples, [{ labels, value: 15 }]);
    assert.deepEqual(scalar(snap, METRIC.tcpWriteBytesTotal).samples, [{ labels, value: 7 }]);
    assert.equal(scalar(snap, METRIC.tcpOpenConnections).type, "gauge");
  });

  it("caps distinct authorities per direction and folds the rest into an overflow label", () => {
    const s = new MetricsStore({ maxLabelValues: 3 });
    for (let i = 0; i < 10; i++) s.http("outbound", `svc-${i}`).request();
    s.http("outbound", "svc-0").request(); // an existing entry keeps its own counters
    s.http("inbound", "in-0").request(); // the other direction has its own budget
    const requests = scalar(s.snapshot(), METRIC.requestTotal).samples;
    const byAuthority = Object.fromEntries(
      requests.filter((x) => x.labels["direction"] === "outbound").map((x) => [x.labels["authority"], x.value]),
    );
    assert.deepEqual(byAuthority, { "svc-0": 2, "svc-1": 1, "svc-2": 1, [OVERFLOW_LABEL]: 7 });
    assert.ok(requests.some((x) => x.labels["direction"] === "inbound" && x.labels["authority"] === "in-0"));
    assert.equal(s.http("outbound", "svc-9"), s.http("outbound", "svc-8"), "overflow entries share one object");
  });

  it("caps distinct TCP targets the same way", () => {
    const s = new MetricsStore({ maxLabelValues: 2 });
    for (let i = 0; i < 5; i++) s.tcp("inbound", "src", `10.0.0.${i}:80`).opened();
    const open = scalar(s.snapshot(), METRIC.tcpOpenTotal).samples;
    assert.deepEqual(
      open.map((x) => [x.labels["target_addr"], x.value]),
      [
        ["10.0.0.0:80", 1],
        ["10.0.0.1:80", 1],
        [OVERFLOW_LABEL, 3],
      ],
    );
  });

  it("rejects bounds that are not ascending", () => {
    assert.throws(() => new MetricsStore({ latencyBoundsMs: [1, 1, 2] }), RangeError);
  });

  it("snapshots every family, even when empty", () => {
    const names = new MetricsStore().snapshot().map((f) => f.name);
    assert.deepEqual(names, [
      "request_total",
      "response_total",
      "response_latency_ms",
      "tcp_open_total",
      "tcp_close_total",
      "tcp_open_connections",
      "tcp_read_bytes_total",
      "tcp_write_bytes_total",
      "http_route_retry_requests_total",
      "http_route_retry_successes_total",
      "http_route_retry_limit_exceeded_total",
      "http_route_retry_overflow_total",
      "http_route_fault_injections_total",
      "http_route_rate_limited_total",
      "http_route_timeouts_total",
      "http_service_load_shed_total",
      "http_service_fail_fast_total",
      "http_endpoint_ejections_total",
      "http_balancer_endpoints",
      "http_endpoint_breaker_state",
      "inbound_http_authz_allow_total",
      "inbound_http_authz_deny_total",
      "inbound_tcp_authz_allow_total",
      "inbound_tcp_authz_deny_total",
      "identity_cert_expiration_timestamp_seconds",
    ]);
  });
});

describe("MetricsStore: TLS identities", () => {
  const family = (m: MetricsStore, name: string) => m.snapshot().find((f) => f.name === name)!;

  it("labels responses with the peer's tls and client_id (inbound) or server_id (outbound)", () => {
    const m = new MetricsStore();
    const web = m.peerTag("inbound", "true", "spiffe://example.org/ns/web/sa/web");
    assert.equal(m.peerTag("inbound", "true", "spiffe://example.org/ns/web/sa/web"), web, "interned");
    const plain = m.peerTag("inbound", "no_identity", "");
    const http = m.http("inbound", "app");
    http.response(200, "success", 1, -1, web);
    http.response(200, "success", 1, -1, web);
    http.response(200, "success", 1, -1, plain);
    m.http("outbound", "svc").response(502, "failure", 1, -1, m.peerTag("outbound", "true", "spiffe://example.org/ns/b/sa/b"));
    const samples = family(m, "response_total").samples as { labels: Record<string, string>; value: number }[];
    assert.deepEqual(samples.map((s) => [s.labels.tls, s.labels.client_id ?? s.labels.server_id, s.value]), [
      ["true", "spiffe://example.org/ns/web/sa/web", 2],
      ["no_identity", undefined, 1],
      ["true", "spiffe://example.org/ns/b/sa/b", 1],
    ]);
    assert.equal(samples[2]!.labels.client_id, undefined);
  });

  it("caps distinct identities per direction", () => {
    const m = new MetricsStore({ maxLabelValues: 2 });
    m.peerTag("inbound", "true", "spiffe://t/a");
    m.peerTag("inbound", "true", "spiffe://t/b");
    assert.equal(m.peerTag("inbound", "true", "spiffe://t/c").id, "overflow");
    assert.equal(m.peerTag("outbound", "true", "spiffe://t/c").id, "spiffe://t/c");
  });

  it("counts authorization decisions by kind, route, rule and client", () => {
    const m = new MetricsStore();
    const peer = m.peerTag("inbound", "true", "spiffe://t/ns/a/sa/a");
    m.authz("http", { allowed: true, route: "", rule: "web" }, peer);
    m.authz("http", { allowed: true, route: "", rule: "web" }, peer);
    m.authz("http", { allowed: false, route: "admin", rule: "default" }, peer);
    m.authz("tcp", { allowed: false, route: "", rule: "default" }, m.peerTag("inbound", "no_identity", ""));
    assert.deepEqual(family(m, "inbound_http_authz_allow_total").samples, [
      { labels: { authz_rule: "web", tls: "true", client_id: "spiffe://t/ns/a/sa/a" }, value: 2 },
    ]);
    assert.deepEqual(family(m, "inbound_http_authz_deny_total").samples, [
      { labels: { authz_rule: "default", route: "admin", tls: "true", client_id: "spiffe://t/ns/a/sa/a" }, value: 1 },
    ]);
    assert.deepEqual(family(m, "inbound_tcp_authz_deny_total").samples, [{ labels: { authz_rule: "default", tls: "no_identity" }, value: 1 }]);
    assert.deepEqual(family(m, "inbound_tcp_authz_allow_total").samples, []);
  });

  it("exports the certificate expiry once set", () => {
    const m = new MetricsStore();
    assert.deepEqual(family(m, "identity_cert_expiration_timestamp_seconds").samples, []);
    m.setCertExpiration(1_900_000_000);
    assert.deepEqual(family(m, "identity_cert_expiration_timestamp_seconds").samples, [{ labels: {}, value: 1_900_000_000 }]);
  });
});
