// The HTTP/2 engine against real peers, on the Node adapter over loopback TCP: our server role against nghttp,
// curl, h2load and node:http2's client; our client role against a node:http2 server (plain answers, trailers,
// concurrency limits, GOAWAY, resets).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants as fsConstants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRuntime } from "../../adapters/node/mod.ts";
import { ErrorCode } from "../../core/http2/frames/constants.ts";
import { Http2Connection, type Http2RequestHead, type Http2Stream } from "../../core/http2/connection.ts";
import type { Http2ResponseHead } from "../../core/http2/message-checks.ts";
import type { Listener } from "../../core/ports.ts";

const rt = createRuntime();
const MiB = 1024 * 1024;
const BIG = Buffer.alloc(4 * MiB);
for (let i = 0; i < BIG.length; i++) BIG[i] = (i * 7 + (i >>> 11)) & 0xff;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const TIMEOUT = { timeout: 60_000 };

function hasBinary(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs a binary (our child only, killed by PID on timeout); resolves its exit code and output. */
function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      reject(new Error(`${cmd} timed out after ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

// ---- our server -----------------------------------------------------------------------------------------------

interface TestServer {
  port: number;
  listener: Listener;
  conns: Http2Connection[];
  errors: Error[];
  resets: string[];
}

/** Streams the whole of `body` (then `trailers`), honouring write() backpressure. */
function pump(s: Http2Stream, body: Uint8Array, trailers: string[] | null, onDrain: { fn: () => void }) {
  let at = 0;
  const step = () => {
    while (at < body.length) {
      const n = Math.min(64 * 1024, body.length - at);
      const ok = s.write(body.subarray(at, at + n));
      at += n;
      if (!ok) return;
    }
    s.end(trailers);
  };
  onDrain.fn = step;
  step();
}

/** /echo: the body back, then trailers; /big: 4 MiB; /headers: the request head as JSON; /slow: never answers. */
function app(server: TestServer) {
  return (s: Http2Stream, head: Http2RequestHead) => {
    const drain = { fn: () => {} };
    const path = head.path.split("?")[0]!;
    if (path.startsWith("/echo")) {
      let n = 0;
      const hash = createHash("sha256");
      s.respond(200, ["content-type", "application/octet-stream", "x-method", head.method], false);
      s.setHandlers({
        data(c) {
          n += c.length;
          hash.update(c);
          if (!s.write(c)) s.pause();
        },
        end(t) {
          s.end(["x-echo-bytes", String(n), "x-echo-sha256", hash.digest("hex"), "x-request-trailers", t === null ? "none" : t.join(":")]);
        },
        reset: (code, byPeer) => server.resets.push(`${head.path} ${code} ${byPeer}`),
        drain: () => s.resume(),
      });
      return;
    }
    s.setHandlers({
      data() {},
      end() {
        if (path === "/big") {
          s.respond(200, ["content-type", "application/octet-stream", "content-length", String(BIG.length)], false);
          pump(s, BIG, null, drain);
        } else if (path === "/headers") {
          const body = Buffer.from(
            JSON.stringify({ method: head.method, scheme: head.scheme, authority: head.authority, path: head.path, headers: head.headers }),
          );
          s.respond(200, ["content-type", "application/json", "content-length", String(body.length)], false);
          s.write(body);
          s.end();
        } else if (path !== "/slow") {
          s.respond(404, [], true);
        }
      },
      reset: (code, byPeer) => server.resets.push(`${head.path} ${code} ${byPeer}`),
      drain: () => drain.fn(),
    });
  };
}

async function startServer(): Promise<TestServer> {
  const server: TestServer = { port: 0, listener: null!, conns: [], errors: [], resets: [] };
  const onStream = app(server);
  server.listener = await rt.net.listen({ host: "127.0.0.1", port: 0 }, (conn) => {
    const h2 = new Http2Connection(
      conn,
      { role: "server", clock: rt.clock },
      {
        stream: onStream,
        close(err) {
          if (err !== undefined) server.errors.push(err);
        },
      },
    );
    server.conns.push(h2);
    h2.start();
  });
  server.port = server.listener.local.port;
  return server;
}

// ---- our server against real clients ---------------------------------------------------------------------------

describe("our server", () => {
  let server: TestServer;
  let dir: string;
  let uploadPath: string;
  const upload = Buffer.alloc(5 * MiB + 123);
  for (let i = 0; i < upload.length; i++) upload[i] = (i * 13 + 5) & 0xff;

  before(async () => {
    server = await startServer();
    dir = mkdtempSync(join(tmpdir(), "meshlet-h2-interop-"));
    uploadPath = join(dir, "upload.bin");
    writeFileSync(uploadPath, upload);
  });
  after(async () => {
    for (const c of server.conns) c.destroy();
    await server.listener.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

  describe("nghttp", () => {
    const bin = "/usr/bin/nghttp";
    test("GET /headers with -v: prior knowledge, SETTINGS exchange, JSON answer", { ...TIMEOUT, skip: !hasBinary(bin) && "nghttp missing" }, async () => {
      const r = await run(bin, ["-v", "-H", "x-custom: from-nghttp", url("/headers")]);
      const out = r.stdout.toString();
      assert.equal(r.code, 0, r.stderr + out);
      assert.match(out, /recv SETTINGS frame/);
      assert.match(out, /:status: 200/);
      const json = JSON.parse(/\{"method".*?"headers":\[.*?\]\}/.exec(out)![0]);
      assert.equal(json.path, "/headers");
      assert.deepEqual(json.headers.slice(json.headers.indexOf("x-custom"), json.headers.indexOf("x-custom") + 2), ["x-custom", "from-nghttp"]);
      assert.doesNotMatch(out, /RST_STREAM|GOAWAY.*error_code=[1-9]/);
    });

    test("upload with a request trailer to /echo over small windows (-w 14 -W 16)", { ...TIMEOUT, skip: !hasBinary(bin) && "nghttp missing" }, async () => {
      const r = await run(bin, ["-v", "-w", "14", "-W", "16", "-d", uploadPath, "--trailer", "x-up: done", url("/echo")]);
      assert.equal(r.code, 0, r.stderr);
      const out = r.stdout.toString("latin1");
      assert.match(out, /x-echo-bytes: 5243003/);
      assert.match(out, new RegExp(`x-echo-sha256: ${sha(upload)}`));
      assert.match(out, /x-request-trailers: x-up:done/);
    });

    test("GET /big (4 MiB) arrives whole", { ...TIMEOUT, skip: !hasBinary(bin) && "nghttp missing" }, async () => {
      const r = await run(bin, [url("/big")]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, BIG.length);
      assert.equal(sha(r.stdout), sha(BIG));
    });

    test("-m 50 concurrent requests on one connection", { ...TIMEOUT, skip: !hasBinary(bin) && "nghttp missing" }, async () => {
      const r = await run(bin, ["-n", "-s", "-m", "50", url("/headers")]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((r.stdout.toString().match(/ 200 /g) ?? []).length, 50, r.stdout.toString());
    });
  });

  describe("curl --http2-prior-knowledge", () => {
    const bin = "/usr/bin/curl";
    test("a 5 MiB upload with custom headers is echoed, over HTTP/2", { ...TIMEOUT, skip: !hasBinary(bin) && "curl missing" }, async () => {
      const outPath = join(dir, "curl-echo.bin");
      const hdrPath = join(dir, "curl-echo.headers");
      const r = await run(bin, [
        "-sS",
        "--http2-prior-knowledge",
        "-H",
        "X-Custom: from-curl",
        "-H",
        "Content-Type: application/x-test",
        "--data-binary",
        `@${uploadPath}`,
        "-D",
        hdrPath,
        "-o",
        outPath,
        "-w",
        "%{http_version} %{response_code}",
        url("/echo"),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), "2 200");
      const body = readFileSync(outPath);
      assert.equal(body.length, upload.length);
      assert.equal(sha(body), sha(upload));
      const headers = readFileSync(hdrPath, "latin1");
      assert.match(headers, /x-method: POST/);
      assert.match(headers, new RegExp(`x-echo-sha256: ${sha(upload)}`), "trailers reach curl");
    });

    test("GET /headers shows the -H fields", { ...TIMEOUT, skip: !hasBinary(bin) && "curl missing" }, async () => {
      const r = await run(bin, ["-sS", "--http2-prior-knowledge", "-H", "X-One: 1", "-H", "X-Two: two words", url("/headers?q=1")]);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout.toString());
      assert.equal(json.path, "/headers?q=1");
      assert.equal(json.authority, `127.0.0.1:${server.port}`);
      const h: string[] = json.headers;
      assert.equal(h[h.indexOf("x-one") + 1], "1");
      assert.equal(h[h.indexOf("x-two") + 1], "two words");
    });

    test("GET /big", { ...TIMEOUT, skip: !hasBinary(bin) && "curl missing" }, async () => {
      const r = await run(bin, ["-sS", "--http2-prior-knowledge", url("/big")]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(sha(r.stdout), sha(BIG));
    });
  });

  describe("h2load", () => {
    const bin = "/usr/bin/h2load";
    test("-n 2000 -c 4 -m 10: all succeed", { ...TIMEOUT, skip: !hasBinary(bin) && "h2load missing" }, async () => {
      const r = await run(bin, ["-n", "2000", "-c", "4", "-m", "10", url("/headers")], 60_000);
      const out = r.stdout.toString();
      assert.equal(r.code, 0, r.stderr + out);
      assert.match(out, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/);
      assert.match(out, /status codes: 2000 2xx/);
    });

    test("POST bodies: -n 400 -c 2 -m 20 -d upload", { ...TIMEOUT, skip: !hasBinary(bin) && "h2load missing" }, async () => {
      const small = join(dir, "small.bin");
      writeFileSync(small, upload.subarray(0, 100_000));
      const r = await run(bin, ["-n", "400", "-c", "2", "-m", "20", "-d", small, url("/echo")], 60_000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout.toString(), /400 succeeded, 0 failed, 0 errored/);
    });
  });

  describe("node:http2 client", () => {
    let session: http2.ClientHttp2Session;
    before(() => {
      session = http2.connect(url("/"));
    });
    after(() => session.close());

    function request(path: string, body?: Uint8Array, method = body ? "POST" : "GET") {
      return new Promise<{ status: number; body: Buffer; trailers: http2.IncomingHttpHeaders | null; headers: http2.IncomingHttpHeaders }>((resolve, reject) => {
        const req = session.request({ ":method": method, ":path": path, "x-test": "node" }, { endStream: body === undefined });
        const chunks: Buffer[] = [];
        let trailers: http2.IncomingHttpHeaders | null = null;
        let headers: http2.IncomingHttpHeaders = {};
        req.on("response", (h) => (headers = h));
        req.on("trailers", (t) => (trailers = t));
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => resolve({ status: Number(headers[":status"]), body: Buffer.concat(chunks), trailers, headers }));
        req.on("error", reject);
        if (body !== undefined) req.end(body);
      });
    }

    test("200 concurrent echo streams", TIMEOUT, async () => {
      const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => request(`/echo/${i}`, Buffer.from(`body ${i} `.repeat(i + 1)))));
      rs.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), `body ${i} `.repeat(i + 1));
        assert.equal(r.trailers?.["x-echo-bytes"], String(r.body.length));
      });
    });

    test("a 4 MiB upload comes back with its trailers", TIMEOUT, async () => {
      const r = await request("/echo", BIG);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, BIG.length);
      assert.equal(sha(r.body), sha(BIG));
      assert.equal(r.trailers?.["x-echo-sha256"], sha(BIG));
    });

    test("a 4 MiB download", TIMEOUT, async () => {
      const r = await request("/big");
      assert.equal(r.headers["content-length"], String(BIG.length));
      assert.equal(sha(r.body), sha(BIG));
    });

    test("client-side RST_STREAM (stream.close(NGHTTP2_CANCEL)) reaches our stream", TIMEOUT, async () => {
      const req = session.request({ ":method": "GET", ":path": "/slow" });
      req.on("error", () => {});
      const closed = new Promise<void>((r) => req.on("close", () => r()));
      await new Promise((r) => setTimeout(r, 50));
      req.close(http2.constants.NGHTTP2_CANCEL);
      await closed;
      for (let i = 0; i < 50 && !server.resets.includes(`/slow ${ErrorCode.CANCEL} true`); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(server.resets.includes(`/slow ${ErrorCode.CANCEL} true`), server.resets.join("; "));
      const r = await request("/headers");
      assert.equal(r.status, 200, "the session is still usable");
    });

    test("no connection ended with an error", () => {
      assert.deepEqual(server.errors.map((e) => e.message), []);
    });
  });
});

// ---- our client against a node:http2 server ---------------------------------------------------------------------

interface NodeServer {
  server: http2.Http2Server;
  port: number;
  sessions: Set<http2.ServerHttp2Session>;
}

async function nodeServer(handler: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void, settings: http2.Settings = {}): Promise<NodeServer> {
  const server = http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { server, port: (server.address() as AddressInfo).port, sessions };
}

async function closeNodeServer(n: NodeServer) {
  for (const s of n.sessions) s.destroy();
  await new Promise<void>((r) => n.server.close(() => r()));
}

interface Result {
  head: Http2ResponseHead | null;
  body: Buffer;
  trailers: string[] | null;
  reset: { code: number; byPeer: boolean } | null;
}

async function ourClient(port: number) {
  const conn = await rt.net.connect({ host: "127.0.0.1", port });
  const state = { closed: false, err: undefined as Error | undefined, goaways: [] as Array<[number, number]>, capacity: 0 };
  const waiters: Array<() => void> = [];
  const h2 = new Http2Connection(
    conn,
    { role: "client", clock: rt.clock },
    {
      capacity: () => {
        state.capacity++;
        for (const w of waiters.splice(0)) w();
      },
      goaway: (last, code) => state.goaways.push([last, code]),
      close(err) {
        state.closed = true;
        state.err = err;
      },
    },
  );
  h2.start();
  function send(path: string, body?: Uint8Array, extra: string[] = []): { promise: Promise<Result>; stream: Http2Stream } {
    let stream!: Http2Stream;
    const promise = new Promise<Result>((resolve) => {
      const r: Result = { head: null, body: Buffer.alloc(0), trailers: null, reset: null };
      const chunks: Buffer[] = [];
      stream = h2.request(
        { method: body ? "POST" : "GET", scheme: "http", authority: `127.0.0.1:${port}`, path, headers: ["x-from", "meshlet", ...extra] },
        body === undefined,
        {
          head: (h) => (r.head = h),
          data: (c) => chunks.push(Buffer.from(c)),
          end: (t) => {
            r.trailers = t;
            r.body = Buffer.concat(chunks);
            resolve(r);
          },
          reset: (code, byPeer) => {
            r.reset = { code, byPeer };
            r.body = Buffer.concat(chunks);
            resolve(r);
          },
          drain: () => drain.fn(),
        },
      );
      const drain = { fn: () => {} };
      if (body !== undefined) pump(stream, body, null, drain);
    });
    return { promise, stream };
  }
  /** Waits until a stream can be opened. */
  async function slot() {
    while (!h2.canOpenStream) await new Promise<void>((r) => waiters.push(r));
  }
  return { h2, state, send, slot };
}

/** node:http2 echo: the body back with trailers; 4 MiB for /big; hangs on /slow. */
function nodeEcho(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) {
  const path = String(headers[":path"]);
  if (path === "/big") {
    stream.respond({ ":status": 200, "content-length": BIG.length });
    stream.end(BIG);
    return;
  }
  if (path === "/slow") return;
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.on("end", () => {
    const body = Buffer.concat(chunks);
    stream.respond({ ":status": 200, "x-seen-from": String(headers["x-from"]) }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "x-bytes": String(body.length), "x-sha256": sha(body) }));
    stream.end(body);
  });
}

describe("our client against node:http2", () => {
  test("GETs, a 4 MiB upload with trailers back, a 4 MiB download", TIMEOUT, async () => {
    const ns = await nodeServer(nodeEcho);
    const c = await ourClient(ns.port);
    try {
      const a = await c.send("/hello").promise;
      assert.equal(a.head?.status, 200);
      assert.equal(a.head?.headers[a.head.headers.indexOf("x-seen-from") + 1], "meshlet");
      assert.deepEqual(a.trailers, ["x-bytes", "0", "x-sha256", sha(Buffer.alloc(0))]);
      const up = await c.send("/echo", BIG).promise;
      assert.equal(up.body.length, BIG.length);
      assert.equal(sha(up.body), sha(BIG));
      assert.deepEqual(up.trailers, ["x-bytes", String(BIG.length), "x-sha256", sha(BIG)]);
      const down = await c.send("/big").promise;
      assert.equal(down.head?.contentLength, BIG.length);
      assert.equal(sha(down.body), sha(BIG));
    } finally {
      c.h2.destroy();
      await closeNodeServer(ns);
    }
    assert.equal(c.state.err, undefined);
  });

  test("300 requests through MAX_CONCURRENT_STREAMS 20: capacity() paces them", TIMEOUT, async () => {
    const ns = await nodeServer(nodeEcho, { maxConcurrentStreams: 20 });
    const c = await ourClient(ns.port);
    try {
      // Until the server's SETTINGS arrive, 100 streams are assumed (extra ones would be refused, retry-safe).
      await c.send("/first").promise;
      const all: Promise<Result>[] = [];
      for (let i = 0; i < 300; i++) {
        await c.slot();
        all.push(c.send(`/n/${i}`, Buffer.from(`#${i}`)).promise);
      }
      const rs = await Promise.all(all);
      rs.forEach((r, i) => assert.equal(r.body.toString(), `#${i}`));
      assert.equal(c.h2.peerMaxConcurrentStreams, 20);
      assert.ok(c.state.capacity > 0);
    } finally {
      c.h2.destroy();
      await closeNodeServer(ns);
    }
  });

  test("a server GOAWAY (lastStreamId 1): stream 1 finishes, later ones are refused and retry-safe", TIMEOUT, async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const ns = await nodeServer((stream) => {
      held.push(stream);
      stream.on("error", () => {});
      if (held.length === 3) {
        stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
        setTimeout(() => {
          held[0]!.respond({ ":status": 200 });
          held[0]!.end("first");
        }, 50);
      }
    });
    const c = await ourClient(ns.port);
    try {
      const rs = [c.send("/1"), c.send("/2"), c.send("/3")].map((x) => x.promise);
      const [a, b, d] = await Promise.all(rs);
      assert.equal(a!.body.toString(), "first");
      assert.deepEqual(b!.reset, { code: ErrorCode.REFUSED_STREAM, byPeer: true });
      assert.deepEqual(d!.reset, { code: ErrorCode.REFUSED_STREAM, byPeer: true });
      assert.deepEqual(c.state.goaways, [[1, ErrorCode.NO_ERROR]]);
      assert.equal(c.h2.canOpenStream, false);
      for (let i = 0; i < 100 && !c.state.closed; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(c.state.closed, true, "closed once stream 1 finished");
      assert.equal(c.state.err, undefined);
    } finally {
      c.h2.destroy();
      await closeNodeServer(ns);
    }
  });

  test("a graceful session.close() from the server: in-flight requests finish", TIMEOUT, async () => {
    const ns = await nodeServer((stream, headers) => {
      stream.session!.close(); // GOAWAY(NO_ERROR), then waits for this stream
      nodeEcho(stream, headers);
    });
    const c = await ourClient(ns.port);
    try {
      const r = await c.send("/x", Buffer.from("abc")).promise;
      assert.equal(r.body.toString(), "abc");
      assert.equal(c.state.goaways.length >= 1, true);
      for (let i = 0; i < 100 && !c.state.closed; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(c.state.closed, true);
    } finally {
      c.h2.destroy();
      await closeNodeServer(ns);
    }
  });

  test("a server that resets streams: reset(code, true), the connection stays usable", TIMEOUT, async () => {
    const ns = await nodeServer((stream, headers) => {
      if (headers[":path"] === "/reset") {
        stream.on("error", () => {});
        stream.respond({ ":status": 200 });
        stream.write("partial");
        // node's stream.close(code) ends the stream cleanly here; destroy(err) sends RST_STREAM(INTERNAL_ERROR).
        setTimeout(() => stream.destroy(new Error("boom")), 30);
        return;
      }
      nodeEcho(stream, headers);
    });
    const c = await ourClient(ns.port);
    try {
      const r = await c.send("/reset").promise;
      assert.deepEqual(r.reset, { code: ErrorCode.INTERNAL_ERROR, byPeer: true });
      const ok = await c.send("/after", Buffer.from("still here")).promise;
      assert.equal(ok.body.toString(), "still here");
    } finally {
      c.h2.destroy();
      await closeNodeServer(ns);
    }
  });

  test("our client-side reset reaches the node:http2 server", TIMEOUT, async () => {
    let serverSawClose: number | null = null;
    const ns = await nodeServer((stream) => {
      stream.on("close", () => (serverSawClose = stream.rstCode));
      stream.on("error", () => {});
    });
    const c = await ourClient(ns.port);
    try {
      const { stream } = c.send("/slow");
      await new Promise((r) => setTimeout(r, 50));
      stream.reset(ErrorCode.CANCEL);
      for (let i = 0; i < 100 && serverSawClose === null; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(serverSawClose, http2.constants.NGHTTP2_CANCEL);
    } finally {
      c.h2.destroy();
      await closeNodeServer(ns);
    }
  });
});
