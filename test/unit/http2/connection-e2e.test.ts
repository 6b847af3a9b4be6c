// Client engine <-> server engine over an in-memory Conn pair: requests, bodies, trailers, flow control,
// concurrency, GOAWAY, resets, backpressure, PING and keepalive, SETTINGS changes.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode } from "../../../core/http2/frames/constants.ts";
import type { Http2Stream } from "../../../core/http2/connection.ts";
import type { Http2ConnectionError } from "../../../core/http2/connection.ts";
import { bytesOf, collector, enginePair, get, latin1, settle, settleN, text } from "./connection-helpers.ts";

/** Server app: echoes the request body and answers with trailers when asked. */
function echo(s: Http2Stream, head: { path: string; headers: string[] }) {
  const chunks: Uint8Array[] = [];
  s.setHandlers({
    data: (c) => chunks.push(c.slice()),
    end: (t) => {
      s.respond(200, ["x-path", head.path, "x-req-trailers", t === null ? "none" : t.join("=")], false);
      for (const c of chunks) s.write(c);
      s.end(head.path === "/trailers" ? ["x-checksum", String(chunks.reduce((n, c) => n + c.length, 0))] : null);
    },
    reset: () => {},
  });
}

describe("requests end to end", () => {
  test("a GET gets its response; streams close and the counts go back to zero", async () => {
    const { client, server, log } = enginePair();
    const { h, r } = collector();
    const s = client.conn.request(get("/hello", ["accept", "*/*"]), true, h);
    assert.equal(s.id, 1);
    assert.equal(s.state, "half-closed-local");
    assert.equal(client.conn.activeStreams, 1);
    await settle();
    assert.equal(r.status, 200);
    assert.equal(r.body(), "ok");
    assert.equal(r.ended, true);
    assert.deepEqual(r.headers, ["content-type", "text/plain"]);
    assert.equal(s.state, "closed");
    assert.deepEqual(log, ["s1 end"]);
    const head = server.streams[0]!.head;
    assert.equal(head.method, "GET");
    assert.equal(head.path, "/hello");
    assert.equal(head.authority, "example.com");
    assert.equal(head.scheme, "http");
    assert.equal(head.endStream, true);
    assert.equal(head.contentLength, -1);
    assert.deepEqual(head.headers, ["accept", "*/*"]);
    assert.equal(client.conn.activeStreams, 0);
    assert.equal(server.conn.activeStreams, 0);
    assert.equal(client.conn.peerMaxConcurrentStreams, 100);
  });

  test("a POST body and trailers both ways", async () => {
    const { client } = enginePair({ onStream: echo });
    const { h, r } = collector();
    const s = client.conn.request({ ...get("/trailers"), method: "POST" }, false, h);
    assert.equal(s.write(latin1("hello ")), true);
    s.write(latin1("world"));
    s.end(["x-client-trailer", "yes"]);
    await settle();
    assert.equal(r.status, 200);
    assert.equal(r.body(), "hello world");
    assert.deepEqual(r.trailers, ["x-checksum", "11"]);
    assert.deepEqual(r.headers.slice(2), ["x-req-trailers", "x-client-trailer=yes"]);
  });

  test("content-length is reported and checked; header names are lower-cased and connection fields dropped", async () => {
    const { client, server } = enginePair({ onStream: echo });
    const { h, r } = collector();
    const s = client.conn.request(
      { ...get("/"), method: "PUT", headers: ["Content-Length", "3", "Connection", "keep-alive", "Host", "other", "TE", "trailers", "X-Mixed", "A"] },
      false,
      h,
    );
    s.write(latin1("abc"));
    s.end();
    await settle();
    assert.equal(r.body(), "abc");
    const head = server.streams[0]!.head;
    assert.equal(head.contentLength, 3);
    assert.deepEqual(head.headers, ["content-length", "3", "te", "trailers", "x-mixed", "A"]);
  });

  test("HEAD: the response's content-length describes no body", async () => {
    const { client } = enginePair({
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {} });
        s.respond(200, ["content-length", "1234"], true);
      },
    });
    const { h, r } = collector();
    client.conn.request({ ...get("/"), method: "HEAD" }, true, h);
    await settle();
    assert.equal(r.status, 200);
    assert.equal(r.ended, true);
    assert.equal(r.reset, null);
  });

  test("informational responses reach `informational`; 1xx are dropped without it", async () => {
    const { client } = enginePair({
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {} });
        s.informational(100, []);
        s.informational(103, ["link", "</a.css>; rel=preload"]);
        s.respond(204, [], true);
      },
    });
    const infos: string[] = [];
    const { h, r } = collector({ informational: (st, hs) => infos.push(`${st} ${hs.join(",")}`) });
    client.conn.request(get("/"), true, h);
    await settle();
    assert.deepEqual(infos, ["100 ", "103 link,</a.css>; rel=preload"]);
    assert.equal(r.status, 204);
    const second = collector();
    client.conn.request(get("/"), true, { data: second.h.data, end: second.h.end, reset: second.h.reset, head: second.h.head! });
    await settle();
    assert.equal(second.r.status, 204);
  });
});

