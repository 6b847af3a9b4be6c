import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createAdminApp, type AdminDeps } from "../../../core/admin/app.ts";
import { isLoopbackAddress } from "../../../core/admin/loopback.ts";
import { MetricsStore } from "../../../core/telemetry/metrics.ts";
import { createMetricsRegistry } from "../../../adapters/shared/prometheus.ts";
import type { FetchHandler } from "../../../core/ports.ts";

function setup(over: Partial<AdminDeps> = {}) {
  const state = { ready: false, shutdowns: 0, errors: [] as unknown[] };
  const store = new MetricsStore();
  const metrics = createMetricsRegistry(store, { processMetrics: false });
  const deps: AdminDeps = {
    isReady: () => state.ready,
    renderMetrics: async () => {
      const m = await metrics;
      return { contentType: m.contentType, body: await m.render() };
    },
    effectiveConfig: () => ({ admin: { port: 4191 }, services: [{ name: "web", endpoints: ["127.0.0.1:9001"] }] }),
    shutdown: () => void state.shutdowns++,
    isLoopback: isLoopbackAddress,
    onError: (e) => void state.errors.push(e),
    ...over,
  };
  const app = createAdminApp(deps);
  // The app is served through the Runtime.http.serve port: its fetch must fit FetchHandler.
  const handler: FetchHandler = app.fetch;
  const call = (method: string, path: string, host = "127.0.0.1") =>
    Promise.resolve(handler(new Request(`http://127.0.0.1:4191${path}`, { method }), { remote: { host, port: 50000 } }));
  return { state, store, call, app };
}

describe("admin app", () => {
  it("GET /live", async () => {
    const res = await setup().call("GET", "/live");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "live");
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  });

  it("GET /ready follows isReady()", async () => {
    const { state, call } = setup();
    let res = await call("GET", "/ready");
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "not ready");
    state.ready = true;
    res = await call("GET", "/ready");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ready");
  });

  it("GET /metrics serves the Prometheus text", async () => {
    const { store, call } = setup();
    store.http("inbound", "app:8080").request();
    const res = await call("GET", "/metrics");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const body = await res.text();
    assert.match(body, /^request_total\{direction="inbound",authority="app:8080"\} 1$/m);
  });

  it("GET /config serves the effective config as JSON", async () => {
    const res = await setup().call("GET", "/config");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await res.json(), {
      admin: { port: 4191 },
      services: [{ name: "web", endpoints: ["127.0.0.1:9001"] }],
    });
  });

  it("HEAD works where GET does, without a body", async () => {
    const res = await setup().call("HEAD", "/live");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
  });

  for (const host of ["127.0.0.1", "127.0.0.53", "::1", "::ffff:127.0.0.1"]) {
    it(`POST /shutdown from ${host} shuts down`, async () => {
      const { state, call } = setup();
      const res = await call("POST", "/shutdown", host);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "shutting down");
      assert.equal(state.shutdowns, 1);
    });
  }

  for (const host of ["10.0.0.7", "192.168.1.2", "::ffff:10.0.0.7", "fe80::1", "localhost", ""]) {
    it(`POST /shutdown from ${JSON.stringify(host)} is forbidden`, async () => {
      const { state, call } = setup();
      const res = await call("POST", "/shutdown", host);
      assert.equal(res.status, 403);
      assert.equal(state.shutdowns, 0);
    });
  }

  it("POST /shutdown without connection info is forbidden", async () => {
    const { state, app } = setup();
    const res = await app.fetch(new Request("http://x/shutdown", { method: "POST" }));
    assert.equal(res.status, 403);
    assert.equal(state.shutdowns, 0);
  });

  for (const [method, path, allow] of [
    ["GET", "/shutdown", "POST"],
    ["POST", "/live", "GET, HEAD"],
    ["PUT", "/ready", "GET, HEAD"],
    ["DELETE", "/metrics", "GET, HEAD"],
    ["POST", "/config", "GET, HEAD"],
  ] as const) {
    it(`${method} ${path} -> 405`, async () => {
      const { state, call } = setup();
      const res = await call(method, path);
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), allow);
      assert.equal(state.shutdowns, 0);
    });
  }

  for (const [method, path] of [
    ["GET", "/"],
    ["GET", "/nope"],
    ["POST", "/nope"],
    ["GET", "/live/extra"],
  ] as const) {
    it(`${method} ${path} -> 404`, async () => {
      const res = await setup().call(method, path);
      assert.equal(res.status, 404);
      assert.equal(await res.text(), "not found");
    });
  }

  it("a failing handler becomes a 500 and is reported", async () => {
    const boom = new Error("boom");
    const { state, call } = setup({
      renderMetrics: () => Promise.reject(boom),
    });
    const res = await call("GET", "/metrics");
    assert.equal(res.status, 500);
    assert.deepEqual(state.errors, [boom]);
  });
});
