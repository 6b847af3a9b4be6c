// Route timeouts and the x-meshlet-timeout header: request (retries included) -> 504 request-timeout, per try ->
// 504 backend-request-timeout (retried on gateway-error), idle -> 504 idle-timeout; a timeout closes the upstream
// connection at once, and after the response head it cuts the client connection. The header shortens the deadline
// on the outbound side only, is stripped before the upstream, and a malformed one is answered 400.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`timeouts [${h.runtime}]`, { timeout: 60_000 }, () => {
  let up: h.ScriptedUpstream, app: h.ScriptedUpstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const rule = (prefix: string, extra: Record<string, unknown>) => ({ matches: [{ path: { type: "PathPrefix", value: prefix } }], ...extra });
  const fastBackoff = { base: "1ms", max: "5ms" };

  before(async () => {
    [up, app] = await Promise.all([h.startScriptedUpstream(), h.startScriptedUpstream()]);
    const firstHang = h.firstTryOfEachUrl({ hang: true });
    up.behave = (r) => {
      if (r.url.includes("/first-hang/")) return firstHang(r);
      if (r.url.includes("/hang/")) return { hang: true };
      if (r.url.includes("/stall/")) return { stream: { chunks: 1, intervalMs: 10, stall: true } };
      if (r.url.includes("/drip/")) return { stream: { chunks: 6, intervalMs: 100 } };
      return {};
    };
    app.behave = () => ({ delayMs: 400 });
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "web", endpoints: [up.addr], failureAccrual: false },
          { name: "plain", endpoints: [up.addr], failureAccrual: false },
        ],
        app: app.addr,
        overrides: {
          accessLog: { enabled: false },
          routes: [
            {
              name: "r-t",
              parentRefs: [{ name: "web" }],
              rules: [
                rule("/req", { timeouts: { request: "300ms" } }),
                rule("/try", { timeouts: { request: "3s", backendRequest: "200ms" }, retry: { attempts: 2, conditions: ["gateway-error"], backoff: fastBackoff } }),
                rule("/try-noretry", { timeouts: { backendRequest: "200ms" } }),
                rule("/cover", { timeouts: { request: "400ms", backendRequest: "250ms" }, retry: { attempts: 5, conditions: ["gateway-error"], backoff: fastBackoff } }),
                rule("/idle", { timeouts: { idle: "250ms" } }),
              ],
            },
          ],
        },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([up?.close(), app?.close()]);
  });

  const get = (path: string, headers: Record<string, string> = {}, host = "web") => h.timedRequest({ port: proxy!.outbound, host, path, headers });
  const tries = (prefix: string) => up.requests.filter((r) => r.url.startsWith(prefix));
  const timeouts = (kind: string, route = "r-t") => h.metricValue(proxy!, "http_route_timeouts_total", { direction: "outbound", route, kind });

  t("a route request timeout answers 504 request-timeout and closes the upstream connection within 100 ms", async () => {
    const r = await get("/req/hang/1");
    assert.equal(r.status, 504);
    assert.equal(r.headers["x-meshlet-error"], "request-timeout");
    assert.ok(r.elapsedMs >= 290 && r.elapsedMs < 1500, `504 after ${r.elapsedMs.toFixed(0)} ms (timeout 300ms)`);
    const [u] = tries("/req/hang/1");
    await h.waitFor(() => u!.abortedAt, 2000, "the upstream to see its connection closed");
    const late = u!.abortedAt! - (r.sentAt + 300);
    assert.ok(late < 100, `the upstream saw the close ${late.toFixed(0)} ms after the deadline`);
    assert.equal(await timeouts("request"), 1);
    // a request that finishes in time is not affected
    assert.equal((await get("/req/fast")).status, 200);
  });

  t("a per-try timeout is retried on gateway-error; the timed-out try's connection is closed", async () => {
    const r = await get("/try/first-hang/1");
    assert.equal(r.status, 200);
    assert.ok(r.elapsedMs >= 190 && r.elapsedMs < 2000, `answered after ${r.elapsedMs.toFixed(0)} ms (per try 200ms)`);
    const [first, second] = tries("/try/first-hang/1");
    assert.ok(first && second, "two tries");
    assert.ok(first!.abortedAt !== undefined, "the first try's connection was not closed");
    const cut = first!.abortedAt! - first!.receivedAt;
    assert.ok(cut >= 150 && cut < 400, `the first try was cut after ${cut.toFixed(0)} ms`);
    assert.ok(second!.answeredAt !== undefined);
    assert.equal(await timeouts("backend-request"), 1);
    assert.equal(await h.metricValue(proxy!, "http_route_retry_requests_total", { route: "r-t" }), 1);
  });

  t("every try timing out: 504 backend-request-timeout after 1 + attempts tries", async () => {
    const r = await get("/try/hang/2");
    assert.equal(r.status, 504);
    assert.equal(r.headers["x-meshlet-error"], "backend-request-timeout");
    assert.ok(r.elapsedMs >= 590 && r.elapsedMs < 3000, `504 after ${r.elapsedMs.toFixed(0)} ms (3 tries of 200ms)`);
    const ts = tries("/try/hang/2");
    assert.equal(ts.length, 3);
    await h.waitFor(() => ts.every((x) => x.abortedAt !== undefined), 2000, "every try's connection to be closed");
    // without a retry policy the first per-try timeout is the answer
    const n = await get("/try-noretry/hang/3");
    assert.equal(n.status, 504);
    assert.equal(n.headers["x-meshlet-error"], "backend-request-timeout");
    assert.ok(n.elapsedMs >= 190 && n.elapsedMs < 1500, `504 after ${n.elapsedMs.toFixed(0)} ms`);
    assert.equal(tries("/try-noretry/hang/3").length, 1);
  });

  t("the request timeout covers the retries", async () => {
    const r = await get("/cover/hang/1");
    assert.equal(r.status, 504);
    assert.equal(r.headers["x-meshlet-error"], "request-timeout");
    assert.ok(r.elapsedMs >= 390 && r.elapsedMs < 1200, `504 after ${r.elapsedMs.toFixed(0)} ms (request 400ms; tries of 250ms x 6 would be 1500)`);
    const ts = tries("/cover/hang/1");
    assert.equal(ts.length, 2, "the second try is cut by the request deadline");
    await h.waitFor(() => ts.every((x) => x.abortedAt !== undefined), 2000, "every try's connection to be closed");
  });

  t("idle timeout: 504 idle-timeout when nothing arrives; a steady slow stream is not idle", async () => {
    const r = await get("/idle/hang/1");
    assert.equal(r.status, 504);
    assert.equal(r.headers["x-meshlet-error"], "idle-timeout");
    assert.ok(r.elapsedMs >= 240 && r.elapsedMs < 1500, `504 after ${r.elapsedMs.toFixed(0)} ms (idle 250ms)`);
    const d = await get("/idle/drip/1");
    assert.equal(d.status, 200);
    assert.ok(d.elapsedMs >= 550, `the 600 ms stream ended after ${d.elapsedMs.toFixed(0)} ms`);
    assert.equal(d.body.toString(), Array.from({ length: 6 }, (_, i) => `chunk ${i}\n`).join(""));
    assert.equal(await timeouts("idle"), 1);
  });

  /** Sends GET `path` on a raw connection; returns once the response head and first chunk are in, then how it ends. */
  const cutAfterHead = async (path: string) => {
    const c = await h.RawConn.open(proxy!.outbound);
    const sent = performance.now();
    c.send(`GET ${path} HTTP/1.1\r\nHost: web\r\n\r\n`);
    await c.until(() => (c.buf.includes("chunk 0") ? true : undefined), 3000, "the response head and first chunk");
    const head = c.buf.toString("latin1");
    assert.match(head, /^HTTP\/1\.1 200 /);
    await c.waitClose(3000);
    const closedAfter = performance.now() - sent;
    c.destroy();
    // the truncated chunked body never got its last chunk
    assert.ok(!c.buf.toString("latin1").includes("\r\n0\r\n\r\n"), "the body looked complete");
    return closedAfter;
  };

  t("a timeout after the response head cuts the client connection (request and idle timeouts)", async () => {
    const idleCut = await cutAfterHead("/idle/stall/1");
    assert.ok(idleCut >= 240 && idleCut < 1500, `cut after ${idleCut.toFixed(0)} ms (idle 250ms)`);
    const reqCut = await cutAfterHead("/req/stall/2");
    assert.ok(reqCut >= 290 && reqCut < 1500, `cut after ${reqCut.toFixed(0)} ms (request 300ms)`);
    const ups = [...tries("/idle/stall/1"), ...tries("/req/stall/2")];
    await h.waitFor(() => ups.every((x) => x.abortedAt !== undefined), 2000, "the upstream connections to be closed");
  });

  t("a client that stalls its request body hits the idle timeout too", async () => {
    const c = await h.RawConn.open(proxy!.outbound);
    const sent = performance.now();
    c.send("POST /idle/upload HTTP/1.1\r\nHost: web\r\nContent-Length: 100\r\n\r\n0123456789");
    const r = await c.readResponse({ timeoutMs: 3000 });
    const after = performance.now() - sent;
    assert.equal(r.status, 504);
    assert.equal(h.header(r, "x-meshlet-error"), "idle-timeout");
    assert.ok(after >= 240 && after < 1500, `504 after ${after.toFixed(0)} ms (idle 250ms)`);
    await c.waitClose(2000); // the rest of the body will never come: the connection cannot go on
    c.destroy();
    const [u] = tries("/idle/upload");
    if (u) await h.waitFor(() => u.abortedAt, 2000, "the upstream request to be cut");
  });

  t("x-meshlet-timeout sets a deadline on the outbound side (ms, s or bare ms) and is stripped", async () => {
    const cases = [["300ms", 300], ["250", 250], ["1s", 1000]] as const;
    const rs = await Promise.all(cases.map(([value]) => get(`/hang/${value}`, { "x-meshlet-timeout": value }, "plain")));
    cases.forEach(([value, ms], i) => {
      const r = rs[i]!;
      assert.equal(r.status, 504, value);
      assert.equal(r.headers["x-meshlet-error"], "request-timeout", value);
      assert.ok(r.elapsedMs >= ms - 10 && r.elapsedMs < ms + 1000, `${value}: 504 after ${r.elapsedMs.toFixed(0)} ms`);
    });
    assert.equal(await timeouts("header", "default"), 3);
    const ok = await get("/fine", { "x-meshlet-timeout": "2s", "x-other": "kept" }, "plain");
    assert.equal(ok.status, 200);
    const seen = JSON.parse(ok.body.toString()).headers;
    assert.equal(seen["x-meshlet-timeout"], undefined, "the header reached the upstream");
    assert.equal(seen["x-other"], "kept");
  });

  t("the shorter of the header and the route timeout applies", async () => {
    const [headerBefore, requestBefore] = [await timeouts("header"), await timeouts("request")];
    const shorter = await get("/req/hang/h1", { "x-meshlet-timeout": "100ms" });
    assert.equal(shorter.status, 504);
    assert.ok(shorter.elapsedMs >= 90 && shorter.elapsedMs < 280, `header 100ms, route 300ms: 504 after ${shorter.elapsedMs.toFixed(0)} ms`);
    const longer = await get("/req/hang/h2", { "x-meshlet-timeout": "5s" });
    assert.equal(longer.status, 504);
    assert.ok(longer.elapsedMs >= 290 && longer.elapsedMs < 1500, `header 5s, route 300ms: 504 after ${longer.elapsedMs.toFixed(0)} ms`);
    assert.equal((await timeouts("header")) - headerBefore, 1, "h1 counts as a header timeout");
    assert.equal((await timeouts("request")) - requestBefore, 1, "h2 counts as a route request timeout");
  });

  t("a malformed x-meshlet-timeout is answered 400 bad-timeout-header", async () => {
    const before = up.requests.length;
    for (const value of ["abc", "0", "-5ms", "1.5s", "10 ms", "5h", ""]) {
      const r = await get("/bad", { "x-meshlet-timeout": value }, "plain");
      assert.equal(r.status, 400, JSON.stringify(value));
      assert.equal(r.headers["x-meshlet-error"], "bad-timeout-header", JSON.stringify(value));
    }
    const twice = await h.curl(["-H", "Host: plain", "-H", "x-meshlet-timeout: 1s", "-H", "x-meshlet-timeout: 2s", `http://127.0.0.1:${proxy!.outbound}/bad`]);
    assert.equal(twice.status, 400);
    assert.equal(h.header(twice, "x-meshlet-error"), "bad-timeout-header");
    assert.equal(up.requests.length, before, "a bad request reached the upstream");
  });

  t("x-meshlet-timeout is not honoured on the inbound side by default", async () => {
    const r = await h.timedRequest({ port: proxy!.port("inbound"), host: "anything", path: "/in", headers: { "x-meshlet-timeout": "100ms" } });
    assert.equal(r.status, 200);
    assert.ok(r.elapsedMs >= 390, `answered after ${r.elapsedMs.toFixed(0)} ms: the app takes 400`);
  });
});