describe("flow control", () => {
  test("a 1 MiB response over a 16 KiB stream window and 64 KiB connection window arrives whole", async () => {
    const big = bytesOf(1024 * 1024, 7);
    let drains = 0;
    const { client, server } = enginePair({
      client: { initialWindowSize: 16384, connectionWindowSize: 65535 },
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {}, drain: () => drains++ });
        s.respond(200, [], false);
        assert.equal(s.write(big), false, "over the high-water mark");
        s.end();
      },
    });
    const { h, r } = collector();
    client.conn.request(get("/big"), true, h);
    await settleN(5);
    assert.equal(r.ended, true);
    assert.equal(r.bytes(), big.length);
    assert.ok(Buffer.from(Buffer.concat(r.chunks)).equals(Buffer.from(big)));
    assert.equal(drains, 1);
    // Frames were cut at the window: no chunk above 16 KiB.
    assert.ok(r.chunks.every((c) => c.length <= 16384));
    assert.equal(server.conn.activeStreams, 0);
  });

  test("a paused stream stops the sender at the window; resume lets the rest through", async () => {
    const big = bytesOf(300_000, 3);
    let wrote = false;
    let drained = 0;
    let serverStream: Http2Stream | null = null;
    const { client } = enginePair({
      client: { initialWindowSize: 65536 },
      onStream: (s) => {
        serverStream = s;
        s.setHandlers({ data() {}, end() {}, reset() {}, drain: () => drained++ });
        s.respond(200, [], false);
        wrote = s.write(big);
        s.end();
      },
    });
    let cs!: Http2Stream;
    const { h, r } = collector({
      head() {
        cs.pause();
      },
    });
    cs = client.conn.request(get("/"), true, h);
    await settleN(5);
    assert.equal(wrote, false);
    assert.equal(r.bytes(), 0, "nothing delivered while paused");
    // The server could send exactly one window (65536; our SETTINGS were acked before the data).
    assert.equal(serverStream!.state, "half-closed-remote");
    assert.equal(big.length - (serverStream as unknown as { queued: number }).queued, 65536);
    cs.resume();
    await settleN(10);
    assert.equal(r.bytes(), big.length);
    assert.equal(r.ended, true);
    assert.equal(drained, 1);
  });

  test("a 1 MiB upload over a small server window is throttled and completes", async () => {
    const big = bytesOf(1024 * 1024, 9);
    let received = 0;
    const { client } = enginePair({
      server: { initialWindowSize: 20000, connectionWindowSize: 70000 },
      onStream: (s) => {
        s.setHandlers({
          data: (c) => (received += c.length),
          end: () => s.respond(200, ["x-got", String(received)], true),
          reset() {},
        });
      },
    });
    let drains = 0;
    const { h, r } = collector({ drain: () => drains++ });
    const s = client.conn.request({ ...get("/up"), method: "POST" }, false, h);
    for (let i = 0; i < big.length; i += 100_000) s.write(big.subarray(i, i + 100_000));
    s.end();
    await settleN(10);
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers, ["x-got", String(big.length)]);
    assert.ok(drains >= 1);
  });
});

