// Route retries: a flaky backend becomes reliable within the retry budget, a dead one gets only the budget's
// retries, the attempt limit, retry conditions and codes, idempotent methods only, request bodies replayed up to
// bufferLimit (larger ones are never retried), the default route never retries, and the retry metrics.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`retries [${h.runtime}]`, { timeout: 60_000 }, () => {
  let flaky: h.ScriptedUpstream, dead: h.ScriptedUpstream, plain: h.ScriptedUpstream, once: h.ScriptedUpstream;
  let limited: h.ScriptedUpstream, good: h.ScriptedUpstream;
  let proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const fastBackoff = { base: "1ms", max: "5ms" };
  const noBreaker = { failureAccrual: false };

  before(async () => {
    [flaky, dead, plain, once, limited, good] = await Promise.all(Array.from({ length: 6 }, () => h.startScriptedUpstream()));
    flaky.behave = h.failFraction(0.3, 503);
    dead.behave = () => ({ status: 503 });
    plain.behave = () => ({ status: 503 });
    limited.behave = () => ({ status: 503 });
    const first503 = h.firstTryOfEachUrl({ status: 503 });
    const first429 = h.firstTryOfEachUrl({ status: 429 });
    const firstReset = h.firstTryOfEachUrl({ reset: true });
    const firstEarly503 = h.firstTryOfEachUrl({ status: 503, early: true });
    once.behave = (r) =>
      r.url.startsWith("/codes") ? first429(r) : r.url.startsWith("/reset") ? firstReset(r) : r.url.startsWith("/early") ? firstEarly503(r) : first503(r);
    const refused = await h.closedPort();
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          // 30 % failures need about 0.39 retries per request with 2 attempts: more than the default ratio 0.2 gives
          { name: "flaky", endpoints: [flaky.addr], retryBudget: { retryRatio: 0.5 }, ...noBreaker },
          { name: "dead", endpoints: [dead.addr], retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 1, ttl: "10s" }, ...noBreaker },
          { name: "plain", endpoints: [plain.addr], ...noBreaker },
          { name: "once", endpoints: [once.addr], ...noBreaker },
          { name: "limited", endpoints: [limited.addr], ...noBreaker },
          { name: "conn", endpoints: [refused, good.addr], balancer: "round-robin", ...noBreaker },
        ],
        overrides: {
          accessLog: { enabled: false },
          routes: [
            { name: "r-flaky", parentRefs: [{ name: "flaky" }], rules: [{ retry: { attempts: 5, conditions: ["gateway-error"], backoff: fastBackoff } }] },
            { name: "r-dead", parentRefs: [{ name: "dead" }], rules: [{ retry: { attempts: 2, backoff: fastBackoff } }] },
            { name: "r-limited", parentRefs: [{ name: "limited" }], rules: [{ retry: { attempts: 2, backoff: fastBackoff } }] },
            { name: "r-conn", parentRefs: [{ name: "conn" }], rules: [{ retry: { attempts: 2, conditions: ["connect-failure"], backoff: fastBackoff } }] },
            {
              name: "r-once",
              parentRefs: [{ name: "once" }],
              rules: [
                { matches: [{ path: { value: "/codes" } }], retry: { codes: [429], conditions: [], backoff: fastBackoff } },
                { matches: [{ path: { value: "/nocond" } }], retry: { conditions: ["reset"], backoff: fastBackoff } },
                { retry: { attempts: 2, bufferLimit: 1024, backoff: fastBackoff } },
              ],
            },
          ],
        },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([flaky, dead, plain, once, limited, good].map((u) => u?.close()));
  });

  const route = (r: string) => ({ direction: "outbound", route: r });
  const retryMetrics = async (r: string) => {
    const m = await h.scrape(proxy!);
    return {
      retries: h.sumMetric(m, "http_route_retry_requests_total", route(r)),
      successes: h.sumMetric(m, "http_route_retry_successes_total", route(r)),
      limit: h.sumMetric(m, "http_route_retry_limit_exceeded_total", route(r)),
      overflow: h.sumMetric(m, "http_route_retry_overflow_total", route(r)),
    };
  };

  /** A PUT whose body is sent in `parts` chunks (no content-length: chunked), `gapMs` apart. */
  const chunkedPut = async (path: string, body: Buffer, parts = 2, gapMs = 20) => (await chunkedPutTimed(path, body, parts, gapMs)).status;
  /** chunkedPut, also telling when the last part was written (performance.now()). */
  const chunkedPutTimed = (path: string, body: Buffer, parts: number, gapMs: number) =>
    new Promise<{ status: number; lastPartAt: number }>((res, rej) => {
      let lastPartAt = 0;
      const req = http.request({ host: h.HOST, port: proxy!.outbound, method: "PUT", path, headers: { host: "once" }, agent: false }, (resp) => {
        resp.resume();
        resp.on("end", () => res({ status: resp.statusCode!, lastPartAt }));
      });
      req.on("error", rej);
      const size = Math.ceil(body.length / parts);
      const send = (i: number) => {
        const chunk = body.subarray(i * size, (i + 1) * size);
        if (i === parts - 1) {
          lastPartAt = performance.now();
          req.end(chunk);
        } else {
          req.write(chunk);
          setTimeout(() => send(i + 1), gapMs);
        }
      };
      send(0);
    });

  t("retries turn a backend failing 30 % of requests into >= 99 % success, within the budget", async () => {
    const n = 600;
    const rs = await h.bulk({ port: proxy!.outbound, host: "flaky", total: n, concurrency: 8, path: (i) => `/flaky/${i}` });
    const by = h.tally(rs, (r) => r.status);
    assert.ok((by["200"] ?? 0) >= 0.99 * n, `only ${by["200"] ?? 0}/${n} succeeded: ${JSON.stringify(by)}`);
    const failedFirst = flaky.requests.filter((r) => r.behaviour.status === 503).length;
    assert.ok(failedFirst > 0.2 * n, `the upstream failed only ${failedFirst} tries`);
    // every upstream request beyond one per client request is a retry
    const m = await retryMetrics("r-flaky");
    assert.equal(m.retries, flaky.requests.length - n, JSON.stringify(m));
    assert.equal(m.overflow, 0, `the budget refused retries: ${JSON.stringify(m)}`);
    const triesPerUrl = h.tally(flaky.requests, (r) => r.url);
    const retried = rs.filter((r) => r.status === 200 && (triesPerUrl[JSON.parse(r.body.toString()).url] ?? 0) > 1).length;
    assert.equal(m.successes, retried, `retry successes ${JSON.stringify(m)} vs ${retried} retried requests that succeeded`);
  });

  t("a backend failing every request gets only the retry budget's retries (ratio x requests + reserve)", async () => {
    const n = 200;
    const rs = await h.bulk({ port: proxy!.outbound, host: "dead", total: n, concurrency: 4, path: (i) => `/dead/${i}` });
    assert.deepEqual(h.tally(rs, (r) => r.status), { "503": n });
    const m = await retryMetrics("r-dead");
    const budget = 0.2 * n + 1 * 10; // retryRatio x requests + minRetriesPerSecond x ttl
    assert.equal(dead.requests.length - n, m.retries, `upstream saw ${dead.requests.length} for ${n} requests; ${JSON.stringify(m)}`);
    assert.ok(m.retries <= budget && m.retries >= budget - 4, `${m.retries} retries, the budget allows ${budget} (2 attempts would be ${2 * n})`);
    assert.equal(m.overflow + m.limit, n, `every request ends refused by the budget or the limit: ${JSON.stringify(m)}`);
    assert.ok(m.overflow >= n - budget, JSON.stringify(m));
    assert.equal(m.successes, 0);
  });

  t("the attempt limit: 1 + attempts tries, then the failure is answered", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await h.httpRequest({ port: proxy!.outbound, host: "limited", path: `/limited/${i}` });
      assert.equal(r.status, 503);
      assert.equal(r.headers["x-meshlet-error"], undefined, "the upstream's own 503 is passed on");
    }
    assert.equal(limited.requests.length, 15);
    const m = await retryMetrics("r-limited");
    assert.deepEqual(m, { retries: 10, successes: 0, limit: 5, overflow: 0 });
  });

  t("the default route (no matching route) never retries", async () => {
    for (let i = 0; i < 5; i++) assert.equal((await h.httpRequest({ port: proxy!.outbound, host: "plain", path: `/p/${i}` })).status, 503);
    assert.equal(plain.requests.length, 5);
    const m = await h.scrape(proxy!);
    assert.equal(h.sumMetric(m, "http_route_retry_requests_total", { route: "default" }), 0);
    assert.equal(h.sumMetric(m, "http_route_retry_requests_total", { service: "plain" }), 0);
  });

  t("connect failures and resets are retried on the default conditions", async () => {
    // one at a time: round-robin alternates, so each request tries the refused endpoint first and retries on the other
    const rs = await h.bulk({ port: proxy!.outbound, host: "conn", total: 20, concurrency: 1, path: (i) => `/conn/${i}` });
    assert.deepEqual(h.tally(rs, (r) => r.status), { "200": 20 });
    assert.ok((await retryMetrics("r-conn")).retries >= 10);
    const r = await h.httpRequest({ port: proxy!.outbound, host: "once", path: "/reset/1" });
    assert.equal(r.status, 200);
    assert.equal(once.count("/reset/1"), 2);
  });

  t("retry conditions and extra codes decide what is retried", async () => {
    // codes: [429] with no conditions: a 429 is retried
    const c = await h.httpRequest({ port: proxy!.outbound, host: "once", path: "/codes/1" });
    assert.equal(c.status, 200);
    assert.equal(once.count("/codes/1"), 2);
    // conditions [reset] only: a 503 is not retried
    const n = await h.httpRequest({ port: proxy!.outbound, host: "once", path: "/nocond/1" });
    assert.equal(n.status, 503);
    assert.equal(once.count("/nocond/1"), 1);
  });

  t("only idempotent methods are retried by default", async () => {
    for (const method of ["GET", "HEAD", "DELETE", "OPTIONS"]) {
      const r = await h.httpRequest({ port: proxy!.outbound, host: "once", method, path: `/m/${method}` });
      assert.equal(r.status, 200, method);
      assert.equal(once.count(`/m/${method}`), 2, method);
    }
    for (const method of ["POST", "PATCH"]) {
      const r = await h.httpRequest({ port: proxy!.outbound, host: "once", method, path: `/m/${method}`, body: "payload" });
      assert.equal(r.status, 503, method);
      assert.equal(once.count(`/m/${method}`), 1, `${method} was retried`);
    }
  });

  t("a request body up to bufferLimit is replayed on the retry, byte for byte", async () => {
    const body = h.patternChunk(0, 1000);
    const r = await h.httpRequest({ port: proxy!.outbound, host: "once", method: "PUT", path: "/body/sized", body });
    assert.equal(r.status, 200);
    const tries = once.requests.filter((x) => x.url === "/body/sized");
    assert.equal(tries.length, 2);
    for (const x of tries) {
      assert.equal(x.bodyBytes, 1000);
      assert.equal(x.bodySha256, h.sha256(body));
    }
    // a chunked body (length unknown up front) that stays under the limit is replayed too
    assert.equal(await chunkedPut("/body/chunked", h.patternChunk(0, 600)), 200);
    const ctries = once.requests.filter((x) => x.url === "/body/chunked");
    assert.equal(ctries.length, 2);
    for (const x of ctries) assert.equal(x.bodySha256, h.sha256(h.patternChunk(0, 600)));
  });

  t("a try that fails while the body is still arriving is retried with what was sent, then the rest", async () => {
    const body = h.patternChunk(0, 900);
    // the first try is answered 503 as soon as its head arrives; the client is still sending
    const r = await chunkedPutTimed("/early/1", body, 3, 150);
    assert.equal(r.status, 200);
    const ts = once.requests.filter((x) => x.url === "/early/1");
    assert.equal(ts.length, 2);
    assert.ok(ts[1]!.receivedAt < r.lastPartAt, "the retry started only after the whole body was sent");
    assert.equal(ts[1]!.bodyBytes, 900);
    assert.equal(ts[1]!.bodySha256, h.sha256(body), "the retry carried the whole body");
  });

  t("a request body larger than bufferLimit streams and is never retried", async () => {
    const body = h.patternChunk(0, 4096);
    const r = await h.httpRequest({ port: proxy!.outbound, host: "once", method: "PUT", path: "/body/big", body });
    assert.equal(r.status, 503);
    const tries = once.requests.filter((x) => x.url === "/body/big");
    assert.equal(tries.length, 1);
    assert.equal(tries[0]!.bodySha256, h.sha256(body), "the body was streamed intact");
    // the same with a chunked body that grows past the limit
    assert.equal(await chunkedPut("/body/big-chunked", body), 503);
    const ctries = once.requests.filter((x) => x.url === "/body/big-chunked");
    assert.equal(ctries.length, 1);
    assert.equal(ctries[0]!.bodySha256, h.sha256(body));
  });

  t("a failure not retried because the body was too large counts as retry overflow (sized or chunked)", async () => {
    const body = h.patternChunk(0, 4096);
    let before = await retryMetrics("r-once");
    assert.equal(await chunkedPut("/body/big-chunked-2", body), 503);
    let after = await retryMetrics("r-once");
    assert.equal(after.overflow - before.overflow, 1, "chunked body past bufferLimit");
    before = after;
    const r = await h.httpRequest({ port: proxy!.outbound, host: "once", method: "PUT", path: "/body/big-2", body });
    assert.equal(r.status, 503);
    after = await retryMetrics("r-once");
    assert.equal(after.overflow - before.overflow, 1, "content-length body past bufferLimit");
    assert.equal(after.retries, before.retries);
  });

  t("retry successes are counted per route and backend service", async () => {
    const m = await h.scrape(proxy!);
    const s = m.filter((x) => x.name === "http_route_retry_successes_total" && x.labels.route === "r-once");
    assert.ok(s.length >= 1, "no retry success series for r-once");
    for (const x of s) assert.deepEqual({ ...x.labels }, { direction: "outbound", route: "r-once", service: "once" });
  });
});
