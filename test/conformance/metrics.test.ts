// Metrics move with traffic: request/response counters, latency histogram, TCP counters.
import assert from "node:assert/strict";
import { describe } from "node:test";
import * as h from "./harness.ts";

describe(`metrics [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture((up) => h.makeConfig({ services: [{ name: "web", endpoints: [up.addr] }, { name: "empty", hostnames: ["empty"], endpoints: [] }] }));
  const t = f.test;

  t("HTTP counters and latency count grow by the requests made", async () => {
    const out = { direction: "outbound" };
    const m0 = await h.scrape(f.proxy);
    for (let i = 0; i < 5; i++) assert.equal((await h.httpRequest({ port: f.proxy.outbound, path: `/m/${i}` })).status, 200);
    assert.ok((await h.httpRequest({ port: f.proxy.outbound, host: "empty" })).status >= 500);
    const m1 = await h.waitFor(
      async () => {
        const m = await h.scrape(f.proxy);
        return h.sumMetric(m, "request_total", out) - h.sumMetric(m0, "request_total", out) >= 6 ? m : undefined;
      },
      3000,
      "request_total{direction=outbound} to grow by 6",
    );
    const d = (name: string, match: Record<string, string>) => h.sumMetric(m1, name, match) - h.sumMetric(m0, name, match);
    assert.ok(d("response_total", { ...out, status_code: "200" }) >= 5, "response_total{status_code=200}");
    assert.ok(d("response_total", { ...out, classification: "success" }) >= 5, "response_total{classification=success}");
    assert.ok(d("response_total", { ...out, classification: "failure" }) >= 1, "response_total{classification=failure} for the 503");
    assert.ok(d("response_latency_ms_count", out) >= 6, "response_latency_ms_count");
    assert.ok(m1.some((s) => s.name === "response_latency_ms_bucket" && s.labels.le === "+Inf"), "histogram buckets");
    assert.ok(m1.some((s) => s.name === "request_total" && Object.values(s.labels).some((v) => v.startsWith("web"))), "an authority label naming web");
  });

  t("TCP counters: opens, closes, bytes", async () => {
    const m0 = await h.scrape(f.proxy);
    for (let i = 0; i < 3; i++) await h.httpRequest({ port: f.proxy.outbound, method: "POST", path: "/tcp", body: Buffer.alloc(10_000) });
    const m1 = await h.waitFor(
      async () => {
        const m = await h.scrape(f.proxy);
        return h.sumMetric(m, "tcp_close_total") - h.sumMetric(m0, "tcp_close_total") >= 3 ? m : undefined;
      },
      3000,
      "tcp_close_total to grow by the 3 closed client connections",
    );
    const d = (name: string) => h.sumMetric(m1, name) - h.sumMetric(m0, name);
    assert.ok(d("tcp_open_total") >= 3, "tcp_open_total");
    assert.ok(d("tcp_read_bytes_total") >= 30_000, `tcp_read_bytes_total grew by ${d("tcp_read_bytes_total")}`);
    assert.ok(d("tcp_write_bytes_total") > 0, `tcp_write_bytes_total grew by ${d("tcp_write_bytes_total")}`);
    assert.ok(m1.some((s) => s.name === "tcp_open_total" && s.labels.direction === "outbound"), "tcp_open_total{direction=outbound}");
    assert.ok(h.sumMetric(m1, "tcp_open_connections") >= 0);
  });
});
