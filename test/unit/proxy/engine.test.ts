// The proxy engine over in-memory ports: pools, balancing, errors and timeouts, deterministically.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../../../core/config/parse.ts";
import type { MeshletConfig } from "../../../core/config/types.ts";
import type { Conn, Runtime } from "../../../core/ports.ts";
import { createProxy } from "../../../core/proxy/proxy.ts";
import { MetricsStore } from "../../../core/telemetry/metrics.ts";
import { FakeClock, FakeNet, type FakeConn } from "../../support/fake-runtime.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const tick = () => new Promise<void>((r) => setImmediate(r));

type Behaviour = "ok" | "close" | "silent" | "partial" | "halfclose" | "cut";
/** An upstream that answers each request head with a small response naming its port. */
function upstream(net: FakeNet, port: number, behave: () => Behaviour = () => "ok") {
  const conns: Conn[] = [];
  const requests: string[] = [];
  void net.listen({ host: "127.0.0.1", port }, (c) => {
    conns.push(c);
    let buf = "";
    c.setHandlers({
      data(chunk) {
        buf += dec(chunk);
        let i;
        while ((i = buf.indexOf("\r\n\r\n")) >= 0) {
          const head = buf.slice(0, i);
          buf = buf.slice(i + 4);
          requests.push(head);
          const b = behave();
          if (b === "close") return c.destroy();
          if (b === "silent") return;
          if (b === "halfclose") return c.closeWrite();
          if (b === "cut") {
            c.write(enc("HTTP/1.1 200 OK\r\ncontent-le"));
            return c.closeWrite();
          }
          if (b === "partial") return void c.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf"));
          const body = `from ${port}`;
          c.write(enc(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`));
        }
      },
      end() {
        c.close();
      },
      close() {},
    });
  });
  return { conns, requests };
}

function config(extra: Record<string, unknown> = {}): MeshletConfig {
  const r = parseConfig({
    outbound: { port: 4140 },
    services: [
      { name: "web", hostnames: ["web"], endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"], balancer: "round-robin" },
      { name: "empty", hostnames: ["empty"], endpoints: [] },
      { name: "down", hostnames: ["down"], endpoints: ["127.0.0.1:9009"] },
      { name: "slow", hostnames: ["slow"], endpoints: ["127.0.0.1:9003"] },
    ],
    accessLog: { enabled: false },
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

async function setup(extra: Record<string, unknown> = {}) {
  const net = new FakeNet();
  const clock = new FakeClock();
  const rt: Runtime = {
    name: "node", net, clock, random: () => 0, // round-robin starts at the first endpoint
    tls: { accept: () => Promise.reject(new Error("no tls")), connect: () => Promise.reject(new Error("no tls")) },
    http: { serve: () => Promise.reject(new Error("no http")) },
    stdout() {}, stderr() {},
  };
  const up1 = upstream(net, 9001);
  const up2 = upstream(net, 9002);
  const slow = upstream(net, 9003, () => "silent");
  const proxy = createProxy(rt, config(extra), { metrics: new MetricsStore(), log() {} });
  await proxy.start();
  const client = async () => (await net.connect({ host: "127.0.0.1", port: 4140 })) as FakeConn;
  return { net, clock, proxy, up1, up2, slow, client };
}

/** Sends a request and collects what arrives until `n` responses (by status line count) are in. */
async function exchange(c: FakeConn, req: string, n = 1): Promise<string> {
  let got = "";
  c.setHandlers({ data: (b) => void (got += dec(b)), end() {}, close() {} });
  c.write(enc(req));
  for (let i = 0; i < 50 && (got.match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0) < n; i++) await tick();
  return got;
}

test("keep-alive: sequential requests reuse one upstream connection per endpoint, round-robin across endpoints", async () => {
  const { up1, up2, client, net } = await setup();
  const c = await client();
  const bodies: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await exchange(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
    bodies.push(r.slice(r.lastIndexOf("\r\n\r\n") + 4));
  }
  assert.deepEqual(bodies, ["from 9001", "from 9002", "from 9001", "from 9002", "from 9001", "from 9002"]);
  assert.equal(up1.conns.length, 1);
  assert.equal(up2.conns.length, 1);
  assert.equal(net.connects, 3); // the client's own connection + one per endpoint
});

test("pipelined requests are answered in order", async () => {
  const { client } = await setup();
  const c = await client();
  const r = await exchange(c, "GET /1 HTTP/1.1\r\nHost: web\r\n\r\nGET /2 HTTP/1.1\r\nHost: web\r\n\r\nGET /3 HTTP/1.1\r\nHost: web\r\n\r\n", 3);
  assert.deepEqual([...r.matchAll(/from (\d+)/g)].map((m) => m[1]), ["9001", "9002", "9001"]);
});

test("idle upstream connections close after the idle timeout; the next request opens a new one", async () => {
  const { up1, client, clock } = await setup({ pool: { idleTimeout: "1s" } });
  const c = await client();
  await exchange(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  assert.equal(up1.conns.length, 1);
  clock.advance(1500);
  await exchange(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n"); // -> 9002
  await exchange(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n"); // -> 9001 again, on a new connection
  assert.equal(up1.conns.length, 2);
});

test("maxIdlePerEndpoint bounds the idle connections kept", async () => {
  const { up1, client } = await setup({ pool: { maxIdlePerEndpoint: 1 }, services: [{ name: "web", hostnames: ["web"], endpoints: ["127.0.0.1:9001"] }] });
  const a = await client();
  const b = await client();
  // Two concurrent requests need two upstream connections; only one may stay idle afterwards.
  const pa = exchange(a, "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  const pb = exchange(b, "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  await Promise.all([pa, pb]);
  assert.equal(up1.conns.length, 2, "two concurrent requests need two connections");
  await tick();
  assert.equal(up1.conns.filter((c) => (c as FakeConn).closed).length, 1, "only one may stay idle");
  await exchange(a, "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  assert.equal(up1.conns.length, 2, "the idle one is reused");
});

test("a connection whose response was not fully read is never reused", async () => {
  const net = new FakeNet();
  let n = 0;
  const up = upstream(net, 9001, () => (++n === 1 ? "partial" : "ok"));
  const rt = { name: "node", net, clock: new FakeClock(), random: () => 0, tls: {} as Runtime["tls"], http: {} as Runtime["http"], stdout() {}, stderr() {} } as Runtime;
  const proxy = createProxy(rt, config({ services: [{ name: "web", hostnames: ["web"], endpoints: ["127.0.0.1:9001"] }] }), { metrics: new MetricsStore(), log() {} });
  await proxy.start();
  const c = (await net.connect({ host: "127.0.0.1", port: 4140 })) as FakeConn;
  const partial = await exchange(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  assert.match(partial, /half$/);
  c.destroy(); // the client gives up mid-body
  await tick();
  assert.ok((up.conns[0] as FakeConn).closed, "the half-read upstream connection was closed, not pooled");
  const d = (await net.connect({ host: "127.0.0.1", port: 4140 })) as FakeConn;
  assert.match(await exchange(d, "GET / HTTP/1.1\r\nHost: web\r\n\r\n"), /from 9001/);
  assert.equal(up.conns.length, 2);
});

test("errors: 503 no endpoints, 502 refused, 504 response timeout, 404 unknown authority — each with x-meshlet-error", async () => {
  const { client, clock, slow } = await setup({ responseTimeout: "2s" });
  const c = await client();
  const e503 = await exchange(c, "GET / HTTP/1.1\r\nHost: empty\r\n\r\n");
  assert.match(e503, /^HTTP\/1\.1 503 /);
  assert.match(e503, /x-meshlet-error: no-endpoints/);
  const c2 = await client();
  const e502 = await exchange(c2, "GET / HTTP/1.1\r\nHost: down\r\n\r\n");
  assert.match(e502, /^HTTP\/1\.1 502 /);
  assert.match(e502, /x-meshlet-error: connect-refused/);
  const c3 = await client();
  const e404 = await exchange(c3, "GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n");
  assert.match(e404, /^HTTP\/1\.1 404 /);
  assert.match(e404, /x-meshlet-error: no-route/);
  const c4 = await client();
  const pending = exchange(c4, "GET / HTTP/1.1\r\nHost: slow\r\n\r\n");
  await tick();
  await tick();
  assert.equal(slow.requests.length, 1);
  clock.advance(2000);
  const e504 = await pending;
  assert.match(e504, /^HTTP\/1\.1 504 /);
  assert.match(e504, /x-meshlet-error: response-timeout/);
  assert.ok(slow.conns[0]!.constructor && (slow.conns[0] as FakeConn).closed, "the upstream exchange was cancelled");
});

test("a reused connection closed by the upstream is retried once on a fresh connection", async () => {
  const net = new FakeNet();
  const clock = new FakeClock();
  let n = 0;
  const up = upstream(net, 9001, () => (++n === 2 ? "close" : "ok"));
  const rt = { name: "node", net, clock, random: () => 0, tls: {} as Runtime["tls"], http: {} as Runtime["http"], stdout() {}, stderr() {} } as Runtime;
  const proxy = createProxy(rt, config({ services: [{ name: "web", hostnames: ["web"], endpoints: ["127.0.0.1:9001"] }] }), { metrics: new MetricsStore(), log() {} });
  await proxy.start();
  const c = (await net.connect({ host: "127.0.0.1", port: 4140 })) as FakeConn;
  assert.match(await exchange(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n"), /200 OK/);
  assert.match(await exchange(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n"), /200 OK/);
  assert.equal(up.conns.length, 2);
});

test("shutdown waits for the in-flight exchange, then closes idle client connections", async () => {
  const { proxy, client, clock, slow } = await setup({ responseTimeout: "0s", shutdownGrace: "10s" });
  const c = await client();
  const idle = await client();
  void exchange(c, "GET / HTTP/1.1\r\nHost: slow\r\n\r\n");
  await exchange(idle, "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  await tick();
  const done = proxy.shutdown();
  await tick();
  assert.ok(idle.closed, "idle keep-alive connection closed at once");
  assert.ok(!c.closed, "busy connection kept while its exchange runs");
  slow.conns[0]!.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
  await tick();
  await done;
  assert.ok(c.closed);
  assert.match(c.peer.text(), /HTTP\/1\.1 200 OK\r\ncontent-length: 2\r\nconnection: close/);
  assert.equal(clock.pending >= 0, true);
});

function single(behave: () => Behaviour, extra: Record<string, unknown> = {}) {
  const net = new FakeNet();
  const clock = new FakeClock();
  const up = upstream(net, 9001, behave);
  const rt = { name: "node", net, clock, random: () => 0, tls: {} as Runtime["tls"], http: {} as Runtime["http"], stdout() {}, stderr() {} } as Runtime;
  const proxy = createProxy(rt, config({ services: [{ name: "web", hostnames: ["web"], endpoints: ["127.0.0.1:9001"] }], ...extra }), { metrics: new MetricsStore(), log() {} });
  return { net, clock, up, proxy, client: async () => (await net.connect({ host: "127.0.0.1", port: 4140 })) as FakeConn };
}

test("an upstream that half-closes without responding gets 502 upstream-reset, not a hang", async () => {
  const { proxy, client } = single(() => "halfclose");
  await proxy.start();
  const r = await exchange(await client(), "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  assert.match(r, /^HTTP\/1\.1 502 /);
  assert.match(r, /x-meshlet-error: upstream-reset/);
});

test("a response cut off mid-head is upstream-reset too", async () => {
  const { proxy, client } = single(() => "cut");
  await proxy.start();
  const r = await exchange(await client(), "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  assert.match(r, /^HTTP\/1\.1 502 /);
  assert.match(r, /x-meshlet-error: upstream-reset/);
});

test("with clientHalfClose, pipelined requests followed by the client's FIN are all answered before the close", async () => {
  const { proxy, client } = single(() => "ok", { clientHalfClose: true });
  await proxy.start();
  const c = await client();
  let got = "";
  let closed = false;
  c.setHandlers({ data: (b) => void (got += dec(b)), end() {}, close: () => void (closed = true) });
  c.write(enc("GET /1 HTTP/1.1\r\nHost: web\r\n\r\nGET /2 HTTP/1.1\r\nHost: web\r\n\r\n"));
  c.closeWrite();
  for (let i = 0; i < 50 && !closed; i++) await tick();
  assert.equal(got.match(/HTTP\/1\.1 200/g)?.length, 2, got);
  assert.ok(closed);
});

test("by default a client's FIN cancels its request: the upstream sees the close and the service slot is free again", async () => {
  const { proxy, client, up } = single(() => "silent", {
    services: [{ name: "web", hostnames: ["web"], endpoints: ["127.0.0.1:9001"], maxPending: 1 }],
  });
  await proxy.start();
  const c = await client();
  let closed = false;
  c.setHandlers({ data() {}, end() {}, close: () => void (closed = true) });
  c.write(enc("GET /gave-up HTTP/1.1\r\nHost: web\r\n\r\n"));
  for (let i = 0; i < 20 && up.requests.length === 0; i++) await tick();
  assert.equal(up.requests.length, 1);
  c.closeWrite();
  for (let i = 0; i < 50 && !closed; i++) await tick();
  assert.ok(closed, "the client connection stayed open");
  assert.ok((up.conns[0] as FakeConn).closed, "the upstream connection of the cancelled request is still open");
  // The pending slot was given back: a new request is forwarded, not shed.
  const r = await exchange(await client(), "GET /next HTTP/1.1\r\nHost: web\r\n\r\n");
  assert.doesNotMatch(r, /load-shed/);
  assert.equal(up.requests.length, 2);
});

test("a FIN seen during detection reaches the opaque upstream", async () => {
  const net = new FakeNet();
  let upstreamEnded = false;
  let received = "";
  void net.listen({ host: "127.0.0.1", port: 9001 }, (c) => c.setHandlers({
    data: (b) => void (received += dec(b)),
    end: () => { upstreamEnded = true; c.close(); },
    close() {},
  }));
  const rt = { name: "node", net, clock: new FakeClock(), random: () => 0, tls: {} as Runtime["tls"], http: {} as Runtime["http"], stdout() {}, stderr() {} } as Runtime;
  const proxy = createProxy(rt, config({ outbound: { port: 4140, opaqueService: "web" }, services: [{ name: "web", hostnames: ["web"], endpoints: ["127.0.0.1:9001"] }] }), { metrics: new MetricsStore(), log() {} });
  await proxy.start();
  const c = (await net.connect({ host: "127.0.0.1", port: 4140 })) as FakeConn;
  c.setHandlers({ data() {}, end() {}, close() {} });
  c.write(enc("hel")); // too short to decide: the FIN decides
  c.closeWrite();
  for (let i = 0; i < 20 && !upstreamEnded; i++) await tick();
  assert.equal(received, "hel");
  assert.ok(upstreamEnded, "the client's FIN was passed on");
});

test("a request read just as shutdown begins is answered (Connection: close), not dropped", async () => {
  const { proxy, client } = single(() => "ok");
  await proxy.start();
  const c = await client();
  const done = proxy.shutdown(10_000);
  const r = await exchange(c, "GET / HTTP/1.1\r\nHost: web\r\n\r\n");
  await done;
  assert.match(r, /^HTTP\/1\.1 200 OK/);
  assert.match(r, /connection: close/);
});
