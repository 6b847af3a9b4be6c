// One port-conformance suite, run against each runtime's createRuntime() by node.test.ts, bun.test.ts and
// deno.test.ts. Cases only use the ports, node:assert and (for certificates) node:child_process + openssl.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { isMeshletError } from "../../core/errors.ts";
import type { Conn, ConnHandlers, Listener, Runtime } from "../../core/ports.ts";

/** What a runtime's adapter cannot do yet: the suite states it instead of silently skipping. */
export interface Capabilities {
  /** A TLS server Conn (node:tls over an accepted Conn) can still send after the client's closeWrite(). */
  tlsServerWritesAfterPeerEnd: boolean;
}
export const fullCapabilities: Capabilities = { tlsServerWritesAfterPeerEnd: true };

export interface CaseContext {
  skip(reason: string): void;
  caps: Capabilities;
}
export interface PortCase {
  name: string;
  run(rt: Runtime, t: CaseContext): Promise<void>;
}

const HOST = "127.0.0.1";
const enc = new TextEncoder();
const dec = new TextDecoder();

export function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

function pattern(offset: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = ((offset + i) * 31 + 7) & 255;
  return b;
}

/** Records everything a Conn reports, with counters to check "exactly once". */
export class Recorder implements ConnHandlers {
  chunks: Uint8Array[] = [];
  bytes = 0;
  ends = 0;
  closes = 0;
  closeErr: Error | undefined;
  readonly ended = deferred();
  readonly closed = deferred<Error | undefined>();
  onData?: (chunk: Uint8Array) => void;
  data(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
    this.onData?.(chunk);
  }
  /** Set to answer the peer's FIN with our own (a well-behaved peer; needed where destroy() cannot send RST). */
  onEnd?: () => void;
  end(): void {
    this.ends++;
    this.ended.resolve();
    this.onEnd?.();
  }
  close(err?: Error): void {
    this.closes++;
    this.closeErr = err;
    this.closed.resolve(err);
  }
  text(): string {
    return dec.decode(concat(this.chunks));
  }
}

/** Listens on 127.0.0.1:0 and hands accepted connections out in order. */
export async function server(rt: Runtime): Promise<{ l: Listener; next(): Promise<Conn> }> {
  const waiting: ((c: Conn) => void)[] = [];
  const ready: Conn[] = [];
  const l = await rt.net.listen({ host: HOST, port: 0 }, (c) => {
    const w = waiting.shift();
    if (w) w(c);
    else ready.push(c);
  });
  return {
    l,
    next() {
      const c = ready.shift();
      if (c) return Promise.resolve(c);
      return withTimeout(new Promise<Conn>((r) => waiting.push(r)), 5000, "accept");
    },
  };
}

async function pair(rt: Runtime): Promise<{ l: Listener; client: Conn; srv: Conn }> {
  const s = await server(rt);
  const accepted = s.next();
  const client = await rt.net.connect({ host: HOST, port: s.l.local.port }, { timeoutMs: 5000 });
  const srv = await accepted;
  return { l: s.l, client, srv };
}

/** Drives one full exchange: client sends `total` bytes (obeying backpressure); the server echoes them back. */
async function echoWithBackpressure(rt: Runtime, min: number): Promise<{ clientSawFalse: boolean; drains: number }> {
  const { l, client, srv } = await pair(rt);
  // Server: start paused so the client's buffers fill; echo with backpressure, half-close when the client does.
  const sRec = new Recorder();
  srv.pause();
  sRec.onData = (chunk) => {
    if (!srv.write(chunk)) srv.pause();
  };
  srv.onDrain(() => srv.resume());
  sRec.ended.promise.then(() => srv.closeWrite());
  srv.setHandlers(sRec);

  const cRec = new Recorder();
  client.setHandlers(cRec);
  let drains = 0;
  let sawFalse = false;
  let written = 0;
  const CHUNK = 64 * 1024;
  const CAP = 256 * 1024 * 1024;
  const done = deferred();
  const pump = () => {
    for (;;) {
      if (written >= min && (sawFalse || written >= CAP)) {
        client.closeWrite();
        done.resolve();
        return;
      }
      const ok = client.write(pattern(written, CHUNK));
      written += CHUNK;
      if (!ok) {
        if (!sawFalse) {
          sawFalse = true;
          srv.resume(); // let the server read now that the client has met backpressure
        }
        return; // wait for drain
      }
    }
  };
  client.onDrain(() => {
    drains++;
    pump();
  });
  pump();
  await withTimeout(done.promise, 20000, "client writes");
  await withTimeout(cRec.ended.promise, 20000, "echo end");
  const got = concat(cRec.chunks);
  assert.equal(got.byteLength, written);
  assert.deepEqual(got, pattern(0, written), "echoed bytes intact (and data buffers not reused)");
  client.close();
  await withTimeout(Promise.all([cRec.closed.promise, sRec.closed.promise]), 5000, "close");
  assert.equal(cRec.closes, 1);
  assert.equal(sRec.closes, 1);
  assert.equal(sRec.ends, 1);
  assert.equal(cRec.ends, 1);
  await l.close();
  return { clientSawFalse: sawFalse, drains };
}