describe("Conn backpressure", () => {
  test("while the Conn refuses writes DATA stops, control frames still go out, and drain resumes it", async () => {
    const big = bytesOf(1024 * 1024, 5);
    const { client, server } = enginePair({
      client: { initialWindowSize: 4 * 1024 * 1024, connectionWindowSize: 8 * 1024 * 1024 },
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {} });
        s.respond(200, [], false);
        s.write(big);
        s.end();
      },
    });
    await settle(); // SETTINGS exchanged: the windows are open
    client.mem.hwm = 32 * 1024;
    client.mem.pause(); // the client stops reading: its unread bytes pile up, the server's write() says false
    const { h, r } = collector();
    client.conn.request(get("/"), true, h);
    await settleN(3);
    const stalledAt = server.mem.writtenBytes;
    assert.ok(stalledAt < 200 * 1024, `DATA stopped early (${stalledAt} octets written)`);
    const rtts: Array<number | null> = [];
    client.conn.ping((rtt) => void rtts.push(rtt));
    await settleN(2);
    assert.equal(server.mem.writtenBytes, stalledAt + 17, "the PING ACK went out, no DATA");
    client.mem.resume();
    await settleN(20);
    assert.equal(r.bytes(), big.length);
    assert.equal(r.ended, true);
    assert.deepEqual(rtts, [0]);
  });
});

describe("concurrency", () => {
  test("200 requests against MAX_CONCURRENT_STREAMS 10: canOpenStream, capacity(), all complete", async () => {
    const { client } = enginePair({ server: { maxConcurrentStreams: 10 } });
    await settle(); // SETTINGS exchanged
    assert.equal(client.conn.peerMaxConcurrentStreams, 10);
    const results: Array<ReturnType<typeof collector>["r"]> = [];
    let opened = 0;
    const openMore = () => {
      while (opened < 200 && client.conn.canOpenStream) {
        const { h, r } = collector();
        results.push(r);
        client.conn.request(get(`/${opened++}`), true, h);
      }
    };
    openMore();
    assert.equal(opened, 10);
    assert.equal(client.conn.canOpenStream, false);
    assert.throws(() => client.conn.request(get("/"), true, collector().h), /no stream can be opened/);
    for (let i = 0; i < 100 && opened < 200; i++) {
      await settle();
      openMore();
    }
    await settleN(3);
    assert.equal(opened, 200);
    assert.ok(results.every((r) => r.status === 200 && r.body() === "ok" && r.ended));
    assert.ok(client.capacity >= 19);
  });

  test("many concurrent streams with interleaved bodies share the connection fairly", async () => {
    const { client } = enginePair({ onStream: echo, client: { connectionWindowSize: 65535 } });
    const rs: Array<ReturnType<typeof collector>["r"]> = [];
    for (let i = 0; i < 50; i++) {
      const { h, r } = collector();
      rs.push(r);
      const s = client.conn.request({ ...get(`/${i}`), method: "POST" }, false, h);
      s.write(bytesOf(40_000, i));
      s.end();
    }
    await settleN(20);
    rs.forEach((r, i) => {
      assert.equal(r.bytes(), 40_000, `stream ${i}`);
      assert.ok(Buffer.concat(r.chunks).equals(Buffer.from(bytesOf(40_000, i))));
    });
  });
});

describe("GOAWAY and shutdown", () => {
  test("server shutdown: in-flight streams finish, the client stops opening, both close cleanly", async () => {
    const pending: Http2Stream[] = [];
    const { client, server } = enginePair({
      onStream: (s) => {
        pending.push(s);
        s.setHandlers({ data() {}, end() {}, reset() {} });
      },
    });
    const a = collector();
    const b = collector();
    client.conn.request(get("/a"), true, a.h);
    client.conn.request(get("/b"), true, b.h);
    await settle();
    server.conn.shutdown();
    assert.equal(server.conn.goingAway, true);
    await settle();
    assert.deepEqual(client.goaways, [[3, ErrorCode.NO_ERROR]]);
    assert.equal(client.conn.goingAway, true);
    assert.equal(client.conn.canOpenStream, false);
    assert.equal(server.closed.done, false);
    for (const s of pending) {
      s.respond(200, [], false);
      s.write(latin1("late"));
      s.end();
    }
    await settleN(3);
    assert.equal(a.r.body(), "late");
    assert.equal(b.r.body(), "late");
    assert.equal(server.closed.done, true);
    assert.equal(server.closed.err, undefined);
    assert.equal(client.closed.done, true);
    assert.equal(client.closed.err, undefined);
  });

  test("shutdown's grace period ends with the rest reset", async () => {
    const { client, server, clock } = enginePair({
      server: { limits: { shutdownGraceMs: 1000 } },
      onStream: (s) => s.setHandlers({ data() {}, end() {}, reset() {} }),
    });
    const a = collector();
    client.conn.request(get("/a"), true, a.h);
    await settle();
    server.conn.shutdown();
    clock.advance(999);
    assert.equal(server.closed.done, false);
    clock.advance(1);
    assert.equal(server.closed.done, true);
    assert.equal((server.closed.err as Http2ConnectionError).code, "SHUTDOWN_TIMEOUT");
    await settleN(2);
    assert.equal(client.closed.done, true);
    assert.ok(a.r.reset !== null);
  });

  test("client shutdown: no new requests, in-flight ones finish", async () => {
    const { client, server } = enginePair();
    const a = collector();
    client.conn.request(get("/a"), true, a.h);
    client.conn.shutdown();
    assert.equal(client.conn.canOpenStream, false);
    await settleN(3);
    assert.equal(a.r.body(), "ok");
    assert.equal(client.closed.done, true);
    assert.equal(client.closed.err, undefined);
    assert.equal(server.closed.done, true);
    assert.deepEqual(server.goaways, [[0, ErrorCode.NO_ERROR]]);
  });

  test("destroy resets open streams on both sides", async () => {
    const log: string[] = [];
    const { client, server } = enginePair({ log, onStream: (s) => s.setHandlers({ data() {}, end() {}, reset: (c) => log.push(`server reset ${c}`) }) });
    const a = collector();
    client.conn.request(get("/a"), true, a.h);
    await settle();
    client.conn.destroy(ErrorCode.INTERNAL_ERROR, new Error("bye"));
    assert.deepEqual(a.r.reset, { code: ErrorCode.INTERNAL_ERROR, byPeer: false });
    assert.equal(client.closed.err?.message, "bye");
    await settleN(2);
    assert.equal(server.closed.done, true);
    assert.equal((server.closed.err as Http2ConnectionError).code, "PEER_GOAWAY");
    assert.deepEqual(log, [`server reset ${ErrorCode.INTERNAL_ERROR}`]);
  });
});

