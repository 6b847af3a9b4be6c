// Fault injection: a route's abort (its status with x-meshlet-error: fault-injected, the upstream untouched) and
// delay (the request is held, body and all), each for a percentage of requests; header-triggered faults only when
// headerFaults.enabled (malformed ones answered 400 bad-fault-header); http_route_fault_injections_total{kind}.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`faults [${h.runtime}]`, { timeout: 60_000 }, () => {
  let up: h.ScriptedUpstream, proxy: h.ProxyProcess | undefined, off: h.ProxyProcess | undefined;
  let current: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => current, fn));
  const rule = (prefix: string, fault: Record<string, unknown>) => ({ matches: [{ path: { type: "PathPrefix", value: prefix } }], fault });

  before(async () => {
    up = await h.startScriptedUpstream();
    const routes = [
      {
        name: "r-f",
        parentRefs: [{ name: "web" }],
        rules: [
          rule("/abort", { abort: { httpStatus: 503 } }),
          rule("/delay", { delay: { duration: "200ms" } }),
          rule("/half", { abort: { httpStatus: 500, percentage: 50 } }),
          rule("/both", { delay: { duration: "150ms" }, abort: { httpStatus: 418 } }),
        ],
      },
    ];
    [proxy, off] = await Promise.all([
      h.startProxy(h.makeConfig({ services: [{ name: "web", endpoints: [up.addr] }], overrides: { accessLog: { enabled: false }, routes, headerFaults: { enabled: true } } })),
      h.startProxy(h.makeConfig({ services: [{ name: "web", endpoints: [up.addr] }], overrides: { accessLog: { enabled: false }, routes } })),
    ]);
    current = proxy;
  });
  after(async () => {
    await Promise.all([proxy?.stop(), off?.stop()]);
    await up?.close();
  });

  const get = (p: h.ProxyProcess, path: string, headers: Record<string, string> = {}) => h.timedRequest({ port: p.outbound, path, headers });
  const faults = (p: h.ProxyProcess, route: string, kind: string) => h.metricValue(p, "http_route_fault_injections_total", { direction: "outbound", route, kind });

  t("an abort fault answers its status with x-meshlet-error: fault-injected; the upstream is not contacted", async () => {
    const r = await h.curl(["-H", "Host: web", `http://127.0.0.1:${proxy!.outbound}/abort/1`]);
    assert.equal(r.status, 503);
    assert.equal(h.header(r, "x-meshlet-error"), "fault-injected");
    for (let i = 0; i < 4; i++) assert.equal((await get(proxy!, `/abort/${i + 2}`)).headers["x-meshlet-error"], "fault-injected");
    assert.equal(up.count("/abort"), 0);
    assert.equal(await faults(proxy!, "r-f", "abort"), 5);
  });

  t("a delay fault holds the request (and its body) before it is forwarded", async () => {
    const r = await get(proxy!, "/delay/1");
    assert.equal(r.status, 200);
    assert.ok(r.elapsedMs >= 190 && r.elapsedMs < 1500, `answered after ${r.elapsedMs.toFixed(0)} ms (delay 200ms)`);
    const u = up.requests.find((x) => x.url === "/delay/1")!;
    assert.ok(u.receivedAt - r.sentAt >= 190, `the upstream got the request after ${(u.receivedAt - r.sentAt).toFixed(0)} ms`);
    const body = h.patternChunk(0, 200_000);
    const p = await h.timedRequest({ port: proxy!.outbound, path: "/delay/post", method: "POST", body });
    assert.equal(p.status, 200);
    assert.ok(p.elapsedMs >= 190);
    const j = JSON.parse(p.body.toString());
    assert.equal(j.bodyBytes, body.length);
    assert.equal(j.bodySha256, h.sha256(body));
    assert.equal(await faults(proxy!, "r-f", "delay"), 2);
  });

  t("a delay and an abort together: the status after the delay", async () => {
    const r = await get(proxy!, "/both/1");
    assert.equal(r.status, 418);
    assert.equal(r.headers["x-meshlet-error"], "fault-injected");
    assert.ok(r.elapsedMs >= 140, `418 after ${r.elapsedMs.toFixed(0)} ms (delay 150ms)`);
    assert.equal(up.count("/both"), 0);
  });

  t("an abort for 50 % of requests hits about half of 400", async () => {
    const rs = await h.bulk({ port: proxy!.outbound, total: 400, concurrency: 4, path: (i) => `/half/${i}` });
    const by = h.tally(rs, (r) => r.status);
    const aborted = by["500"] ?? 0;
    assert.equal(aborted + (by["200"] ?? 0), 400, JSON.stringify(by));
    assert.ok(aborted >= 150 && aborted <= 250, `${aborted} of 400 aborted (want about 200)`);
    assert.equal(up.count("/half"), by["200"]);
    assert.ok(rs.filter((r) => r.status === 500).every((r) => r.headers["x-meshlet-error"] === "fault-injected"));
    assert.equal(await faults(proxy!, "r-f", "abort"), 5 + 1 + aborted);
  });

  t("header faults (enabled): abort and delay on any route, taking the place of the route's", async () => {
    const a = await get(proxy!, "/plain/1", { "x-meshlet-fault-abort": "502" });
    assert.equal(a.status, 502);
    assert.equal(a.headers["x-meshlet-error"], "fault-injected");
    const d = await get(proxy!, "/plain/2", { "x-meshlet-fault-delay": "200ms" });
    assert.equal(d.status, 200);
    assert.ok(d.elapsedMs >= 190, `answered after ${d.elapsedMs.toFixed(0)} ms (header delay 200ms)`);
    assert.equal(JSON.parse(d.body.toString()).headers["x-meshlet-fault-delay"], undefined, "the fault header reached the upstream");
    const both = await get(proxy!, "/plain/3", { "x-meshlet-fault-delay": "100ms", "x-meshlet-fault-abort": "429" });
    assert.equal(both.status, 429);
    assert.ok(both.elapsedMs >= 90);
    const over = await get(proxy!, "/abort/header", { "x-meshlet-fault-abort": "418" });
    assert.equal(over.status, 418, "the header's abort replaces the route's");
    assert.equal(up.count("/plain/1") + up.count("/plain/3"), 0);
    assert.equal(await faults(proxy!, "default", "abort"), 2);
    assert.equal(await faults(proxy!, "default", "delay"), 2);
  });

  t("malformed fault headers are answered 400 bad-fault-header", async () => {
    const bad: Record<string, string>[] = [
      { "x-meshlet-fault-abort": "abc" },
      { "x-meshlet-fault-abort": "600" },
      { "x-meshlet-fault-delay": "soon" },
      { "x-meshlet-fault-delay": "61s" },
      { "x-meshlet-fault-delay": "1.5s" },
    ];
    for (const headers of bad) {
      const r = await get(proxy!, "/plain/bad", headers);
      assert.equal(r.status, 400, JSON.stringify(headers));
      assert.equal(r.headers["x-meshlet-error"], "bad-fault-header", JSON.stringify(headers));
    }
    assert.equal(up.count("/plain/bad"), 0);
  });

  t("header faults are ignored unless headerFaults.enabled", async () => {
    current = off;
    try {
      const a = await get(off!, "/plain/off-1", { "x-meshlet-fault-abort": "502" });
      assert.equal(a.status, 200);
      const d = await get(off!, "/plain/off-2", { "x-meshlet-fault-delay": "800ms" });
      assert.equal(d.status, 200);
      assert.ok(d.elapsedMs < 600, `answered after ${d.elapsedMs.toFixed(0)} ms: the delay header was honoured`);
      const bad = await get(off!, "/plain/off-3", { "x-meshlet-fault-abort": "abc" });
      assert.equal(bad.status, 200);
      // the route's own faults still apply
      assert.equal((await get(off!, "/abort/off")).headers["x-meshlet-error"], "fault-injected");
      assert.equal(await faults(off!, "default", "abort"), 0);
    } finally {
      current = proxy;
    }
  });
});
