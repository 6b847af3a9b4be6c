// Load shedding: a service with maxPending requests in flight answers more with 503 load-shed at once (the
// upstream never sees them); slots come back when requests finish or their clients go away. Also the other
// "unavailable" answers: 503 no-endpoints, 404 no-route.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`load shedding [${h.runtime}]`, { timeout: 60_000 }, () => {
  let tight: h.ScriptedUpstream, wide: h.ScriptedUpstream, proxy: h.ProxyProcess | undefined;
  // the held requests are answered when the test opens these
  const tightGate = h.gate();
  const wideGate = h.gate();
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    [tight, wide] = await Promise.all([h.startScriptedUpstream(), h.startScriptedUpstream()]);
    tight.behave = (r) => (r.url.startsWith("/hold") ? { until: tightGate.promise } : r.url.startsWith("/hang") ? { hang: true } : {});
    wide.behave = (r) => (r.url.startsWith("/slow") ? { until: wideGate.promise } : {});
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "tight", endpoints: [tight.addr], maxPending: 2 },
          { name: "burst", endpoints: [wide.addr], maxPending: 3 },
          { name: "empty", endpoints: [] },
        ],
        overrides: { accessLog: { enabled: false } },
      }),
    );
  });
  after(async () => {
    tightGate.open();
    wideGate.open();
    await proxy?.stop();
    await Promise.all([tight?.close(), wide?.close()]);
  });

  const shed = () => h.metricValue(proxy!, "http_service_load_shed_total", { direction: "outbound", service: "tight" });

  t("over maxPending, a request is shed at once with 503 load-shed", async () => {
    const holds = [1, 2].map((i) => h.httpRequest({ port: proxy!.outbound, host: "tight", path: `/hold/${i}` }));
    await h.waitFor(() => tight.inFlight === 2, 5000, "two requests in flight at the upstream");
    const r = await h.timedRequest({ port: proxy!.outbound, host: "tight", path: "/quick/1" });
    assert.equal(r.status, 503);
    assert.equal(r.headers["x-meshlet-error"], "load-shed");
    assert.ok(r.elapsedMs < 1000, `shed after ${r.elapsedMs.toFixed(0)} ms: not at once`);
    const c = await h.curl(["-H", "Host: tight", `http://127.0.0.1:${proxy!.outbound}/quick/curl`]);
    assert.equal(c.status, 503);
    assert.equal(h.header(c, "x-meshlet-error"), "load-shed");
    assert.equal(tight.count("/quick"), 0, "a shed request reached the upstream");
    assert.equal(await shed(), 2);
    tightGate.open();
    for (const x of await Promise.all(holds)) assert.equal(x.status, 200);
    // the slots are back
    const ok = await h.httpRequest({ port: proxy!.outbound, host: "tight", path: "/quick/2" });
    assert.equal(ok.status, 200);
  });

  t("10 concurrent requests against maxPending 3: 7 shed at once, 3 served", async () => {
    let done = 0;
    const pending = Array.from({ length: 10 }, (_, i) => h.httpRequest({ port: proxy!.outbound, host: "burst", path: `/slow/${i}` }).finally(() => done++));
    await h.waitFor(() => done === 7, 5000, () => `7 requests shed (${done} answered)`);
    assert.equal(wide.inFlight, 3);
    wideGate.open();
    const rs = await Promise.all(pending);
    const by = h.tally(rs, (r) => `${r.status} ${r.headers["x-meshlet-error"] ?? ""}`.trim());
    assert.deepEqual(by, { "200": 3, "503 load-shed": 7 });
    assert.equal(wide.count("/slow"), 3);
    assert.equal(await h.metricValue(proxy!, "http_service_load_shed_total", { service: "burst" }), 7);
  });

  t("a client that goes away gives its slot back", async () => {
    const conns = await Promise.all([1, 2].map(() => h.RawConn.open(proxy!.outbound)));
    conns.forEach((c, i) => c.send(`GET /hang/${i} HTTP/1.1\r\nHost: tight\r\n\r\n`));
    await h.waitFor(() => tight.count("/hang") === 2, 5000, "two hanging requests at the upstream");
    assert.equal((await h.httpRequest({ port: proxy!.outbound, host: "tight", path: "/quick/3" })).headers["x-meshlet-error"], "load-shed");
    for (const c of conns) c.socket.resetAndDestroy();
    // the proxy cuts the upstream requests and frees the slots
    await h.waitFor(() => tight.requests.filter((r) => r.url.startsWith("/hang") && r.abortedAt !== undefined).length === 2, 3000, "the upstream to see both requests cut");
    const r = await h.httpRequest({ port: proxy!.outbound, host: "tight", path: "/quick/4" });
    assert.equal(r.status, 200, `after the clients left: ${r.status} ${r.headers["x-meshlet-error"] ?? ""}`);
  });

  t("503 no-endpoints for a service without endpoints; 404 no-route for an unknown host", async () => {
    const e = await h.curl(["-H", "Host: empty", `http://127.0.0.1:${proxy!.outbound}/`]);
    assert.equal(e.status, 503);
    assert.equal(h.header(e, "x-meshlet-error"), "no-endpoints");
    const n = await h.curl(["-H", "Host: nobody.example", `http://127.0.0.1:${proxy!.outbound}/`]);
    assert.equal(n.status, 404);
    assert.equal(h.header(n, "x-meshlet-error"), "no-route");
  });
});
