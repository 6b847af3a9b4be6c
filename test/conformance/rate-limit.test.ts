// Route rate limits (token buckets): the admitted rate holds within 5 % under concurrent hammering, the burst is
// the bucket size, 429 rate-limited carries Retry-After in seconds, perClient: address keeps one bucket per
// client address (none: one bucket for everybody), and http_route_rate_limited_total counts the refusals.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`rate limits [${h.runtime}]`, { timeout: 60_000 }, () => {
  let up: h.ScriptedUpstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const rule = (prefix: string, rateLimit: Record<string, unknown>) => ({ matches: [{ path: { type: "PathPrefix", value: prefix } }], rateLimit });

  before(async () => {
    up = await h.startScriptedUpstream();
    proxy = await h.startProxy(
      h.makeConfig({
        services: [{ name: "web", endpoints: [up.addr] }],
        overrides: {
          accessLog: { enabled: false },
          routes: [
            { name: "r-rate", parentRefs: [{ name: "web" }], rules: [rule("/rate", { requestsPerSecond: 50, burst: 1 })] },
            {
              name: "r-other",
              parentRefs: [{ name: "web" }],
              rules: [
                rule("/burst", { requestsPerSecond: 1, burst: 5 }),
                rule("/slow", { requestsPerSecond: 0.5, burst: 1 }),
                rule("/per-client", { requestsPerSecond: 1, burst: 2, perClient: "address" }),
              ],
            },
          ],
        },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await up?.close();
  });

  t("50 requests per second, burst 1: hammered for 3 s by 4 clients, the admitted count is within 5 %", async () => {
    const rs = await h.bulk({ port: proxy!.outbound, durationMs: 3000, concurrency: 4, path: (i) => `/rate/${i}` });
    // the bucket starts full and cannot fill past the burst while the clients connect: count from the first
    // admitted request (as the upstream saw it) to the last request sent
    const start = up.requests.find((r) => r.url.startsWith("/rate/"))!.receivedAt;
    const end = Math.max(...rs.map((r) => r.sentAt));
    const elapsedS = (end - start) / 1000;
    const by = h.tally(rs, (r) => r.status);
    const admitted = by["200"] ?? 0;
    const refused = rs.filter((r) => r.status === 429);
    assert.equal(admitted + refused.length, rs.length, `statuses: ${JSON.stringify(by)}`);
    assert.ok(refused.length > 3 * admitted, `the proxy was not hammered hard enough: ${JSON.stringify(by)}`);
    const expected = 1 + 50 * elapsedS;
    assert.ok(Math.abs(admitted - expected) <= 0.05 * expected, `${admitted} admitted in ${elapsedS.toFixed(3)} s; expected ${expected.toFixed(1)} ± 5 %`);
    assert.equal(up.count("/rate/"), admitted, "every admitted request reached the upstream, no refused one did");
    for (const r of refused) {
      assert.equal(r.headers["x-meshlet-error"], "rate-limited");
      assert.match(String(r.headers["retry-after"]), /^[1-9][0-9]*$/);
    }
    assert.equal(await h.metricValue(proxy!, "http_route_rate_limited_total", { direction: "outbound", route: "r-rate", service: "web" }), refused.length);
  });

  t("the burst is the bucket size; one bucket for every client when perClient is none", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await h.httpRequest({ port: proxy!.outbound, path: `/burst/${i}` })).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429]);
    const other = await h.bulk({ port: proxy!.outbound, path: "/burst/other", total: 1, concurrency: 1, localAddress: "127.0.0.3" });
    assert.equal(other[0]!.status, 429, "another client address shares the bucket");
  });

  t("429 carries Retry-After: the wait for the next token, in whole seconds", async () => {
    assert.equal((await h.httpRequest({ port: proxy!.outbound, path: "/slow/1" })).status, 200);
    const r = await h.curl(["-H", "Host: web", `http://127.0.0.1:${proxy!.outbound}/slow/2`]);
    assert.equal(r.status, 429);
    assert.equal(h.header(r, "x-meshlet-error"), "rate-limited");
    assert.equal(h.header(r, "retry-after"), "2", "0.5 requests per second: the next token is 2 s away");
    const fast = await h.httpRequest({ port: proxy!.outbound, path: "/burst/again" });
    assert.equal(fast.status, 429);
    assert.equal(fast.headers["retry-after"], "1");
  });

  t("perClient: address keeps one bucket per client address", async () => {
    for (const addr of ["127.0.0.1", "127.0.0.2", "127.0.0.4"]) {
      const rs = await h.bulk({ port: proxy!.outbound, path: (i) => `/per-client/${addr}/${i}`, total: 3, concurrency: 1, localAddress: addr });
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 429], `client ${addr}`);
    }
    assert.ok((await h.metricValue(proxy!, "http_route_rate_limited_total", { route: "r-other", service: "web" })) >= 6);
  });
});