describe("resets", () => {
  test("client reset reaches the server handler; no more calls on the client stream", async () => {
    const log: string[] = [];
    const { client } = enginePair({
      onStream: (s) => s.setHandlers({ data() {}, end: () => log.push("end"), reset: (c, byPeer) => log.push(`reset ${c} ${byPeer}`) }),
    });
    const a = collector();
    const s = client.conn.request({ ...get("/"), method: "POST" }, false, a.h);
    s.write(latin1("x"));
    await settle();
    s.reset();
    assert.equal(s.state, "closed");
    assert.equal(a.r.reset, null);
    assert.equal(s.write(latin1("more")), false);
    await settle();
    assert.deepEqual(log, [`reset ${ErrorCode.CANCEL} true`]);
  });

  test("server reset reaches the client; DATA queued in the same turn is dropped with it", async () => {
    const { client } = enginePair({
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {} });
        s.respond(200, [], false);
        s.write(latin1("partial"));
        queueMicrotask(() => queueMicrotask(() => {
          s.write(latin1("dropped"));
          s.reset(ErrorCode.INTERNAL_ERROR);
        }));
      },
    });
    const a = collector();
    client.conn.request(get("/"), true, a.h);
    await settle();
    assert.equal(a.r.body(), "partial");
    assert.deepEqual(a.r.reset, { code: ErrorCode.INTERNAL_ERROR, byPeer: true });
    assert.equal(a.r.ended, false);
  });
});

describe("complete response, then RST_STREAM(NO_ERROR) (§8.1)", () => {
  test("reset(NO_ERROR) in the turn that queued the response waits for its END_STREAM", async () => {
    const serverLog: string[] = [];
    const { client, server } = enginePair({
      onStream: (s) => {
        s.setHandlers({ data: () => serverLog.push("data"), end: () => serverLog.push("end"), reset: () => serverLog.push("reset") });
        s.respond(413, ["content-type", "text/plain"], false);
        s.write(latin1("too big"));
        s.end();
        s.reset(ErrorCode.NO_ERROR); // the request body will not be read
      },
    });
    const { h, r } = collector();
    const s = client.conn.request({ ...get("/"), method: "POST" }, false, h);
    s.write(bytesOf(1000));
    await settleN(3);
    assert.equal(r.status, 413);
    assert.equal(r.body(), "too big");
    assert.equal(r.ended, true);
    assert.deepEqual(r.reset, { code: ErrorCode.NO_ERROR, byPeer: true });
    assert.deepEqual(serverLog, [], "no handler calls after reset()");
    assert.equal(server.conn.activeStreams, 0);
    assert.equal(client.conn.activeStreams, 0);
  });
});

