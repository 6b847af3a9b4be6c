// The per-request engine with route policy, end to end over in-memory ports: retries (replay buffer, limits,
// budget, backoff), timeouts, the deadline header, faults, rate limits, load shedding, fail-fast, filters and
// weighted splits. The proxy's random source is seeded; time moves only when a test advances the FakeClock.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  get,
  harness,
  header,
  reply,
  resHeader,
  upstream,
  type Harness,
  type UpRequest,
} from "./helpers.ts";

const WEB = { name: "web", hostnames: ["web"], endpoints: ["127.0.0.1:9001"], balancer: "round-robin", failureAccrual: false };
const NO_BACKOFF = { base: "0ms", max: "0ms" };

/** One service "web" with one route "r" attached to it holding `rule` (no matches: every request). */
function routed(rule: Record<string, unknown>, extra: Record<string, unknown> = {}, web: Record<string, unknown> = {}) {
  return { services: [{ ...WEB, ...web }], routes: [{ name: "r", parentRefs: [{ name: "web" }], rules: [rule] }], ...extra };
}

const put = (body: string, path = "/") => `PUT ${path} HTTP/1.1\r\nHost: web\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
const chunked = (chunks: string[], method = "PUT", trailers = "") =>
  `${method} /c HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n${chunks.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`).join("")}0\r\n${trailers}\r\n`;

async function waitFor(h: Harness, what: string, cond: () => boolean): Promise<void> {
  assert.ok(await h.settle(cond, 100), `timed out waiting for ${what}`);
}

// ---- retries --------------------------------------------------------------------------------------------

test("a 503 is retried and the retry's 200 is the answer; the retry is counted", async () => {
  const h = await harness(routed({ retry: { attempts: 2, backoff: NO_BACKOFF } }), { seed: 1 });
  const up = upstream(h.net, 9001, (_, i) => (i === 0 ? reply(503) : reply(200, "second")));
  const res = await h.send(get("web", "/x"));
  assert.equal(res.status, 200);
  assert.equal(res.body, "second");
  assert.equal(up.requests.length, 2);
  assert.deepEqual(up.requests.map((r) => r.head), [up.requests[0]!.head, up.requests[0]!.head], "the same request twice");
  assert.ok(up.conns[0]!.closed, "the connection that carried the 503 is not reused mid-response");
  const m = h.route("r", "web");
  assert.equal(m.retries, 1);
  assert.equal(m.retrySuccesses, 1);
  assert.equal(m.retryLimitExceeds, 0);
  assert.equal(m.retryOverflows, 0);
});

test("connect failures are retried on another endpoint", async () => {
  const h = await harness(routed({ retry: { attempts: 1, backoff: NO_BACKOFF } }, {}, { endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"] }), { random: () => 0 });
  const up2 = upstream(h.net, 9002); // nothing listens on 9001
  const res = await h.send(get("web"));
  assert.equal(res.status, 200);
  assert.equal(res.body, "from 9002");
  assert.equal(up2.requests.length, 1);
  assert.equal(h.route("r", "web").retries, 1);
});

test("a retry avoids the endpoint that just failed (PeakEWMA would prefer a fast-failing endpoint)", async () => {
  const h = await harness(
    routed({ retry: { attempts: 1, backoff: NO_BACKOFF } }, {}, { endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"], balancer: "peak-ewma" }),
    { seed: 11 },
  );
  const bad = upstream(h.net, 9001, () => reply(503));
  const good = upstream(h.net, 9002, () => reply(200, "good"));
  for (let i = 0; i < 40; i++) {
    const res = await h.send(get("web", `/${i}`));
    assert.equal(res.status, 200, `request ${i} failed after its retry`);
  }
  assert.ok(bad.requests.length > 0, "the failing endpoint was never tried: the test proves nothing");
  assert.equal(good.requests.length, 40);
});

test("an upstream reset before the response is retried", async () => {
  const h = await harness(routed({ retry: { attempts: 1, backoff: NO_BACKOFF } }), { seed: 2 });
  const up = upstream(h.net, 9001, (_, i) => (i === 0 ? "reset" : reply(200, "ok")));
  const res = await h.send(get("web"));
  assert.equal(res.status, 200);
  assert.equal(up.requests.length, 2);
});

test("a retryable status is not retried without a route retry policy (the default rule)", async () => {
  const h = await harness({ services: [WEB] }, { seed: 3 });
  const up = upstream(h.net, 9001, () => reply(503));
  const res = await h.send(get("web"));
  assert.equal(res.status, 503);
  assert.equal(up.requests.length, 1);
  assert.equal(h.route("default", "web").retries, 0);
});

test("POST is not retried by default; listed in methods it is", async () => {
  const h = await harness(routed({ retry: { attempts: 2, backoff: NO_BACKOFF } }), { seed: 4 });
  const up = upstream(h.net, 9001, () => reply(503));
  const res = await h.send("POST / HTTP/1.1\r\nHost: web\r\nContent-Length: 3\r\n\r\nabc");
  assert.equal(res.status, 503);
  assert.equal(up.requests.length, 1);
  const m = h.route("r", "web");
  assert.deepEqual([m.retries, m.retryOverflows, m.retryLimitExceeds], [0, 0, 0]);

  const h2 = await harness(routed({ retry: { attempts: 1, methods: ["POST"], backoff: NO_BACKOFF } }), { seed: 4 });
  const up2 = upstream(h2.net, 9001, (_, i) => (i === 0 ? reply(503) : reply(201, "made")));
  const res2 = await h2.send("POST / HTTP/1.1\r\nHost: web\r\nContent-Length: 3\r\n\r\nabc");
  assert.equal(res2.status, 201);
  assert.equal(up2.requests.length, 2);
  assert.equal(up2.requests[1]!.raw, up2.requests[0]!.raw);
});

test("a PUT with a small Content-Length body is replayed byte for byte", async () => {
  const h = await harness(routed({ retry: { attempts: 2, backoff: NO_BACKOFF } }), { seed: 5 });
  const up = upstream(h.net, 9001, (_, i) => (i === 0 ? reply(503) : reply(200, "stored")));
  const res = await h.send(put("hello world", "/item/1"));
  assert.equal(res.status, 200);
  assert.equal(up.requests.length, 2);
  assert.equal(up.requests[0]!.body, "hello world");
  assert.equal(up.requests[1]!.raw, up.requests[0]!.raw);
  assert.equal(header(up.requests[1]!, "content-length"), "11");
});

test("a PUT with a chunked body (and trailers) is replayed byte for byte", async () => {
  const h = await harness(routed({ retry: { attempts: 2, backoff: NO_BACKOFF } }), { seed: 6 });
  const up = upstream(h.net, 9001, (_, i) => (i < 2 ? reply(502) : reply(200, "stored")));
  const res = await h.send(chunked(["hello", " world", "!"], "PUT", "x-checksum: 42\r\n"));
  assert.equal(res.status, 200);
  assert.equal(up.requests.length, 3);
  assert.equal(up.requests[0]!.body, "hello world!");
  assert.match(up.requests[0]!.raw, /0\r\nx-checksum: 42\r\n\r\n$/);
  assert.equal(up.requests[1]!.raw, up.requests[0]!.raw);
  assert.equal(up.requests[2]!.raw, up.requests[0]!.raw);
  assert.equal(h.route("r", "web").retries, 2);
});

test("a retry that starts while the body is still arriving gets the buffered part, then the rest", async () => {
  const h = await harness(routed({ retry: { attempts: 1, backoff: NO_BACKOFF } }), { seed: 7 });
  // The first try fails as soon as its head is in; the second is answered once its body is complete.
  const up = upstream(h.net, 9001, (_, i) => (i === 0 ? reply(503) : "silent"), { onHead: true });
  const full = chunked(["hello", " world"]);
  const split = full.indexOf("6\r\n");
  const c = await h.start(full.slice(0, split));
  await waitFor(h, "the retry", () => up.requests.length === 2);
  c.write(full.slice(split));
  await waitFor(h, "the whole body on the retry", () => up.requests[1]!.body === "hello world");
  assert.equal(up.requests[1]!.raw.slice(up.requests[1]!.raw.indexOf("\r\n\r\n")), full.slice(full.indexOf("\r\n\r\n")));
  up.respond(up.requests[1]!, reply(200, "ok"));
  await waitFor(h, "the response", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.status, 200);
});

test("a chunked body that outgrows bufferLimit is streamed and not retried (retry overflow)", async () => {
  const h = await harness(routed({ retry: { attempts: 2, bufferLimit: 8, backoff: NO_BACKOFF } }), { seed: 8 });
  const up = upstream(h.net, 9001, () => reply(503));
  const res = await h.send(chunked(["hello", " world"]));
  assert.equal(res.status, 503);
  assert.equal(up.requests.length, 1);
  assert.equal(up.requests[0]!.body, "hello world", "the whole body still reached the upstream");
  const m = h.route("r", "web");
  assert.equal(m.retries, 0);
  assert.equal(m.retryOverflows, 1);
});

test("a Content-Length body over bufferLimit is streamed intact and not retried", async () => {
  const h = await harness(routed({ retry: { attempts: 2, bufferLimit: 8, backoff: NO_BACKOFF } }), { seed: 9 });
  const up = upstream(h.net, 9001, () => reply(503));
  const body = "x".repeat(100_000);
  const res = await h.send(put(body));
  assert.equal(res.status, 503);
  assert.equal(up.requests.length, 1);
  assert.equal(up.requests[0]!.body.length, body.length);
  assert.equal(h.route("r", "web").retries, 0);
});

test("a Content-Length body over bufferLimit counts as a retry overflow", async () => {
  const h = await harness(routed({ retry: { attempts: 2, bufferLimit: 8, backoff: NO_BACKOFF } }), { seed: 9 });
  upstream(h.net, 9001, () => reply(503));
  const res = await h.send(put("0123456789"));
  assert.equal(res.status, 503);
  assert.equal(h.route("r", "web").retryOverflows, 1);
});

test("the attempts limit: 1 + attempts tries, then the last response, counted as limit exceeded", async () => {
  const h = await harness(routed({ retry: { attempts: 2, backoff: NO_BACKOFF } }), { seed: 10 });
  const up = upstream(h.net, 9001, (_, i) => reply(503, `try ${i}`));
  const res = await h.send(get("web"));
  assert.equal(res.status, 503);
  assert.equal(res.body, "try 2", "the upstream's last answer, not a proxy error");
  assert.equal(resHeader(res, "x-meshlet-error"), undefined);
  assert.equal(up.requests.length, 3);
  const m = h.route("r", "web");
  assert.equal(m.retries, 2);
  assert.equal(m.retryLimitExceeds, 1);
  assert.equal(m.retrySuccesses, 0);
});

test("statuses outside the conditions are not retried; codes adds some", async () => {
  const h = await harness(routed({ retry: { attempts: 2, backoff: NO_BACKOFF, codes: [429] } }), { seed: 11 });
  const up = upstream(h.net, 9001, (req) => (req.target === "/500" ? reply(500) : req.target === "/429" && up.requests.length === 1 ? reply(429) : reply(200)));
  assert.equal((await h.send(get("web", "/500"))).status, 500, "gateway-error does not cover 500");
  assert.equal(up.requests.length, 1);
  up.requests.length = 0;
  assert.equal((await h.send(get("web", "/429"))).status, 200);
  assert.equal(up.requests.length, 2);
});

test("the retry budget bounds retries against a failing upstream: ratio x requests + minRetriesPerSecond x ttl", async () => {
  const h = await harness(
    routed({ retry: { attempts: 3, backoff: NO_BACKOFF } }, {}, { retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 1, ttl: "10s" } }),
    { seed: 12 },
  );
  const up = upstream(h.net, 9001, () => reply(503));
  const c = await h.client();
  const N = 50;
  for (let i = 0; i < N; i++) assert.equal((await h.send(get("web"), c)).status, 503);
  const m = h.route("r", "web");
  // 0.2 x 50 + 1/s x 10 s = 20: the first requests spend the reserve (3 retries each), then one in five retries.
  assert.equal(m.retries, 20);
  assert.equal(up.requests.length, N + 20);
  assert.equal(m.retryLimitExceeds, 3, "the first three requests used all their attempts");
  assert.equal(m.retryOverflows, N - 3, "every other request was refused a retry by the budget");
  // Once the deposits and withdrawals expire (ttl), the reserve is back.
  h.clock.advance(10_000);
  await h.send(get("web"), c);
  assert.equal(m.retries, 23);
});

test("the backoff delay is honoured: no retry before it, the retry right at it (full jitter, doubling)", async () => {
  const h = await harness(routed({ retry: { attempts: 2, backoff: { base: "100ms", max: "1s" } } }), { seed: 13 });
  const up = upstream(h.net, 9001, (_, i) => (i < 2 ? reply(503) : reply(200, "third")));
  const m = h.route("r", "web");
  const c = await h.start(get("web"));
  await waitFor(h, "the first retry to be scheduled", () => m.retries === 1);
  const d0 = h.draws.at(-1)! * 100; // attempt 0: uniform in [0, 100]
  assert.ok(d0 > 1, `seeded delay ${d0}`);
  h.clock.advance(d0 - 0.5);
  await h.settle(() => false, 10);
  assert.equal(up.requests.length, 1, `retried before its ${d0} ms backoff`);
  h.clock.advance(0.5);
  await waitFor(h, "the first retry", () => up.requests.length === 2);
  await waitFor(h, "the second retry to be scheduled", () => m.retries === 2);
  const d1 = h.draws.at(-1)! * 200; // attempt 1: uniform in [0, 200]
  assert.ok(d1 > 1, `seeded delay ${d1}`);
  h.clock.advance(d1 - 0.5);
  await h.settle(() => false, 10);
  assert.equal(up.requests.length, 2);
  h.clock.advance(0.5);
  await waitFor(h, "the response", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.body, "third");
  assert.equal(up.requests.length, 3);
  assert.equal(h.clock.now(), d0 + d1);
});

// ---- timeouts -------------------------------------------------------------------------------------------

test("a per-try timeout is retried, then answered 504 backend-request-timeout", async () => {
  const h = await harness(routed({ timeouts: { backendRequest: "100ms" }, retry: { attempts: 1, backoff: NO_BACKOFF } }), { seed: 14 });
  const up = upstream(h.net, 9001, () => "silent");
  const c = await h.start(get("web"));
  await waitFor(h, "the first try", () => up.requests.length === 1);
  h.clock.advance(99);
  await h.settle(() => false, 5);
  assert.equal(up.requests.length, 1);
  h.clock.advance(1);
  await waitFor(h, "the retry", () => up.requests.length === 2);
  assert.ok(up.conns[0]!.closed, "the timed-out try's connection is closed");
  assert.equal(c.responses.length, 0);
  h.clock.advance(100);
  await waitFor(h, "the 504", () => c.responses.length === 1);
  const res = c.responses[0]!;
  assert.equal(res.status, 504);
  assert.equal(resHeader(res, "x-meshlet-error"), "backend-request-timeout");
  assert.ok(up.conns[1]!.closed);
  const m = h.route("r", "web");
  assert.equal(m.backendRequestTimeouts, 2);
  assert.equal(m.retries, 1);
  assert.equal(m.retryLimitExceeds, 1);
});

test("the request timeout answers 504 request-timeout and destroys the upstream connection", async () => {
  const h = await harness(routed({ timeouts: { request: "1s" } }), { seed: 15 });
  const up = upstream(h.net, 9001, () => "silent");
  const c = await h.start(get("web"));
  await waitFor(h, "the try", () => up.requests.length === 1);
  h.clock.advance(999);
  await h.settle(() => false, 5);
  assert.equal(c.responses.length, 0);
  h.clock.advance(1);
  await waitFor(h, "the 504", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.status, 504);
  assert.equal(resHeader(c.responses[0]!, "x-meshlet-error"), "request-timeout");
  assert.ok(up.conns[0]!.closed, "the upstream connection was destroyed, not left to answer later");
  assert.equal(h.route("r", "web").requestTimeouts, 1);
  assert.ok(!c.closed, "a timed-out GET keeps the client connection");
});

test("the request timeout covers every try: per-try timeouts retried until the request's deadline", async () => {
  const h = await harness(
    routed({ timeouts: { request: "250ms", backendRequest: "100ms" }, retry: { attempts: 5, backoff: NO_BACKOFF } }),
    { seed: 16 },
  );
  const up = upstream(h.net, 9001, () => "silent");
  const c = await h.start(get("web"));
  await waitFor(h, "the first try", () => up.requests.length === 1);
  for (const n of [2, 3]) {
    h.clock.advance(100);
    await waitFor(h, `try ${n}`, () => up.requests.length === n);
  }
  h.clock.advance(50);
  await waitFor(h, "the 504", () => c.responses.length === 1);
  assert.equal(resHeader(c.responses[0]!, "x-meshlet-error"), "request-timeout");
  assert.equal(up.requests.length, 3);
  assert.ok(up.conns.every((u) => u.closed));
});

test("the idle timeout: 504 idle-timeout when nothing moves, a cut connection once the response has begun", async () => {
  const h = await harness(routed({ timeouts: { idle: "200ms" } }), { seed: 17 });
  const up = upstream(h.net, 9001, (req) => (req.target === "/partial" ? "partial" : "silent"));
  const a = await h.start(get("web", "/silent"));
  await waitFor(h, "the try", () => up.requests.length === 1);
  h.clock.advance(199);
  await h.settle(() => false, 5);
  assert.equal(a.responses.length, 0);
  h.clock.advance(1);
  await waitFor(h, "the 504", () => a.responses.length === 1);
  assert.equal(resHeader(a.responses[0]!, "x-meshlet-error"), "idle-timeout");

  const b = await h.start(get("web", "/partial"));
  await waitFor(h, "the response head", () => b.pending.includes("half"));
  h.clock.advance(200);
  await waitFor(h, "the cut", () => b.closed);
  assert.equal(b.responses.length, 0, "the truncated response is not completed");
  assert.match(b.pending, /^HTTP\/1\.1 200 /);
  assert.equal(h.route("r", "web").idleTimeouts, 2);
});

test("the idle timeout restarts with every byte: a slow but steady response completes", async () => {
  const h = await harness(routed({ timeouts: { idle: "200ms" } }), { seed: 18 });
  const up = upstream(h.net, 9001, () => "silent");
  const c = await h.start(get("web"));
  await waitFor(h, "the try", () => up.requests.length === 1);
  const u = up.requests[0]!.conn;
  h.clock.advance(150);
  u.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab"));
  await h.settle(() => false, 5);
  h.clock.advance(150);
  u.write(new TextEncoder().encode("c"));
  await h.settle(() => false, 5);
  h.clock.advance(150);
  u.write(new TextEncoder().encode("d"));
  await waitFor(h, "the response", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.body, "abcd");
  assert.equal(h.route("r", "web").idleTimeouts, 0);
});

test("x-meshlet-timeout on outbound: honoured, stripped from the upstream request, counted as a header timeout", async () => {
  const h = await harness({ services: [WEB] }, { seed: 19 });
  const up = upstream(h.net, 9001, () => "silent");
  const c = await h.start(get("web", "/", { "X-Meshlet-Timeout": "300ms", "x-other": "kept" }));
  await waitFor(h, "the try", () => up.requests.length === 1);
  assert.equal(header(up.requests[0]!, "x-meshlet-timeout"), undefined, "the deadline header is not forwarded");
  assert.equal(header(up.requests[0]!, "x-other"), "kept");
  h.clock.advance(299);
  await h.settle(() => false, 5);
  assert.equal(c.responses.length, 0);
  h.clock.advance(1);
  await waitFor(h, "the 504", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.status, 504);
  assert.equal(resHeader(c.responses[0]!, "x-meshlet-error"), "request-timeout");
  assert.equal(h.route("default", "web").headerTimeouts, 1);
  assert.equal(h.route("default", "web").requestTimeouts, 0);
});

test("x-meshlet-timeout: the shorter of the header and the route's request timeout wins", async () => {
  const h = await harness(routed({ timeouts: { request: "1s" } }), { seed: 20 });
  upstream(h.net, 9001, () => "silent");
  const long = await h.start(get("web", "/", { "x-meshlet-timeout": "2s" }));
  const short = await h.start(get("web", "/", { "x-meshlet-timeout": "1" })); // a bare number is milliseconds
  await h.settle(() => false, 10);
  h.clock.advance(1);
  await waitFor(h, "the short one", () => short.responses.length === 1);
  assert.equal(long.responses.length, 0);
  h.clock.advance(999);
  await waitFor(h, "the long one", () => long.responses.length === 1);
  const m = h.route("r", "web");
  assert.equal(m.headerTimeouts, 1);
  assert.equal(m.requestTimeouts, 1);
});

test("x-meshlet-timeout: a malformed or repeated value is answered 400 without reaching the upstream", async () => {
  const h = await harness({ services: [WEB] }, { seed: 21 });
  const up = upstream(h.net, 9001);
  for (const bad of ["soon", "0ms", "-5s", "1.5s", ""]) {
    const res = await h.send(get("web", "/", { "x-meshlet-timeout": bad }));
    assert.equal(res.status, 400, `value ${JSON.stringify(bad)}`);
    assert.equal(resHeader(res, "x-meshlet-error"), "bad-timeout-header");
  }
  const twice = await h.send("GET / HTTP/1.1\r\nHost: web\r\nx-meshlet-timeout: 1s\r\nx-meshlet-timeout: 2s\r\n\r\n");
  assert.equal(twice.status, 400);
  assert.equal(up.requests.length, 0);
  assert.equal((await h.send(get("web", "/", { "x-meshlet-timeout": "5s" }))).status, 200);
});

test("x-meshlet-timeout is ignored on inbound by default: forwarded to the app as it is, no deadline", async () => {
  const h = await harness({ services: [WEB], inbound: { host: "127.0.0.1", port: 4143, app: "127.0.0.1:9100" } }, { seed: 22 });
  const app = upstream(h.net, 9100, () => "silent");
  const c = await h.start(get("me", "/", { "x-meshlet-timeout": "100ms" }), await h.client(4143));
  await waitFor(h, "the app request", () => app.requests.length === 1);
  assert.equal(header(app.requests[0]!, "x-meshlet-timeout"), "100ms");
  h.clock.advance(5000);
  await h.settle(() => false, 5);
  assert.equal(c.responses.length, 0, "no deadline on inbound");
  app.respond(app.requests[0]!, reply(200, "late"));
  await waitFor(h, "the response", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.body, "late");
  // Not parsed either: a malformed value is no error there.
  const bad = await h.start(get("me", "/", { "x-meshlet-timeout": "soon" }), await h.client(4143));
  await waitFor(h, "the second app request", () => app.requests.length === 2);
  assert.equal(header(app.requests[1]!, "x-meshlet-timeout"), "soon");
  assert.equal(bad.responses.length, 0);
});

test("x-meshlet-timeout on inbound when enabled; a renamed header on outbound", async () => {
  const h = await harness({
    services: [WEB],
    inbound: { host: "127.0.0.1", port: 4143, app: "127.0.0.1:9100" },
    timeoutHeader: { name: "x-deadline", inbound: true },
  }, { seed: 23 });
  upstream(h.net, 9100, () => "silent");
  const up = upstream(h.net, 9001, () => "silent");
  const inb = await h.start(get("me", "/", { "x-deadline": "100ms" }), await h.client(4143));
  const out = await h.start(get("web", "/", { "x-deadline": "200ms", "x-meshlet-timeout": "50ms" }));
  await waitFor(h, "the outbound try", () => up.requests.length === 1);
  assert.equal(header(up.requests[0]!, "x-meshlet-timeout"), "50ms", "the default name means nothing now");
  assert.equal(header(up.requests[0]!, "x-deadline"), undefined);
  h.clock.advance(100);
  await waitFor(h, "the inbound 504", () => inb.responses.length === 1);
  assert.equal(inb.responses[0]!.status, 504);
  assert.equal(out.responses.length, 0);
  h.clock.advance(100);
  await waitFor(h, "the outbound 504", () => out.responses.length === 1);
});

// ---- faults ---------------------------------------------------------------------------------------------

test("fault abort (100 %): the configured status, never reaching the upstream", async () => {
  const h = await harness(routed({ fault: { abort: { httpStatus: 503 } } }), { seed: 24 });
  const up = upstream(h.net, 9001);
  const res = await h.send(get("web"));
  assert.equal(res.status, 503);
  assert.equal(resHeader(res, "x-meshlet-error"), "fault-injected");
  assert.equal(up.requests.length, 0);
  assert.equal(h.route("r", "web").faultAborts, 1);
  assert.equal(h.service("web").loadSheds, 0);
});

test("fault delay (100 %): the request waits, then goes through", async () => {
  const h = await harness(routed({ fault: { delay: { duration: "500ms" } } }), { seed: 25 });
  const up = upstream(h.net, 9001);
  const c = await h.start(get("web"));
  await h.settle(() => false, 10);
  h.clock.advance(499);
  await h.settle(() => false, 5);
  assert.equal(up.requests.length, 0);
  h.clock.advance(1);
  await waitFor(h, "the response", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.status, 200);
  assert.equal(up.requests.length, 1);
  assert.equal(h.route("r", "web").faultDelays, 1);
});

test("fault delay then abort; 0 % never fires", async () => {
  const h = await harness(routed({ fault: { delay: { duration: "100ms" }, abort: { httpStatus: 500 } } }), { seed: 26 });
  const up = upstream(h.net, 9001);
  const c = await h.start(get("web"));
  await h.settle(() => false, 10);
  assert.equal(c.responses.length, 0);
  h.clock.advance(100);
  await waitFor(h, "the abort", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.status, 500);
  assert.equal(up.requests.length, 0);

  const h2 = await harness(routed({ fault: { delay: { duration: "100ms", percentage: 0 }, abort: { httpStatus: 500, percentage: 0 } } }), { seed: 26 });
  const up2 = upstream(h2.net, 9001);
  for (let i = 0; i < 20; i++) assert.equal((await h2.send(get("web"))).status, 200);
  assert.equal(up2.requests.length, 20);
});

test("a 50 % fault aborts about half the requests (seeded)", async () => {
  const h = await harness(routed({ fault: { abort: { httpStatus: 503, percentage: 50 } } }), { seed: 27 });
  upstream(h.net, 9001);
  const c = await h.client();
  let aborted = 0;
  for (let i = 0; i < 200; i++) if ((await h.send(get("web"), c)).status === 503) aborted++;
  assert.ok(aborted > 70 && aborted < 130, `${aborted} of 200`);
  assert.equal(h.route("r", "web").faultAborts, aborted);
});

test("header faults apply only when enabled", async () => {
  const headers = { "x-meshlet-fault-abort": "418", "x-meshlet-fault-delay": "100ms" };
  const off = await harness({ services: [WEB] }, { seed: 28 });
  const upOff = upstream(off.net, 9001);
  const resOff = await off.send(get("web", "/", headers));
  assert.equal(resOff.status, 200, "ignored by default");
  assert.equal(upOff.requests.length, 1);

  const on = await harness({ services: [WEB], headerFaults: { enabled: true } }, { seed: 28 });
  const upOn = upstream(on.net, 9001);
  const c = await on.start(get("web", "/", headers));
  await on.settle(() => false, 10);
  assert.equal(c.responses.length, 0, "delayed first");
  on.clock.advance(100);
  await waitFor(on, "the abort", () => c.responses.length === 1);
  assert.equal(c.responses[0]!.status, 418);
  assert.equal(resHeader(c.responses[0]!, "x-meshlet-error"), "fault-injected");
  assert.equal(upOn.requests.length, 0);
  const bad = await on.send(get("web", "/", { "x-meshlet-fault-abort": "abc" }));
  assert.equal(bad.status, 400);
  assert.equal(resHeader(bad, "x-meshlet-error"), "bad-fault-header");
  assert.equal((await on.send(get("web"))).status, 200, "no header, no fault");
});

// ---- rate limits, load shedding, fail-fast --------------------------------------------------------------

test("rate limit: 429 with Retry-After past the burst, refilled with time", async () => {
  const h = await harness(routed({ rateLimit: { requestsPerSecond: 1, burst: 2 } }), { seed: 29 });
  const up = upstream(h.net, 9001);
  const c = await h.client();
  assert.equal((await h.send(get("web"), c)).status, 200);
  assert.equal((await h.send(get("web"), c)).status, 200);
  const limited = await h.send(get("web"), c);
  assert.equal(limited.status, 429);
  assert.equal(resHeader(limited, "retry-after"), "1");
  assert.equal(resHeader(limited, "x-meshlet-error"), "rate-limited");
  assert.equal(up.requests.length, 2);
  assert.equal(h.route("r", "web").rateLimits, 1);
  h.clock.advance(1000);
  assert.equal((await h.send(get("web"), c)).status, 200);
  assert.equal((await h.send(get("web"), c)).status, 429);

  const slow = await harness(routed({ rateLimit: { requestsPerSecond: 0.1 } }), { seed: 29 });
  upstream(slow.net, 9001);
  assert.equal((await slow.send(get("web"))).status, 200);
  assert.equal(resHeader(await slow.send(get("web")), "retry-after"), "10");
});

test("rate-limit buckets survive a config reload that leaves the limit alone", async () => {
  const raw = routed({ rateLimit: { requestsPerSecond: 1, burst: 1 } });
  const h = await harness(raw, { seed: 30 });
  upstream(h.net, 9001);
  assert.equal((await h.send(get("web"))).status, 200);
  h.update({ ...raw, responseTimeout: "5s" });
  assert.equal((await h.send(get("web"))).status, 429, "the reload did not refill the bucket");
  h.update(routed({ rateLimit: { requestsPerSecond: 2, burst: 1 } }));
  assert.equal((await h.send(get("web"))).status, 200, "a changed limit starts full");
});

test("load shedding: 503 load-shed once maxPending requests are in flight; the slot comes back", async () => {
  const h = await harness({ services: [{ ...WEB, maxPending: 1 }] }, { seed: 31 });
  const up = upstream(h.net, 9001, (_, i) => (i === 0 ? "silent" : reply(200)));
  const a = await h.start(get("web"));
  await waitFor(h, "the first request upstream", () => up.requests.length === 1);
  const shed = await h.send(get("web"));
  assert.equal(shed.status, 503);
  assert.equal(resHeader(shed, "x-meshlet-error"), "load-shed");
  assert.equal(h.service("web").loadSheds, 1);
  assert.equal(up.requests.length, 1);
  up.respond(up.requests[0]!, reply(200));
  await waitFor(h, "the first response", () => a.responses.length === 1);
  assert.equal((await h.send(get("web"))).status, 200, "the slot was released");
});

test("load shedding: a slot is released when the client goes away or the request times out", async () => {
  const h = await harness(routed({ timeouts: { request: "1s" } }, {}, { maxPending: 1 }), { seed: 32 });
  const up = upstream(h.net, 9001, (req) => (req.target === "/hang" ? "silent" : reply(200)));
  const a = await h.start(get("web", "/hang"));
  await waitFor(h, "the hanging request", () => up.requests.length === 1);
  a.conn.destroy();
  await h.settle(() => false, 5);
  assert.equal((await h.send(get("web", "/ok"))).status, 200, "released on client abort");
  const b = await h.start(get("web", "/hang"));
  await waitFor(h, "the second hanging request", () => up.requests.length === 3);
  h.clock.advance(1000);
  await waitFor(h, "the timeout", () => b.responses.length === 1);
  assert.equal((await h.send(get("web", "/ok"))).status, 200, "released on timeout");
  assert.equal(h.service("web").loadSheds, 0);
});

test("fail-fast: 503 once every endpoint is ejected; the probe after probation readmits", async () => {
  const h = await harness({
    services: [{ ...WEB, failureAccrual: { consecutiveFailures: 1, minBackoff: "10s", maxBackoff: "60s", jitter: 0 } }],
  }, { seed: 33 });
  // Nothing listens on 9001 yet: the connect is refused and the breaker opens.
  const refused = await h.send(get("web"));
  assert.equal(refused.status, 502);
  assert.equal(resHeader(refused, "x-meshlet-error"), "connect-refused");
  assert.equal(h.service("web").ejections.get("127.0.0.1:9001"), 1);
  const ff = await h.send(get("web"));
  assert.equal(ff.status, 503);
  assert.equal(resHeader(ff, "x-meshlet-error"), "fail-fast");
  assert.equal(h.service("web").failFasts, 1);
  const gauge = h.metrics.snapshot().find((f) => f.name === "http_endpoint_breaker_state")!;
  assert.deepEqual(gauge.type !== "histogram" && gauge.samples.map((s) => s.labels.state), ["open"]);

  const up = upstream(h.net, 9001);
  h.clock.advance(9_999);
  assert.equal((await h.send(get("web"))).status, 503, "still on probation");
  h.clock.advance(1);
  assert.equal((await h.send(get("web"))).status, 200, "the probe");
  assert.equal((await h.send(get("web"))).status, 200, "readmitted");
  assert.equal(up.requests.length, 2);
  assert.equal(h.service("web").failFasts, 2);
});

test("failing 5xx responses eject an endpoint; the others take the traffic; breakers survive a reload", async () => {
  const web = { ...WEB, endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"], failureAccrual: { consecutiveFailures: 2, minBackoff: "10s", jitter: 0 } };
  const h = await harness({ services: [web] }, { random: () => 0 });
  const bad = upstream(h.net, 9001, () => reply(500));
  const good = upstream(h.net, 9002);
  const c = await h.client();
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) statuses.push((await h.send(get("web"), c)).status);
  assert.deepEqual(statuses, [500, 200, 500, 200, 200, 200, 200, 200]);
  assert.equal(bad.requests.length, 2);
  h.update({ services: [{ ...web, maxPending: 50 }] });
  for (let i = 0; i < 4; i++) assert.equal((await h.send(get("web"), c)).status, 200);
  assert.equal(bad.requests.length, 2, "still ejected after the reload");
  assert.equal(good.requests.length, 10);
});

// ---- filters --------------------------------------------------------------------------------------------

test("RequestRedirect answers with Location (prefix replaced, query kept) and never reaches the upstream", async () => {
  const h = await harness({
    services: [WEB],
    routes: [{
      name: "moved",
      parentRefs: [{ name: "web" }],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/old" } }],
          filters: [{ type: "RequestRedirect", requestRedirect: { hostname: "new.example.com", statusCode: 301, path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/new" } } }],
        },
        {
          matches: [{ path: { type: "PathPrefix", value: "/secure" } }],
          filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }],
        },
      ],
    }],
  }, { seed: 34 });
  const up = upstream(h.net, 9001);
  const res = await h.send(get("web", "/old/page?x=1"));
  assert.equal(res.status, 301);
  assert.equal(resHeader(res, "location"), "http://new.example.com/new/page?x=1");
  const secure = await h.send(get("web:8080", "/secure/a"));
  assert.equal(secure.status, 302);
  assert.equal(resHeader(secure, "location"), "https://web/secure/a");
  assert.equal(up.requests.length, 0);
  assert.equal((await h.send(get("web", "/other"))).status, 200);
});

test("URLRewrite: the upstream sees the rewritten path (query kept) and Host", async () => {
  const h = await harness({
    services: [WEB],
    routes: [{
      name: "rw",
      parentRefs: [{ name: "web" }],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/api" } }],
          filters: [{ type: "URLRewrite", urlRewrite: { hostname: "backend.internal", path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } }],
        },
        {
          matches: [{ path: { type: "PathPrefix", value: "/full" } }],
          filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplaceFullPath", replaceFullPath: "/fixed" } } }],
        },
      ],
    }],
  }, { seed: 35 });
  const up = upstream(h.net, 9001);
  assert.equal((await h.send(get("web", "/api/users?id=7"))).status, 200);
  assert.equal(up.requests[0]!.target, "/users?id=7");
  assert.equal(header(up.requests[0]!, "host"), "backend.internal");
  assert.equal((await h.send("GET http://web/full/x/y?q HTTP/1.1\r\nHost: web\r\n\r\n")).status, 200);
  assert.equal(up.requests[1]!.target, "/fixed?q");
  assert.equal(header(up.requests[1]!, "host"), "web", "no hostname in the rewrite: Host is kept");
});

test("Request- and ResponseHeaderModifier", async () => {
  const h = await harness(routed({
    filters: [
      { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-set", value: "new" }], add: [{ name: "x-add", value: "1" }], remove: ["x-remove"] } },
      { type: "ResponseHeaderModifier", responseHeaderModifier: { set: [{ name: "x-keep", value: "changed" }], add: [{ name: "x-added", value: "yes" }], remove: ["x-secret"] } },
    ],
  }), { seed: 36 });
  const up = upstream(h.net, 9001, () => reply(200, "ok", [["x-secret", "s"], ["x-keep", "k"], ["x-plain", "p"]]));
  const res = await h.send(get("web", "/", { "x-set": "old", "x-add": "0", "x-remove": "gone", "x-untouched": "u" }));
  const r = up.requests[0]!;
  assert.equal(header(r, "x-set"), "new");
  assert.deepEqual(r.headers.filter(([n]) => n === "x-add").map(([, v]) => v), ["0", "1"]);
  assert.equal(header(r, "x-remove"), undefined);
  assert.equal(header(r, "x-untouched"), "u");
  assert.equal(res.status, 200);
  assert.equal(resHeader(res, "x-secret"), undefined);
  assert.equal(resHeader(res, "x-keep"), "changed");
  assert.equal(resHeader(res, "x-added"), "yes");
  assert.equal(resHeader(res, "x-plain"), "p");
  assert.equal(res.body, "ok");
});

// ---- splits ---------------------------------------------------------------------------------------------

test("a weighted split (80/20, seeded) lands near its weights", async () => {
  const h = await harness({
    services: [
      WEB,
      { name: "web-a", endpoints: ["127.0.0.1:9011"], balancer: "round-robin" },
      { name: "web-b", endpoints: ["127.0.0.1:9012"], balancer: "round-robin" },
    ],
    routes: [{ name: "split", parentRefs: [{ name: "web" }], rules: [{ backendRefs: [{ name: "web-a", weight: 80 }, { name: "web-b", weight: 20 }] }] }],
  }, { seed: 37 });
  const a = upstream(h.net, 9011);
  const b = upstream(h.net, 9012);
  const web = upstream(h.net, 9001);
  const c = await h.client();
  const N = 500;
  for (let i = 0; i < N; i++) assert.equal((await h.send(get("web"), c)).status, 200);
  assert.equal(a.requests.length + b.requests.length, N);
  assert.equal(web.requests.length, 0, "the parent gets nothing: the rule names its backends");
  assert.ok(Math.abs(a.requests.length - 400) <= 40, `web-a got ${a.requests.length} of ${N}`);
});

test("a retry stays on the backend the split chose", async () => {
  const h = await harness({
    services: [
      WEB,
      { name: "web-a", endpoints: ["127.0.0.1:9011"], balancer: "round-robin", failureAccrual: false },
      { name: "web-b", endpoints: ["127.0.0.1:9012"], balancer: "round-robin", failureAccrual: false },
    ],
    routes: [{ name: "split", parentRefs: [{ name: "web" }], rules: [{ backendRefs: [{ name: "web-a", weight: 1 }, { name: "web-b", weight: 1 }], retry: { attempts: 1, backoff: NO_BACKOFF } }] }],
  }, { seed: 38 });
  const seen: string[] = [];
  const a = upstream(h.net, 9011, (_r: UpRequest, i) => (seen.push("a"), i % 2 === 0 ? reply(503) : reply(200)));
  const b = upstream(h.net, 9012, (_r: UpRequest, i) => (seen.push("b"), i % 2 === 0 ? reply(503) : reply(200)));
  const c = await h.client();
  for (let i = 0; i < 10; i++) assert.equal((await h.send(get("web"), c)).status, 200);
  assert.equal(a.requests.length + b.requests.length, 20);
  for (let i = 0; i < seen.length; i += 2) assert.equal(seen[i], seen[i + 1], `request ${i / 2} moved backends: ${seen.join("")}`);
  assert.equal(h.route("split", "web-a").retries + h.route("split", "web-b").retries, 10);
});

test("backendRefs with weight 0 everywhere: 500 no-backend", async () => {
  const h = await harness({
    services: [WEB, { name: "web-a", endpoints: ["127.0.0.1:9011"] }],
    routes: [{ name: "z", parentRefs: [{ name: "web" }], rules: [{ backendRefs: [{ name: "web-a", weight: 0 }, { name: "web", weight: 0 }] }] }],
  }, { seed: 39 });
  const up = upstream(h.net, 9001);
  const res = await h.send(get("web"));
  assert.equal(res.status, 500);
  assert.equal(resHeader(res, "x-meshlet-error"), "no-backend");
  assert.equal(up.requests.length, 0);
});

// ---- the breaker's probe, taken by other kinds of traffic ------------------------------------------------

const PROBED = { ...WEB, failureAccrual: { consecutiveFailures: 1, minBackoff: "1s", maxBackoff: "60s", jitter: 0 } };

/** Ejects web's only endpoint (nothing listens yet), then starts the upstream and lets probation pass. */
async function ejectThenHeal(h: Harness) {
  assert.equal((await h.send(get("web"))).status, 502);
  assert.equal((await h.send(get("web"))).status, 503);
  const up = upstream(h.net, 9001);
  h.clock.advance(1000);
  return up;
}

test("control: after probation an HTTP request is the probe and readmits the endpoint", async () => {
  const h = await harness({ services: [PROBED] }, { seed: 40 });
  await ejectThenHeal(h);
  assert.equal((await h.send(get("web"))).status, 200);
  assert.equal((await h.send(get("web"))).status, 200);
});

test("a CONNECT tunnel never takes the probe (it cannot report an outcome): it fails fast, then an HTTP request probes", async () => {
  const h = await harness({ services: [PROBED] }, { seed: 41 });
  const up = await ejectThenHeal(h);
  const t = await h.start("CONNECT web:443 HTTP/1.1\r\nHost: web:443\r\n\r\n");
  await waitFor(h, "the CONNECT answer", () => t.responses[0] !== undefined);
  assert.equal(t.responses[0]!.status, 503);
  assert.equal(resHeader(t.responses[0]!, "x-meshlet-error"), "fail-fast");
  assert.equal(up.conns.length, 0, "the tunnel went to the endpoint under probation");
  const res = await h.send(get("web"));
  assert.equal(res.status, 200, `the endpoint is stuck: ${res.status} ${resHeader(res, "x-meshlet-error")}`);
});

test("an opaque TCP connection never takes the probe: the endpoint stays ejected for it, and HTTP probes it", async () => {
  const h = await harness({ services: [{ ...PROBED, listen: { port: 5000, protocol: "opaque" } }] }, { seed: 42 });
  const up = await ejectThenHeal(h);
  const tcp = await h.client(5000);
  tcp.write("ping");
  await h.settle(() => false, 5);
  assert.equal(up.conns.length, 0, "the opaque connection took the probe");
  tcp.conn.destroy();
  const res = await h.send(get("web"));
  assert.equal(res.status, 200, `the endpoint is stuck: ${res.status} ${resHeader(res, "x-meshlet-error")}`);
});

test("a client that gives up on the probe request does not readmit an endpoint that never answered", async () => {
  const h = await harness({ services: [PROBED] }, { seed: 43 });
  assert.equal((await h.send(get("web"))).status, 502);
  const up = upstream(h.net, 9001, (_, i) => (i === 0 ? "silent" : reply(200)));
  h.clock.advance(1000);
  const probe = await h.start(get("web"));
  await waitFor(h, "the probe upstream", () => up.requests.length === 1);
  probe.conn.destroy();
  await h.settle(() => false, 5);
  const gauge = h.metrics.snapshot().find((f) => f.name === "http_endpoint_breaker_state")!;
  const state = gauge.type === "histogram" ? undefined : gauge.samples[0]?.labels.state;
  assert.notEqual(state, "closed", "readmitted on the strength of a request that never got an answer");
  // Nor stranded: a later request probes again.
  h.clock.advance(60_000);
  assert.equal((await h.send(get("web"))).status, 200);
});

test("the hash balancer keeps a header's requests on one endpoint", async () => {
  const h = await harness({
    services: [{ ...WEB, endpoints: ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"], balancer: { kind: "hash", hashOn: { header: "x-user" } } }],
  }, { seed: 44 });
  const ups = [9001, 9002, 9003].map((p) => upstream(h.net, p));
  const c = await h.client();
  const where = new Map<string, Set<string>>();
  for (let i = 0; i < 60; i++) {
    const user = `u${i % 12}`;
    const res = await h.send(get("web", "/", { "x-user": user }), c);
    if (!where.has(user)) where.set(user, new Set());
    where.get(user)!.add(res.body);
  }
  for (const [user, eps] of where) assert.equal(eps.size, 1, `${user} went to ${[...eps].join(", ")}`);
  assert.ok(ups.filter((u) => u.requests.length > 0).length >= 2, "users spread over endpoints");
});