function openssl(): string | null {
  try {
    execFileSync("openssl", ["version"], { stdio: "pipe" });
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "meshlet-tls-"));
  try {
    const mk = (name: string) =>
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
          "-subj", `/CN=${name}`, "-addext", `subjectAltName=DNS:${name}`,
          "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`)],
        { stdio: "pipe" },
      );
    mk("localhost");
    mk("client");
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

export const portCases: PortCase[] = [
  {
    name: "listen on port 0, connect, exchange bytes, addresses",
    async run(rt) {
      const { l, client, srv } = await pair(rt);
      assert.ok(l.local.port > 0);
      assert.equal(client.remote.host, HOST);
      assert.equal(client.remote.port, l.local.port);
      assert.equal(srv.local.port, l.local.port);
      assert.equal(srv.remote.port, client.local.port);
      assert.equal(srv.remote.host, HOST);
      const c = new Recorder();
      const s = new Recorder();
      s.onData = () => {
        if (s.text() === "hello") srv.write(enc.encode("world"));
      };
      s.onEnd = () => srv.closeWrite();
      client.setHandlers(c);
      srv.setHandlers(s);
      assert.equal(client.write(enc.encode("hel")), true);
      client.write(enc.encode("lo"));
      await withTimeout(new Promise<void>((r) => (c.onData = () => c.text() === "world" && r())), 5000, "reply");
      client.destroy();
      await withTimeout(Promise.all([c.closed.promise, s.closed.promise]), 5000, "close");
      await l.close();
    },
  },
  {
    name: "echo >= 1 MiB with backpressure: write() returns false, drain fires, bytes intact",
    async run(rt) {
      const r = await echoWithBackpressure(rt, 1024 * 1024);
      assert.ok(r.clientSawFalse, "write() returned false at least once");
      assert.ok(r.drains >= 1, "drain fired");
    },
  },
  {
    name: "half-close both ways: client closeWrite -> server end, server still replies, then both close once",
    async run(rt) {
      const { l, client, srv } = await pair(rt);
      const c = new Recorder();
      const s = new Recorder();
      client.setHandlers(c);
      srv.setHandlers(s);
      client.write(enc.encode("ping"));
      client.closeWrite();
      await withTimeout(s.ended.promise, 5000, "server end");
      assert.equal(s.text(), "ping");
      assert.equal(c.ends, 0);
      await sleep(20);
      assert.equal(s.closes, 0, "half-closed, not closed");
      assert.equal(srv.write(enc.encode("pong")) || true, true);
      srv.write(enc.encode("!"));
      srv.closeWrite();
      await withTimeout(c.ended.promise, 5000, "client end");
      assert.equal(c.text(), "pong!");
      await withTimeout(Promise.all([c.closed.promise, s.closed.promise]), 5000, "both closed");
      await sleep(20);
      assert.deepEqual([c.ends, c.closes, s.ends, s.closes], [1, 1, 1, 1]);
      assert.equal(c.closeErr, undefined);
      assert.equal(s.closeErr, undefined);
      await l.close();
    },
  },
  {
    name: "close() flushes queued writes then closes both directions",
    async run(rt) {
      const { l, client, srv } = await pair(rt);
      const c = new Recorder();
      const s = new Recorder();
      client.setHandlers(c);
      srv.setHandlers(s);
      const big = pattern(0, 512 * 1024);
      srv.write(big);
      srv.close();
      await withTimeout(c.ended.promise, 5000, "client end");
      assert.deepEqual(concat(c.chunks), big);
      client.close();
      await withTimeout(Promise.all([c.closed.promise, s.closed.promise]), 5000, "closed");
      assert.equal(c.closes, 1);
      assert.equal(s.closes, 1);
      await l.close();
    },
  },
  {
    name: "pause/resume (also before setHandlers) holds data back without loss",
    async run(rt) {
      const { l, client, srv } = await pair(rt);
      srv.pause();
      const s = new Recorder();
      srv.setHandlers(s);
      const c = new Recorder();
      client.setHandlers(c);
      const payload = pattern(0, 200 * 1024);
      client.write(payload);
      client.closeWrite();
      await sleep(150);
      assert.equal(s.bytes, 0, "no data while paused");
      assert.equal(s.ends, 0, "no end while paused");
      srv.resume();
      await sleep(5);
      srv.pause();
      const partial = s.bytes;
      await sleep(100);
      assert.equal(s.bytes, partial, "paused again mid-stream");
      srv.resume();
      await withTimeout(s.ended.promise, 5000, "end after resume");
      assert.deepEqual(concat(s.chunks), payload);
      srv.close();
      await withTimeout(Promise.all([c.closed.promise, s.closed.promise]), 5000, "closed");
      await l.close();
    },
  },
  {
    name: "connect refused -> CONNECT_REFUSED",
    async run(rt) {
      const l = await rt.net.listen({ host: HOST, port: 0 }, (c) => c.destroy());
      const port = l.local.port;
      await l.close();
      await sleep(20);
      await assert.rejects(rt.net.connect({ host: HOST, port }, { timeoutMs: 5000 }), (e: unknown) => {
        assert.ok(isMeshletError(e, "CONNECT_REFUSED"), `got ${String(e)}`);
        return true;
      });
      await assert.rejects(rt.net.connect({ host: HOST, port }), (e: unknown) => isMeshletError(e, "CONNECT_REFUSED"));
    },
  },
  {
    name: "connect honours an aborted signal (CONNECT_FAILED; TimeoutError reason -> CONNECT_TIMEOUT)",
    async run(rt) {
      const s = await server(rt);
      const addr = { host: HOST, port: s.l.local.port };
      await assert.rejects(rt.net.connect(addr, { signal: AbortSignal.abort() }), (e: unknown) =>
        isMeshletError(e, "CONNECT_FAILED"));
      const ac = new AbortController();
      ac.abort(new DOMException("deadline", "TimeoutError"));
      await assert.rejects(rt.net.connect(addr, { signal: ac.signal }), (e: unknown) =>
        isMeshletError(e, "CONNECT_TIMEOUT"));
      // Aborting mid-flight: either the abort wins or the connection completes first; never a hang or a leak.
      const ac2 = new AbortController();
      const p = rt.net.connect(addr, { signal: ac2.signal });
      ac2.abort();
      try {
        (await p).destroy();
      } catch (e) {
        assert.ok(isMeshletError(e, "CONNECT_FAILED"), `got ${String(e)}`);
      }
      await sleep(50);
      await s.l.close();
    },
  },
  {
    name: "close handler exactly once; destroy twice and write after close do not throw",
    async run(rt) {
      const { l, client, srv } = await pair(rt);
      const c = new Recorder();
      const s = new Recorder();
      s.onEnd = () => srv.closeWrite();
      client.setHandlers(c);
      srv.setHandlers(s);
      client.destroy(new Error("boom"));
      client.destroy();
      client.close();
      client.closeWrite();
      assert.equal(client.write(enc.encode("late")), false);
      const err = await withTimeout(c.closed.promise, 5000, "client close");
      assert.equal(err?.message, "boom");
      await withTimeout(s.closed.promise, 5000, "server close");
      assert.doesNotThrow(() => srv.write(enc.encode("late")));
      srv.destroy();
      await sleep(50);
      assert.equal(c.closes, 1);
      assert.equal(s.closes, 1);
      await l.close();
    },
  },
  {
    // Node: resetting a socket whose FIN is still being sent used to fail (uv_tcp_close_reset: EINVAL), leaving the
    // handle open forever: no close handler, a leaked fd, and a process spinning at 100% CPU when it exits.
    name: "destroy() right after closeWrite() still closes both sides, once",
    async run(rt) {
      const { l, client, srv } = await pair(rt);
      const c = new Recorder();
      const s = new Recorder();
      s.onEnd = () => srv.closeWrite();
      client.setHandlers(c);
      srv.setHandlers(s);
      client.write(enc.encode("x"));
      client.closeWrite();
      client.destroy();
      await withTimeout(c.closed.promise, 5000, "client close");
      await withTimeout(s.closed.promise, 5000, "server close");
      // The other order, on the accepting side.
      const p2 = await pair(rt);
      const c2 = new Recorder();
      const s2 = new Recorder();
      c2.onEnd = () => p2.client.closeWrite();
      p2.client.setHandlers(c2);
      p2.srv.setHandlers(s2);
      p2.srv.closeWrite();
      p2.srv.destroy();
      await withTimeout(s2.closed.promise, 5000, "server close 2");
      await withTimeout(c2.closed.promise, 5000, "client close 2");
      await sleep(20);
      assert.equal(c.closes + s.closes + c2.closes + s2.closes, 4);
      await l.close();
      await p2.l.close();
    },
  },
  {
    name: "peer closing before setHandlers still reports close once",
    async run(rt) {
      const { l, client, srv } = await pair(rt);
      const c = new Recorder();
      client.setHandlers(c);
      client.destroy();
      await withTimeout(c.closed.promise, 5000, "client close");
      await sleep(50);
      const s = new Recorder();
      s.onEnd = () => srv.closeWrite();
      srv.setHandlers(s);
      await withTimeout(s.closed.promise, 5000, "server close");
      await sleep(20);
      assert.equal(s.closes, 1);
      await l.close();
    },
  },
  {
    name: "clock: timers fire and cancel; now is monotonic; random in [0,1)",
    async run(rt) {
      const t0 = rt.clock.now();
      const fired = deferred<number>();
      rt.clock.setTimer(20, () => fired.resolve(rt.clock.now()));
      let cancelledFired = false;
      const cancel = rt.clock.setTimer(10, () => (cancelledFired = true));
      cancel();
      cancel();
      const keep = setTimeout(() => {}, 1000); // timers are unref'd: keep the test process alive meanwhile
      const t1 = await withTimeout(fired.promise, 2000, "timer");
      clearTimeout(keep);
      assert.ok(t1 - t0 >= 15, `elapsed ${t1 - t0}`);
      await sleep(30);
      assert.equal(cancelledFired, false);
      assert.ok(Math.abs(rt.clock.wallNow() - Date.now()) < 1000);
      for (let i = 0; i < 100; i++) {
        const r = rt.random();
        assert.ok(r >= 0 && r < 1);
      }
    },
  },
  {
    name: "http.serve answers fetch, with the remote address and a streamed request body",
    async run(rt) {
      const l = await rt.http.serve({ host: HOST, port: 0 }, async (req, info) => {
        const body = req.method === "POST" ? await req.text() : "";
        return new Response(JSON.stringify({ path: new URL(req.url).pathname, remote: info.remote, body }), {
          status: 201,
          headers: { "content-type": "application/json", "x-test": "1" },
        });
      });
      try {
        assert.ok(l.local.port > 0);
        const res = await fetch(`http://${HOST}:${l.local.port}/hello`, { method: "POST", body: "payload" });
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("x-test"), "1");
        const j = (await res.json()) as { path: string; remote: { host: string; port: number }; body: string };
        assert.equal(j.path, "/hello");
        assert.equal(j.body, "payload");
        assert.equal(j.remote.host, HOST);
        assert.ok(j.remote.port > 0);
      } finally {
        await withTimeout(l.close(), 5000, "http close");
      }
    },
  },
  {
    name: "tls: accept (with preread) and connect, mTLS, ALPN, SNI, peer certificates, half-close",
    async run(rt, t) {
      const dir = openssl();
      if (dir === null) return t.skip("openssl not available");
      try {
        const read = (f: string) => readFileSync(join(dir, f), "utf8");
        const srvCert = read("localhost.crt");
        const cliCert = read("client.crt");
        const s = await server(rt);
        const accepted = (async () => {
          const raw = await s.next();
          // Detection reads the ClientHello first, then hands it over as `preread`.
          const first = deferred<Uint8Array>();
          raw.setHandlers({ data: (b) => { raw.pause(); first.resolve(b); }, end() {}, close() {} });
          const preread = await withTimeout(first.promise, 5000, "client hello");
          assert.equal(preread[0], 0x16, "a TLS handshake record");
          return rt.tls.accept(raw, {
            cert: srvCert, key: read("localhost.key"), ca: cliCert, requestCert: true, alpn: ["h2", "http/1.1"],
          }, preread);
        })();
        const client = await rt.tls.connect({ host: HOST, port: s.l.local.port }, {
          servername: "localhost", alpn: ["http/1.1"], ca: srvCert, cert: cliCert, key: read("client.key"),
        });
        const srv = await withTimeout(accepted, 5000, "tls accept");
        assert.equal(client.tls?.alpn, "http/1.1");
        assert.equal(srv.tls?.alpn, "http/1.1");
        assert.equal(srv.tls?.sni, "localhost");
        assert.equal(client.tls?.sni, "localhost");
        assert.equal(client.tls?.authorized, true);
        assert.equal(srv.tls?.authorized, true);
        assert.deepEqual(client.tls?.peerCertificate, new Uint8Array(new X509Certificate(srvCert).raw));
        assert.deepEqual(srv.tls?.peerCertificate, new Uint8Array(new X509Certificate(cliCert).raw));
        assert.equal(srv.remote.port, client.local.port);
        const c = new Recorder();
        const sr = new Recorder();
        client.setHandlers(c);
        srv.setHandlers(sr);
        const payload = pattern(0, 300 * 1024);
        srv.write(enc.encode("bye"));
        client.write(payload);
        await withTimeout(new Promise<void>((r) => (c.onData = () => c.text() === "bye" && r())), 5000, "tls reply");
        client.closeWrite();
        await withTimeout(sr.ended.promise, 5000, "tls server end");
        assert.deepEqual(concat(sr.chunks), payload);
        if (t.caps.tlsServerWritesAfterPeerEnd) srv.write(enc.encode("!"));
        srv.closeWrite();
        await withTimeout(c.ended.promise, 5000, "tls client end");
        assert.equal(c.text(), t.caps.tlsServerWritesAfterPeerEnd ? "bye!" : "bye");
        await withTimeout(Promise.all([c.closed.promise, sr.closed.promise]), 5000, "tls closed");
        assert.equal(c.closes, 1);
        assert.equal(sr.closes, 1);

        // An untrusted server certificate fails the client handshake with TLS_FAILED.
        const bad = rt.tls.connect({ host: HOST, port: s.l.local.port }, { servername: "localhost", ca: cliCert });
        const raw2 = await s.next();
        raw2.setHandlers({ data() {}, end: () => raw2.close(), close() {} });
        const accepted2 = rt.tls.accept(raw2, { cert: srvCert, key: read("localhost.key") });
        await assert.rejects(bad, (e: unknown) => isMeshletError(e, "TLS_FAILED"));
        // ...and the server side does not wait forever for a handshake the client abandoned.
        await assert.rejects(withTimeout(accepted2, 5000, "failed accept"), (e: unknown) => isMeshletError(e, "TLS_FAILED"));

        // TLS over an already connected Conn.
        const accepted3 = s.next().then((raw) => rt.tls.accept(raw, { cert: srvCert, key: read("localhost.key") }));
        const plain = await rt.net.connect({ host: HOST, port: s.l.local.port });
        const c3 = await rt.tls.connect(plain, { servername: "localhost", ca: srvCert });
        const s3 = await withTimeout(accepted3, 5000, "tls accept 3");
        assert.equal(c3.tls?.authorized, true);
        assert.equal(s3.tls?.peerCertificate, undefined);
        const r3 = new Recorder();
        s3.setHandlers(r3);
        const rc3 = new Recorder();
        c3.setHandlers(rc3);
        c3.write(enc.encode("over conn"));
        c3.close();
        await withTimeout(r3.ended.promise, 5000, "tls3 end");
        assert.equal(r3.text(), "over conn");
        s3.close();
        await withTimeout(Promise.all([rc3.closed.promise, r3.closed.promise]), 5000, "tls3 closed");
        await s.l.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