describe("PING and keepalive", () => {
  test("ping() reports the round trip; null once closed", async () => {
    const { client, clock } = enginePair();
    const rtts: Array<number | null> = [];
    const record = (rtt: number | null) => void rtts.push(rtt);
    client.conn.ping(record);
    clock.advance(5);
    await settle();
    assert.deepEqual(rtts, [5]);
    client.conn.ping(record);
    client.conn.destroy();
    assert.deepEqual(rtts, [5, null]);
    client.conn.ping(record);
    assert.deepEqual(rtts, [5, null, null]);
  });

  test("keepalive pings an idle connection and survives while ACKs come back", async () => {
    const { client, server, clock } = enginePair({ client: { keepAlive: { intervalMs: 1000, timeoutMs: 500 } } });
    await settle();
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      await settle();
      clock.advance(400);
    }
    assert.equal(client.closed.done, false);
    assert.equal(server.closed.done, false);
  });
});

describe("SETTINGS changes", () => {
  test("a peer header table size of 0 is followed by the encoder", async () => {
    const { client } = enginePair({ client: { headerTableSize: 0 }, server: { headerTableSize: 0 } });
    for (let i = 0; i < 3; i++) {
      const a = collector();
      client.conn.request(get(`/${i}`, ["x-long-header", "v".repeat(100)]), true, a.h);
      await settle();
      assert.equal(a.r.body(), "ok");
    }
  });

  test("a bigger header table size than the default works both ways", async () => {
    const { client } = enginePair({ client: { headerTableSize: 65536 }, server: { headerTableSize: 65536 } });
    for (let i = 0; i < 3; i++) {
      const a = collector();
      client.conn.request(get(`/${i}`, ["x-long-header", "v".repeat(3000)]), true, a.h);
      await settle();
      assert.equal(a.r.body(), "ok");
    }
  });
});

describe("big headers", () => {
  test("a 40 KiB header block goes out as HEADERS + CONTINUATION and comes back", async () => {
    const { client, server } = enginePair();
    const a = collector();
    const v = "x".repeat(40_000);
    client.conn.request(get("/", ["x-big", v]), true, a.h);
    await settle();
    assert.equal(a.r.body(), "ok");
    assert.equal(server.streams[0]!.head.headers[1], v);
  });

  test("a header list over maxHeaderListSize gets 431 and the connection lives", async () => {
    const { client, server } = enginePair({ server: { maxHeaderListSize: 1000 } });
    await settle();
    const a = collector();
    client.conn.request(get("/", ["x-big", "y".repeat(2000)]), true, a.h);
    await settle();
    assert.equal(a.r.status, 431);
    assert.equal(a.r.ended, true);
    assert.equal(server.streams.length, 0);
    const b = collector();
    client.conn.request(get("/"), true, b.h);
    await settle();
    assert.equal(b.r.body(), "ok");
    assert.equal(text(latin1("z")), "z");
  });
});

describe("field blocks written in place", () => {
  test("a block that outgrows the room made for it still goes out as one HEADERS frame", async () => {
    const { client, server } = enginePair();
    const v = "m".repeat(12_000);
    for (let round = 0; round < 3; round++) {
      const a = collector();
      client.conn.request(get("/", ["x-mid", v, "x-n", String(round)]), true, a.h);
      await settle();
      assert.equal(a.r.body(), "ok");
      assert.deepEqual(server.streams[round]!.head.headers, ["x-mid", v, "x-n", String(round)]);
    }
  });

  test("trailers over the frame size right after a turn's DATA go out as HEADERS + CONTINUATION", async () => {
    // The DATA copied into the output makes its buffer big enough for the trailers' block to be encoded in
    // it, past SETTINGS_MAX_FRAME_SIZE: the frames are cut from that block.
    const big = "t".repeat(30_000);
    const body = bytesOf(10_000);
    const { client } = enginePair({
      onStream: (s) =>
        s.setHandlers({
          data: () => {},
          end: () => {
            s.respond(200, ["content-type", "application/octet-stream"], false);
            for (let i = 0; i < 3; i++) s.write(body);
            s.end(["x-big", big, "x-after", "1"]);
          },
          reset: () => {},
        }),
    });
    for (let round = 0; round < 3; round++) {
      const a = collector();
      client.conn.request(get("/"), true, a.h);
      await settleN(4);
      assert.equal(a.r.bytes(), 30_000);
      assert.deepEqual(a.r.trailers, ["x-big", big, "x-after", "1"]);
    }
  });
});
