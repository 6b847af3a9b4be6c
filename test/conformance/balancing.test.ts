// Every balancer kind end to end: peak-EWMA P2C (the default) avoids a slow endpoint, round-robin alternates,
// weighted-round-robin follows the weights, least-request avoids a busy endpoint, hash (header, cookie, client
// address) is sticky; the http_balancer_endpoints gauge shows each service's balancer and ready endpoints.
import assert from "node:assert/strict";
import type http from "node:http";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`balancing [${h.runtime}]`, { timeout: 60_000 }, () => {
  let fast: h.ScriptedUpstream, slow: h.ScriptedUpstream;
  let l1: h.ScriptedUpstream, l2: h.ScriptedUpstream;
  let w1: h.ScriptedUpstream, w3: h.ScriptedUpstream;
  let k: h.ScriptedUpstream[];
  let proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const ep = (u: { port: number }, weight?: number) => ({ host: h.HOST, port: u.port, ...(weight === undefined ? {} : { weight }) });

  before(async () => {
    [fast, slow, l1, l2, w1, w3, ...k] = await Promise.all(Array.from({ length: 9 }, () => h.startScriptedUpstream()));
    slow.behave = () => ({ delayMs: 50 + Math.floor(Math.random() * 51) });
    const hold = (r: h.ScriptedRequest): h.Behaviour => (r.url.startsWith("/hold") ? { hang: true } : {});
    l1.behave = hold;
    l2.behave = hold;
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "ewma", endpoints: [fast.addr, slow.addr] }, // the default balancer
          { name: "rr", endpoints: [k[0]!.addr, k[1]!.addr], balancer: "round-robin" },
          { name: "wrr", endpoints: [ep(w1, 1), ep(w3, 3)], balancer: "weighted-round-robin" },
          { name: "least", endpoints: [l1.addr, l2.addr], balancer: "least-request" },
          { name: "by-header", endpoints: k.map((u) => u.addr), balancer: { kind: "hash", hashOn: { header: "x-user" } } },
          { name: "by-cookie", endpoints: k.map((u) => u.addr), balancer: { kind: "hash", hashOn: { cookie: "s" } } },
          { name: "by-addr", endpoints: k.map((u) => u.addr), balancer: { kind: "hash", hashOn: { clientAddress: true } } },
        ],
        overrides: { accessLog: { enabled: false } },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([fast, slow, l1, l2, w1, w3, ...(k ?? [])].map((u) => u?.close()));
  });

  const upstreamOf = (r: { status: number; headers: http.IncomingHttpHeaders }) => (r.status === 200 ? String(r.headers["x-upstream"]) : `status ${r.status}`);

  t("peak-EWMA P2C (the default) sends >= 90 % of the traffic away from a slow endpoint", async () => {
    const rs = await h.bulk({ port: proxy!.outbound, host: "ewma", total: 600, concurrency: 8 });
    const by = h.tally(rs, upstreamOf);
    const toFast = by[String(fast.port)] ?? 0;
    const toSlow = by[String(slow.port)] ?? 0;
    assert.equal(toFast + toSlow, 600, JSON.stringify(by));
    assert.ok(toSlow > 0, "the slow endpoint was never tried");
    assert.ok(toFast / 600 >= 0.9, `fast ${toFast}, slow ${toSlow}: less than 90 % avoided the slow endpoint`);
  });

  t("round-robin alternates between the endpoints", async () => {
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) seen.push(upstreamOf(await h.httpRequest({ port: proxy!.outbound, host: "rr", path: `/rr/${i}` })));
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `not alternating: ${seen.join(",")}`);
    assert.deepEqual(new Set(seen), new Set([String(k[0]!.port), String(k[1]!.port)]));
  });

  t("weighted-round-robin follows the endpoint weights (1:3)", async () => {
    const rs = await h.bulk({ port: proxy!.outbound, host: "wrr", total: 400, concurrency: 4 });
    const by = h.tally(rs, upstreamOf);
    assert.equal((by[String(w1.port)] ?? 0) + (by[String(w3.port)] ?? 0), 400, JSON.stringify(by));
    assert.ok(Math.abs((by[String(w1.port)] ?? 0) - 100) <= 4, `weight 1 got ${by[String(w1.port)]} of 400 (want 100): ${JSON.stringify(by)}`);
  });

  t("least-request avoids an endpoint that has a request in flight", async () => {
    const holder = await h.RawConn.open(proxy!.outbound);
    holder.send("GET /hold HTTP/1.1\r\nHost: least\r\n\r\n");
    try {
      const busy = await h.waitFor(() => [l1, l2].find((u) => u.count("/hold") === 1), 5000, "the held request to reach an endpoint");
      const idle = busy === l1 ? l2 : l1;
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) seen.push(upstreamOf(await h.httpRequest({ port: proxy!.outbound, host: "least", path: `/q/${i}` })));
      assert.deepEqual(new Set(seen), new Set([String(idle.port)]), `requests while ${busy.port} was busy: ${seen.join(",")}`);
    } finally {
      // the client gives up (a reset; a FIN cancels too, unless clientHalfClose is set)
      holder.socket.resetAndDestroy();
    }
    // the held request's client went away: its upstream request is cut, and both endpoints are eligible again
    await h.waitFor(() => [l1, l2].every((u) => u.inFlight === 0), 3000, "the held upstream request to be cut");
    const rs = await h.bulk({ port: proxy!.outbound, host: "least", total: 60, concurrency: 1 });
    const by = h.tally(rs, upstreamOf);
    assert.ok((by[String(l1.port)] ?? 0) > 0 && (by[String(l2.port)] ?? 0) > 0, `after release: ${JSON.stringify(by)}`);
  });

  /** Sends `rounds` requests per key; returns key -> the set of endpoints that answered it. */
  const stickiness = async (keys: string[], rounds: number, send: (key: string, i: number) => Promise<h.HttpResult | h.BulkResult>) => {
    const seen = new Map<string, Set<string>>();
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        keys.map(async (key) => {
          const r = await send(key, round);
          assert.equal(r.status, 200, `${key}: ${r.status} ${r.body.toString().slice(0, 200)}`);
          let s = seen.get(key);
          if (!s) seen.set(key, (s = new Set()));
          s.add(upstreamOf(r));
        }),
      );
    }
    const notSticky = [...seen].filter(([, s]) => s.size !== 1).map(([key, s]) => `${key}: ${[...s].join(",")}`);
    assert.deepEqual(notSticky, [], "keys answered by more than one endpoint");
    return new Set([...seen.values()].map((s) => [...s][0]!));
  };

  t("hash on a header is sticky per header value and spreads the values", async () => {
    const agent = h.keepAliveAgent(8);
    try {
      const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
      const used = await stickiness(users, 4, (u, i) => h.httpRequest({ port: proxy!.outbound, host: "by-header", path: `/h/${i}`, headers: { "x-user": u }, agent }));
      assert.equal(used.size, 3, `40 users over 3 endpoints used only ${[...used].join(",")}`);
      // without the header the request still goes somewhere
      const r = await h.httpRequest({ port: proxy!.outbound, host: "by-header", path: "/no-key", agent });
      assert.equal(r.status, 200);
    } finally {
      agent.destroy();
    }
  });

  t("hash on a cookie is sticky per cookie value", async () => {
    const agent = h.keepAliveAgent(8);
    try {
      const sessions = Array.from({ length: 40 }, (_, i) => `sess${i}`);
      const used = await stickiness(sessions, 4, (s, i) =>
        h.httpRequest({ port: proxy!.outbound, host: "by-cookie", path: `/c/${i}`, headers: { cookie: `a=${i}; s=${s}; z=${i * 7}` }, agent }),
      );
      assert.ok(used.size >= 2, `40 sessions all went to ${[...used].join(",")}`);
    } finally {
      agent.destroy();
    }
  });

  t("hash on the client address is sticky per address", async () => {
    // every 127.0.0.0/8 address is loopback on Linux: 24 client addresses, 3 requests each on fresh connections
    const addrs = Array.from({ length: 24 }, (_, i) => `127.0.0.${i + 1}`);
    const used = await stickiness(addrs, 3, async (a, i) => (await h.bulk({ port: proxy!.outbound, host: "by-addr", path: `/a/${i}`, total: 1, concurrency: 1, localAddress: a }))[0]!);
    assert.ok(used.size >= 2, `24 client addresses all went to ${[...used].join(",")}`);
  });

  t("http_balancer_endpoints shows each service's balancer and ready endpoints", async () => {
    const m = await h.scrape(proxy!);
    const ready = (service: string, balancer: string) => h.sumMetric(m, "http_balancer_endpoints", { service, balancer, endpoint_state: "ready" });
    const ejected = (service: string) => h.sumMetric(m, "http_balancer_endpoints", { service, endpoint_state: "ejected" });
    assert.equal(ready("ewma", "peak-ewma"), 2);
    assert.equal(ready("rr", "round-robin"), 2);
    assert.equal(ready("wrr", "weighted-round-robin"), 2);
    assert.equal(ready("least", "least-request"), 2);
    assert.equal(ready("by-header", "hash"), 3);
    assert.equal(ready("by-addr", "hash"), 3);
    for (const s of ["ewma", "rr", "wrr", "least", "by-header"]) assert.equal(ejected(s), 0, s);
    assert.equal(h.sumMetric(m, "http_endpoint_breaker_state", { service: "ewma", endpoint: slow.addr, state: "closed" }), 1);
  });
});
