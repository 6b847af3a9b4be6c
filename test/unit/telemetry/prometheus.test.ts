import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MetricsStore, OVERFLOW_LABEL } from "../../../core/telemetry/metrics.ts";
import { createMetricsRegistry } from "../../../adapters/shared/prometheus.ts";

/** Sample lines of a Prometheus text exposition: "name{labels}" -> value. */
function samples(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

async function setup() {
  const store = new MetricsStore();
  const reg = await createMetricsRegistry(store, { processMetrics: false });
  return { store, reg };
}

describe("createMetricsRegistry", () => {
  it("uses the Prometheus text content type", async () => {
    assert.equal((await setup()).reg.contentType, "text/plain; version=0.0.4; charset=utf-8");
  });

  it("renders HTTP counters with Linkerd's names and labels", async () => {
    const { store, reg } = await setup();
    const h = store.http("outbound", "web.default.svc.cluster.local:80");
    h.request();
    h.request();
    h.response(200, "success", 4);
    h.response(503, "failure", 12);
    const m = samples(await reg.render());
    const a = 'direction="outbound",authority="web.default.svc.cluster.local:80"';
    assert.equal(m.get(`request_total{${a}}`), "2");
    assert.equal(m.get(`response_total{${a},status_code="200",classification="success"}`), "1");
    assert.equal(m.get(`response_total{${a},status_code="503",classification="failure"}`), "1");
  });

  it("renders the latency histogram with every Linkerd bucket, +Inf, _sum and _count", async () => {
    const { store, reg } = await setup();
    const h = store.http("inbound", "app");
    h.response(200, "success", 4);
    h.response(200, "success", 4.5);
    h.response(200, "success", 60_000);
    const text = await reg.render();
    assert.match(text, /^# TYPE response_latency_ms histogram$/m);
    const m = samples(text);
    const l = 'direction="inbound",authority="app",status_code="200"';
    const want: Record<string, string> = {
      "1": "0", "2": "0", "3": "0", "4": "1", "5": "2", "10": "2", "50": "2", "1000": "2", "50000": "2", "+Inf": "3",
    };
    for (const [le, v] of Object.entries(want)) {
      assert.equal(m.get(`response_latency_ms_bucket{${l},le="${le}"}`), v, `le=${le}`);
    }
    const les = [...text.matchAll(/^response_latency_ms_bucket\{[^}]*le="([^"]+)"\}/gm)].map((x) => x[1]);
    assert.deepEqual(les, [
      "1", "2", "3", "4", "5", "10", "20", "30", "40", "50", "100", "200", "300", "400", "500",
      "1000", "2000", "3000", "4000", "5000", "10000", "20000", "30000", "40000", "50000", "+Inf",
    ]);
    assert.equal(m.get(`response_latency_ms_sum{${l}}`), "60008.5");
    assert.equal(m.get(`response_latency_ms_count{${l}}`), "3");
  });

  it("renders TCP counters and the open-connections gauge", async () => {
    const { store, reg } = await setup();
    const t = store.tcp("inbound", "src", "10.1.2.3:4143");
    t.opened();
    t.opened();
    t.closed();
    t.read(1000);
    t.written(250);
    const text = await reg.render();
    assert.match(text, /^# TYPE tcp_open_connections gauge$/m);
    assert.match(text, /^# TYPE tcp_open_total counter$/m);
    const m = samples(text);
    const l = 'direction="inbound",peer="src",target_addr="10.1.2.3:4143"';
    assert.equal(m.get(`tcp_open_total{${l}}`), "2");
    assert.equal(m.get(`tcp_close_total{${l}}`), "1");
    assert.equal(m.get(`tcp_open_connections{${l}}`), "1");
    assert.equal(m.get(`tcp_read_bytes_total{${l}}`), "1000");
    assert.equal(m.get(`tcp_write_bytes_total{${l}}`), "250");
  });

  it("reads the store at scrape time", async () => {
    const { store, reg } = await setup();
    const h = store.http("outbound", "web");
    h.request();
    assert.equal(samples(await reg.render()).get('request_total{direction="outbound",authority="web"}'), "1");
    h.request();
    h.request();
    assert.equal(samples(await reg.render()).get('request_total{direction="outbound",authority="web"}'), "3");
  });

  it("renders overflowed authorities under the overflow label", async () => {
    const store = new MetricsStore({ maxLabelValues: 1 });
    const reg = await createMetricsRegistry(store, { processMetrics: false });
    store.http("outbound", "a").request();
    store.http("outbound", "b").request();
    store.http("outbound", "c").request();
    const m = samples(await reg.render());
    assert.equal(m.get('request_total{direction="outbound",authority="a"}'), "1");
    assert.equal(m.get(`request_total{direction="outbound",authority="${OVERFLOW_LABEL}"}`), "2");
    assert.equal(m.has('request_total{direction="outbound",authority="b"}'), false);
  });

  it("escapes label values", async () => {
    const { store, reg } = await setup();
    store.http("outbound", 'we"ird\\host\n').request();
    const text = await reg.render();
    assert.ok(text.includes('request_total{direction="outbound",authority="we\\"ird\\\\host\\n"} 1'), text);
  });

  it("registers the traffic-policy families from the first (empty) snapshot", async () => {
    const { store, reg } = await setup();
    const counters = [
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
    ];
    const gauges = ["http_balancer_endpoints", "http_endpoint_breaker_state"];
    // The registry was created before any sample or gauge source existed; families registered then still render.
    store.route("outbound", "r", "web").retry();
    store.setEndpointGauges(() => [{ service: "web", balancer: "peak-ewma", endpoint: "10.0.0.1:80", breaker: "closed" }]);
    const text = await reg.render();
    for (const name of counters) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, "m"), `${name} HELP`);
      assert.match(text, new RegExp(`^# TYPE ${name} counter$`, "m"), `${name} TYPE`);
    }
    for (const name of gauges) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, "m"), `${name} HELP`);
      assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, "m"), `${name} TYPE`);
    }
  });

  it("renders route, service and endpoint metrics with their labels", async () => {
    const { store, reg } = await setup();
    const r = store.route("outbound", "checkout", "payments");
    r.retry();
    r.retry();
    r.retrySuccess();
    r.retryLimitExceeded();
    r.retryOverflow();
    r.faultInjected("delay");
    r.faultInjected("abort");
    r.rateLimited();
    r.timeout("backend-request");
    r.timeout("header");
    const svc = store.service("outbound", "payments");
    svc.loadShed();
    svc.failFast();
    svc.ejected("10.0.0.2:8080");
    store.route("outbound", "unused", "payments"); // created, never counted: no samples
    store.setEndpointGauges(() => [
      { service: "payments", balancer: "peak-ewma", endpoint: "10.0.0.1:8080", breaker: "half-open" },
      { service: "payments", balancer: "peak-ewma", endpoint: "10.0.0.2:8080", breaker: "open" },
    ]);
    const text = await reg.render();
    const m = samples(text);
    const rl = 'direction="outbound",route="checkout",service="payments"';
    assert.equal(m.get(`http_route_retry_requests_total{${rl}}`), "2");
    assert.equal(m.get(`http_route_retry_successes_total{${rl}}`), "1");
    assert.equal(m.get(`http_route_retry_limit_exceeded_total{${rl}}`), "1");
    assert.equal(m.get(`http_route_retry_overflow_total{${rl}}`), "1");
    assert.equal(m.get(`http_route_fault_injections_total{${rl},kind="delay"}`), "1");
    assert.equal(m.get(`http_route_fault_injections_total{${rl},kind="abort"}`), "1");
    assert.equal(m.get(`http_route_rate_limited_total{${rl}}`), "1");
    assert.equal(m.get(`http_route_timeouts_total{${rl},kind="backend-request"}`), "1");
    assert.equal(m.get(`http_route_timeouts_total{${rl},kind="header"}`), "1");
    assert.equal(m.has(`http_route_timeouts_total{${rl},kind="request"}`), false, "zero counters are not emitted");
    assert.ok(!text.includes('route="unused"'), "a route without events has no samples");
    const sl = 'direction="outbound",service="payments"';
    assert.equal(m.get(`http_service_load_shed_total{${sl}}`), "1");
    assert.equal(m.get(`http_service_fail_fast_total{${sl}}`), "1");
    assert.equal(m.get(`http_endpoint_ejections_total{${sl},endpoint="10.0.0.2:8080"}`), "1");
    const bl = 'service="payments",balancer="peak-ewma"';
    assert.equal(m.get(`http_balancer_endpoints{${bl},endpoint_state="ready"}`), "1");
    assert.equal(m.get(`http_balancer_endpoints{${bl},endpoint_state="ejected"}`), "1");
    assert.equal(m.get('http_endpoint_breaker_state{service="payments",endpoint="10.0.0.1:8080",state="half-open"}'), "1");
    assert.equal(m.get('http_endpoint_breaker_state{service="payments",endpoint="10.0.0.2:8080",state="open"}'), "1");
  });

  it("adds the default runtime metrics when asked", async () => {
    const reg = await createMetricsRegistry(new MetricsStore(), { processMetrics: true });
    const text = await reg.render();
    assert.match(text, /^process_cpu_seconds_total \S+$/m);
    assert.match(text, /^# TYPE request_total counter$/m);
  });
});
