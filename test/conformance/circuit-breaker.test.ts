// Failure accrual (the per-endpoint circuit breaker): consecutive failures eject an endpoint, one probe goes to
// it after the probation backoff (doubling after a failed probe), a successful probe readmits it; every endpoint
// ejected -> 503 fail-fast; connect failures and timeouts count, 4xx do not; the ejection metrics and gauges.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`circuit breaker [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.ScriptedUpstream, b: h.ScriptedUpstream, e: h.ScriptedUpstream, solo: h.ScriptedUpstream, p: h.ScriptedUpstream;
  let stuck: h.ScriptedUpstream, notFound: h.ScriptedUpstream, never: h.ScriptedUpstream, resets: h.ScriptedUpstream;
  let refused: string;
  let proxy: h.ProxyProcess | undefined;
  let bFailing = true;
  let pMode: "fail" | "hang" | "ok" = "fail";
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const breaker = (consecutiveFailures: number, minBackoff: string) => ({ consecutiveFailures, minBackoff, maxBackoff: "10s", jitter: 0 });

  before(async () => {
    [a, b, e, solo, stuck, notFound, never, p, resets] = await Promise.all(Array.from({ length: 9 }, () => h.startScriptedUpstream()));
    resets.behave = () => ({ reset: true });
    p.behave = () => (pMode === "fail" ? { status: 502 } : pMode === "hang" ? { hang: true } : {});
    b.behave = () => (bFailing ? { status: 503 } : {});
    e.behave = () => ({ status: 500 });
    solo.behave = () => ({ status: 503 });
    stuck.behave = () => ({ hang: true });
    notFound.behave = () => ({ status: 404 });
    never.behave = () => ({ status: 503 });
    refused = await h.closedPort();
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "pair", endpoints: [a.addr, b.addr], balancer: "round-robin", failureAccrual: breaker(3, "300ms") },
          { name: "pair2", endpoints: [a.addr, e.addr], balancer: "round-robin", failureAccrual: breaker(3, "300ms") },
          { name: "pair3", endpoints: [a.addr, p.addr], balancer: "round-robin", failureAccrual: breaker(3, "300ms") },
          { name: "solo", endpoints: [solo.addr], failureAccrual: breaker(3, "10s") },
          { name: "gone", endpoints: [refused], failureAccrual: breaker(2, "10s") },
          { name: "stuck", endpoints: [stuck.addr], failureAccrual: breaker(2, "10s") },
          { name: "resets", endpoints: [resets.addr], failureAccrual: breaker(2, "10s") },
          { name: "not-found", endpoints: [notFound.addr], failureAccrual: breaker(2, "10s") },
          { name: "never", endpoints: [never.addr], failureAccrual: false },
        ],
        overrides: {
          accessLog: { enabled: false },
          routes: [{ name: "r-stuck", parentRefs: [{ name: "stuck" }], rules: [{ timeouts: { backendRequest: "100ms" } }] }],
        },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([a, b, e, solo, stuck, notFound, never, p, resets].map((u) => u?.close()));
  });

  const get = (host: string, path: string) => h.httpRequest({ port: proxy!.outbound, host, path });
  const breakerState = async (service: string, endpoint: string) => {
    const m = await h.scrape(proxy!);
    return m.filter((s) => s.name === "http_endpoint_breaker_state" && s.labels.service === service && s.labels.endpoint === endpoint && s.value === 1).map((s) => s.labels.state);
  };
  /** Sends requests to `host` every ~15 ms until `done()`; returns their statuses and upstream ports. */
  const trafficUntil = async (host: string, done: () => boolean, timeoutMs: number, what: string) => {
    const seen: string[] = [];
    const deadline = performance.now() + timeoutMs;
    for (let i = 0; !done(); i++) {
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; responses: ${seen.join(" ")}`);
      const r = await get(host, `/traffic/${i}`);
      seen.push(`${r.status}@${r.headers["x-upstream"] ?? r.headers["x-meshlet-error"]}`);
      await h.sleep(15);
    }
    return seen;
  };

  t("3 consecutive failures eject an endpoint; a probe after minBackoff readmits it", async () => {
    for (let i = 0; i < 6; i++) await get("pair", `/warm/${i}`); // round-robin: 3 to each, B fails all 3
    assert.equal(b.requests.length, 3);
    const ejectedAt = b.requests[2]!.answeredAt!;
    const m = await h.scrape(proxy!);
    assert.equal(h.sumMetric(m, "http_endpoint_ejections_total", { service: "pair", endpoint: b.addr }), 1);
    assert.equal(h.sumMetric(m, "http_balancer_endpoints", { service: "pair", endpoint_state: "ejected" }), 1);
    assert.equal(h.sumMetric(m, "http_balancer_endpoints", { service: "pair", endpoint_state: "ready" }), 1);
    assert.deepEqual(await breakerState("pair", b.addr), ["open"]);

    bFailing = false; // the probe will succeed
    const seen = await trafficUntil("pair", () => b.requests.length >= 4, 3000, "the probe to reach the ejected endpoint");
    const probe = b.requests[3]!;
    const wait = probe.receivedAt - ejectedAt;
    assert.ok(wait >= 290, `the probe came ${wait.toFixed(0)} ms after the ejection (minBackoff 300ms, jitter 0)`);
    assert.ok(wait < 1500, `the probe came only ${wait.toFixed(0)} ms after the ejection`);
    assert.ok(seen.slice(0, -1).every((s) => s === `200@${a.port}`), `while ejected, everything goes to the other endpoint: ${seen.join(" ")}`);
    assert.equal(seen.at(-1), `200@${b.port}`, "the probe's answer reaches the client");

    // readmitted: both endpoints share the traffic again
    const after: string[] = [];
    for (let i = 0; i < 10; i++) after.push(String((await get("pair", `/after/${i}`)).headers["x-upstream"]));
    assert.equal(after.filter((p) => p === String(b.port)).length, 5, `after the probe: ${after.join(",")}`);
    assert.deepEqual(await breakerState("pair", b.addr), ["closed"]);
    assert.equal(await h.metricValue(proxy!, "http_balancer_endpoints", { service: "pair", endpoint_state: "ejected" }), 0);
  });

  t("a failed probe ejects the endpoint again, for twice the backoff", async () => {
    for (let i = 0; i < 6; i++) await get("pair2", `/warm/${i}`);
    assert.equal(e.requests.length, 3);
    const firstEjection = e.requests[2]!.answeredAt!;
    await trafficUntil("pair2", () => e.requests.length >= 5, 5000, "two probes");
    const probe1 = e.requests[3]!;
    const probe2 = e.requests[4]!;
    assert.ok(probe1.receivedAt - firstEjection >= 290, `probe 1 after ${(probe1.receivedAt - firstEjection).toFixed(0)} ms (want >= 300)`);
    const second = probe2.receivedAt - probe1.answeredAt!;
    assert.ok(second >= 590, `probe 2 came ${second.toFixed(0)} ms after probe 1 failed (want >= 600: the backoff doubles)`);
    assert.ok(second < 2000, `probe 2 came only ${second.toFixed(0)} ms after probe 1 failed`);
    assert.equal(await h.metricValue(proxy!, "http_endpoint_ejections_total", { service: "pair2", endpoint: e.addr }), 3);
  });

  t("a probe abandoned by its client leaves the endpoint ejected, with the probe due again", async () => {
    for (let i = 0; i < 6; i++) await get("pair3", `/warm/${i}`);
    assert.equal(p.requests.length, 3);
    assert.deepEqual(await breakerState("pair3", p.addr), ["open"]);
    pMode = "hang";
    await h.sleep(400); // past the 300 ms probation: the next request is the probe
    const c = await h.RawConn.open(proxy!.outbound);
    c.send("GET /probe/abandoned HTTP/1.1\r\nHost: pair3\r\n\r\n");
    await h.waitFor(() => p.count("/probe/abandoned") === 1, 3000, "the probe to reach the ejected endpoint");
    assert.deepEqual(await breakerState("pair3", p.addr), ["half-open"]);
    c.socket.resetAndDestroy();
    await h.waitFor(() => p.requests[3]!.abortedAt, 3000, "the abandoned probe to be cut at the upstream");
    await h.waitFor(async () => (await breakerState("pair3", p.addr))[0] === "open", 3000, "the breaker to be open again");
    pMode = "ok";
    // the next request probes at once (no new probation), succeeds, and readmits the endpoint
    const r = await get("pair3", "/probe/again");
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-upstream"], String(p.port));
    assert.deepEqual(await breakerState("pair3", p.addr), ["closed"]);
    assert.equal(await h.metricValue(proxy!, "http_endpoint_ejections_total", { service: "pair3", endpoint: p.addr }), 1);
  });

  t("503 fail-fast when every endpoint is ejected; the upstream is not contacted", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await get("solo", `/f/${i}`);
      assert.equal(r.status, 503);
      assert.equal(r.headers["x-meshlet-error"], undefined, "the upstream's own 503");
    }
    for (let i = 0; i < 3; i++) {
      const r = await get("solo", `/ff/${i}`);
      assert.equal(r.status, 503);
      assert.equal(r.headers["x-meshlet-error"], "fail-fast");
    }
    const c = await h.curl(["-H", "Host: solo", `http://127.0.0.1:${proxy!.outbound}/curl`]);
    assert.equal(c.status, 503);
    assert.equal(h.header(c, "x-meshlet-error"), "fail-fast");
    assert.equal(solo.requests.length, 3);
    const m = await h.scrape(proxy!);
    assert.equal(h.sumMetric(m, "http_service_fail_fast_total", { direction: "outbound", service: "solo" }), 4);
    assert.equal(h.sumMetric(m, "http_balancer_endpoints", { service: "solo", endpoint_state: "ejected" }), 1);
    assert.equal(h.sumMetric(m, "http_balancer_endpoints", { service: "solo", endpoint_state: "ready" }), 0);
  });

  t("connect failures, resets and per-try timeouts count as failures", async () => {
    assert.equal((await get("gone", "/1")).headers["x-meshlet-error"], "connect-refused");
    assert.equal((await get("gone", "/2")).headers["x-meshlet-error"], "connect-refused");
    const g = await get("gone", "/3");
    assert.equal(g.status, 503);
    assert.equal(g.headers["x-meshlet-error"], "fail-fast");

    for (let i = 0; i < 2; i++) {
      const r = await get("stuck", `/s/${i}`);
      assert.equal(r.status, 504);
      assert.equal(r.headers["x-meshlet-error"], "backend-request-timeout");
    }
    const s = await get("stuck", "/s/3");
    assert.equal(s.status, 503);
    assert.equal(s.headers["x-meshlet-error"], "fail-fast");
    assert.equal(stuck.requests.length, 2);

    for (let i = 0; i < 2; i++) assert.equal((await get("resets", `/r/${i}`)).headers["x-meshlet-error"], "upstream-reset");
    assert.equal((await get("resets", "/r/3")).headers["x-meshlet-error"], "fail-fast");
    assert.equal(resets.requests.length, 2);
  });

  t("4xx responses do not count; failureAccrual: false never ejects", async () => {
    for (let i = 0; i < 6; i++) assert.equal((await get("not-found", `/n/${i}`)).status, 404);
    assert.equal(notFound.requests.length, 6);
    for (let i = 0; i < 12; i++) {
      const r = await get("never", `/n/${i}`);
      assert.equal(r.status, 503);
      assert.equal(r.headers["x-meshlet-error"], undefined);
    }
    assert.equal(never.requests.length, 12);
    const m = await h.scrape(proxy!);
    assert.equal(h.sumMetric(m, "http_endpoint_ejections_total", { service: "not-found" }), 0);
    assert.equal(h.sumMetric(m, "http_endpoint_ejections_total", { service: "never" }), 0);
    assert.equal(h.sumMetric(m, "http_balancer_endpoints", { service: "never", endpoint_state: "ready" }), 1);
  });
});
