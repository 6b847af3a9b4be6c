// The client role against a raw server: GOAWAY and refused streams, resets, malformed responses, the peer's
// SETTINGS (concurrency, initial window), keepalive and SETTINGS timeouts.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, FrameType, SettingId } from "../../../core/http2/frames/constants.ts";
import { encodeData, encodeHeaders, encodePushPromise } from "../../../core/http2/frames/writer.ts";
import type { Http2ConnectionError } from "../../../core/http2/connection.ts";
import { FakeClock } from "../../support/fake-runtime.ts";
import { bytesOf, clientEngine, collector, errorCodeName, get, latin1, memPair, rawServer, serverEngine, settle, settleN } from "./connection-helpers.ts";

const OK = [":status", "200"];

describe("GOAWAY from the server", () => {
  test("streams above lastStreamId are refused (retry-safe); the rest finish; then a clean close", async () => {
    const { client, peer } = rawServer();
    await settle();
    const a = collector();
    const b = collector();
    const c = collector();
    client.conn.request(get("/a"), true, a.h);
    client.conn.request(get("/b"), true, b.h);
    client.conn.request(get("/c"), true, c.h);
    await settle();
    peer.goawayFrame(1);
    await settle();
    assert.deepEqual(client.goaways, [[1, ErrorCode.NO_ERROR]]);
    assert.deepEqual(b.r.reset, { code: ErrorCode.REFUSED_STREAM, byPeer: true });
    assert.deepEqual(c.r.reset, { code: ErrorCode.REFUSED_STREAM, byPeer: true });
    assert.equal(client.conn.goingAway, true);
    assert.equal(client.conn.canOpenStream, false);
    assert.equal(client.closed.done, false);
    peer.headers(1, OK, false);
    peer.data(1, "done", true);
    await settleN(2);
    assert.equal(a.r.body(), "done");
    assert.equal(a.r.ended, true);
    assert.equal(client.closed.done, true);
    assert.equal(client.closed.err, undefined);
  });

  test("a GOAWAY with an error code and a close: open streams get that code, close gets PEER_GOAWAY", async () => {
    const { client, peer } = rawServer();
    await settle();
    const a = collector();
    client.conn.request(get("/a"), true, a.h);
    await settle();
    peer.goawayFrame(1, ErrorCode.INTERNAL_ERROR);
    peer.conn.close();
    await settleN(2);
    assert.deepEqual(a.r.reset, { code: ErrorCode.INTERNAL_ERROR, byPeer: false });
    assert.equal((client.closed.err as Http2ConnectionError).code, "PEER_GOAWAY");
    assert.equal((client.closed.err as Http2ConnectionError).errorCode, ErrorCode.INTERNAL_ERROR);
  });

  test("the transport closing under open streams: CONNECTION_LOST, streams reset with CANCEL", async () => {
    const { client, peer } = rawServer();
    await settle();
    const a = collector();
    client.conn.request(get("/a"), true, a.h);
    await settle();
    peer.conn.destroy();
    await settleN(2);
    assert.deepEqual(a.r.reset, { code: ErrorCode.CANCEL, byPeer: false });
    assert.equal((client.closed.err as Http2ConnectionError).code, "CONNECTION_LOST");
  });
});

describe("resets from the server", () => {
  test("RST_STREAM reaches the stream as reset(code, true)", async () => {
    const { client, peer } = rawServer();
    await settle();
    const a = collector();
    client.conn.request(get("/"), true, a.h);
    await settle();
    peer.rst(1, ErrorCode.REFUSED_STREAM);
    await settle();
    assert.deepEqual(a.r.reset, { code: ErrorCode.REFUSED_STREAM, byPeer: true });
    assert.equal(client.conn.activeStreams, 0);
    assert.equal(client.capacity >= 1, true);
  });

  test("a complete response then RST_STREAM(NO_ERROR) stops our upload (§8.1)", async () => {
    const { client, peer } = rawServer();
    await settle();
    const a = collector();
    const s = client.conn.request({ ...get("/"), method: "POST" }, false, a.h);
    s.write(latin1("part"));
    await settle();
    peer.headers(1, [":status", "413"], true);
    peer.rst(1, ErrorCode.NO_ERROR);
    await settle();
    assert.equal(a.r.status, 413);
    assert.equal(a.r.ended, true);
    assert.deepEqual(a.r.reset, { code: ErrorCode.NO_ERROR, byPeer: true });
    assert.equal(s.write(latin1("more")), false);
  });
});

function malformedResponse(name: string, send: (p: ReturnType<typeof rawServer>["peer"]) => void, head = false) {
  test(name, async () => {
    const { client, peer } = rawServer();
    await settle();
    const a = collector();
    client.conn.request({ ...get("/"), method: head ? "HEAD" : "GET" }, true, a.h);
    await settle();
    send(peer);
    await settle();
    assert.deepEqual(a.r.reset, { code: ErrorCode.PROTOCOL_ERROR, byPeer: false });
    assert.deepEqual(peer.rsts(1).map((r) => errorCodeName(r.errorCode)), ["PROTOCOL_ERROR"]);
    assert.equal(client.closed.done, false);
    const b = collector();
    client.conn.request(get("/"), true, b.h);
    await settle();
    peer.headers(3, OK, true);
    await settle();
    assert.equal(b.r.status, 200, "the connection still works");
  });
}

describe("malformed responses: stream PROTOCOL_ERROR", () => {
  malformedResponse("no :status", (p) => p.headers(1, ["x-a", "1"], true));
  malformedResponse(":status not three digits", (p) => p.headers(1, [":status", "2000"], true));
  malformedResponse("101 Switching Protocols", (p) => p.headers(1, [":status", "101"], false));
  malformedResponse("a request pseudo-header", (p) => p.headers(1, [...OK, ":path", "/"], true));
  malformedResponse("an upper-case field name", (p) => p.headers(1, [...OK, "X-A", "1"], true));
  malformedResponse("a connection-specific field", (p) => p.headers(1, [...OK, "connection", "close"], true));
  malformedResponse("END_STREAM on a 1xx", (p) => p.headers(1, [":status", "103"], true));
  malformedResponse("DATA before HEADERS", (p) => p.data(1, "x", true));
  malformedResponse("DATA short of content-length", (p) => {
    p.headers(1, [...OK, "content-length", "5"], false);
    p.data(1, "abc", true);
  });
  malformedResponse("trailers without END_STREAM", (p) => {
    p.headers(1, OK, false);
    p.headers(1, ["x-t", "1"], false);
  });
  malformedResponse(
    "DATA in a response to HEAD",
    (p) => {
      p.headers(1, [...OK, "content-length", "3"], false);
      p.data(1, "abc", true);
    },
    true,
  );
  malformedResponse("a response head over our maxHeaderListSize (reset, not 431)", (p) => p.headers(1, [...OK, "x-big", "v".repeat(70_000)], true));
});

describe("responses", () => {
  test("1xx, then the final head, DATA and trailers", async () => {
    const { client, peer } = rawServer();
    await settle();
    const infos: number[] = [];
    const a = collector({ informational: (st) => infos.push(st) });
    client.conn.request(get("/"), true, a.h);
    await settle();
    peer.headers(1, [":status", "100"], false);
    peer.headers(1, [...OK, "content-length", "6"], false);
    peer.data(1, "abc", false);
    peer.send(encodeData(1, latin1("def"), false, 10));
    peer.headers(1, ["x-checksum", "42"], true);
    await settle();
    assert.deepEqual(infos, [100]);
    assert.equal(a.r.body(), "abcdef");
    assert.deepEqual(a.r.trailers, ["x-checksum", "42"]);
  });

  test("our request head on the wire: pseudo-headers first, :authority from Host, cookies and values kept", async () => {
    const { client, peer } = rawServer();
    await settle();
    client.conn.request({ method: "GET", scheme: "https", authority: "", path: "/p?q=1", headers: ["Host", "h.example", "Cookie", "a=1", "cookie", "b=2"] }, true, collector().h);
    client.conn.request({ method: "CONNECT", scheme: "", authority: "db:5432", path: "", headers: [] }, false, collector().h);
    await settle();
    assert.deepEqual(peer.blocks.get(1), [[":method", "GET", ":scheme", "https", ":authority", "h.example", ":path", "/p?q=1", "cookie", "a=1", "cookie", "b=2"]]);
    assert.deepEqual(peer.blocks.get(3), [[":method", "CONNECT", ":authority", "db:5432"]]);
  });
});

describe("connection errors from the server", () => {
  for (const [name, send] of [
    ["PUSH_PROMISE (push is disabled)", (p: ReturnType<typeof rawServer>["peer"]) => p.send(encodePushPromise(1, 2, p.enc.encode([":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a"])))],
    ["HEADERS on an even stream", (p: ReturnType<typeof rawServer>["peer"]) => p.headers(2, OK, true)],
    ["HEADERS on a stream we never opened", (p: ReturnType<typeof rawServer>["peer"]) => p.headers(5, OK, true)],
    ["SETTINGS_ENABLE_PUSH = 1", (p: ReturnType<typeof rawServer>["peer"]) => p.settings([[SettingId.ENABLE_PUSH, 1]])],
  ] as const) {
    test(`${name}: connection PROTOCOL_ERROR`, async () => {
      const { client, peer } = rawServer();
      await settle();
      const a = collector();
      client.conn.request(get("/"), true, a.h);
      await settle();
      send(peer);
      await settle();
      assert.equal(errorCodeName(peer.goaway()!.errorCode), "PROTOCOL_ERROR");
      assert.equal((client.closed.err as Http2ConnectionError).code, "PROTOCOL");
      assert.deepEqual(a.r.reset, { code: ErrorCode.PROTOCOL_ERROR, byPeer: false });
    });
  }
});

describe("the peer's SETTINGS", () => {
  test("MAX_CONCURRENT_STREAMS: 100 assumed first, then the peer's; a raise fires capacity()", async () => {
    const { client, peer } = rawServer({ settings: [[SettingId.MAX_CONCURRENT_STREAMS, 2]] });
    assert.equal(client.conn.peerMaxConcurrentStreams, 100);
    await settle();
    assert.equal(client.conn.peerMaxConcurrentStreams, 2);
    client.conn.request(get("/"), true, collector().h);
    client.conn.request(get("/"), true, collector().h);
    assert.equal(client.conn.canOpenStream, false);
    const before = client.capacity;
    peer.settings([[SettingId.MAX_CONCURRENT_STREAMS, 5]]);
    await settle();
    assert.equal(client.capacity, before + 1);
    assert.equal(client.conn.canOpenStream, true);
  });

  test("a SETTINGS without MAX_CONCURRENT_STREAMS means no limit", async () => {
    const { client } = rawServer();
    await settle();
    assert.equal(client.conn.peerMaxConcurrentStreams, 0xffffffff);
  });

  test("our maxConcurrentStreams of 0 only limits the peer, not our requests", async () => {
    const { client, peer } = rawServer({ client: { maxConcurrentStreams: 0 } });
    await settle();
    const a = collector();
    client.conn.request(get("/"), true, a.h);
    await settle();
    peer.headers(1, OK, true);
    await settle();
    assert.equal(a.r.status, 200);
  });

  test("INITIAL_WINDOW_SIZE while our upload is queued: 0, raised, lowered below what was sent, window updates", async () => {
    const { client, peer } = rawServer({ settings: [[SettingId.INITIAL_WINDOW_SIZE, 0]] });
    await settle();
    const s = client.conn.request({ ...get("/"), method: "POST" }, false, collector().h);
    const body = bytesOf(30_000);
    assert.equal(s.write(body), true);
    s.end();
    await settle();
    assert.equal(peer.bodyBytes(1), 0);
    peer.settings([[SettingId.INITIAL_WINDOW_SIZE, 1000]]);
    await settle();
    assert.equal(peer.bodyBytes(1), 1000);
    peer.settings([[SettingId.INITIAL_WINDOW_SIZE, 10]]); // window: 10 - 1000 = -990
    peer.windowUpdate(1, 990);
    await settle();
    assert.equal(peer.bodyBytes(1), 1000);
    peer.windowUpdate(1, 29_000);
    await settle();
    assert.equal(peer.bodyBytes(1), 30_000);
    assert.equal(peer.endedStreams.has(1), true);
    assert.ok(Buffer.from(latin1(peer.body(1))).equals(Buffer.from(body)));
  });

  test("a HEADER_TABLE_SIZE of 0 makes our encoder stop indexing (size update first)", async () => {
    const { client, peer } = rawServer({ settings: [[SettingId.HEADER_TABLE_SIZE, 0]] });
    await settle();
    for (let i = 0; i < 3; i++) client.conn.request(get("/", ["x-custom", "same-value"]), true, collector().h);
    await settle();
    const firstHeaders = peer.frames.find((f) => f.type === FrameType.HEADERS);
    assert.ok(firstHeaders && firstHeaders.type === FrameType.HEADERS);
    assert.equal(firstHeaders.fragment[0], 0x20, "dynamic table size update to 0");
    assert.deepEqual(peer.blocks.get(5)![0]!.slice(-2), ["x-custom", "same-value"]);
  });
});

describe("timeouts", () => {
  test("keepalive: no PING ACK in time closes with PING_TIMEOUT and resets streams with CANCEL", async () => {
    const { client, peer, clock } = rawServer({ client: { keepAlive: { intervalMs: 2000, timeoutMs: 1000 } } });
    await settle();
    const a = collector();
    client.conn.request(get("/"), true, a.h);
    await settle();
    clock.advance(2000);
    await settle();
    assert.equal(peer.frames.filter((f) => f.type === FrameType.PING && !f.ack).length, 1);
    clock.advance(1000);
    assert.equal((client.closed.err as Http2ConnectionError).code, "PING_TIMEOUT");
    assert.deepEqual(a.r.reset, { code: ErrorCode.CANCEL, byPeer: false });
    await settle();
    assert.equal(errorCodeName(peer.goaway()!.errorCode), "NO_ERROR");
  });

  test("SETTINGS never acknowledged: SETTINGS_TIMEOUT", async () => {
    const { client, peer, clock } = rawServer({ client: { limits: { settingsAckTimeoutMs: 5000 } }, autoAck: false });
    await settle();
    clock.advance(5000);
    await settle();
    assert.equal((client.closed.err as Http2ConnectionError).code, "SETTINGS_TIMEOUT");
    assert.equal(errorCodeName(peer.goaway()!.errorCode), "SETTINGS_TIMEOUT");
  });
});

describe("misc", () => {
  test("HEADERS + CONTINUATION from the server are joined", async () => {
    const { client, peer } = rawServer();
    await settle();
    const a = collector();
    client.conn.request(get("/"), true, a.h);
    await settle();
    peer.send(encodeHeaders(1, peer.enc.encode([...OK, "x-long", "z".repeat(40_000)]), true, 16384));
    await settle();
    assert.equal(a.r.status, 200);
    assert.equal(a.r.headers[1]!.length, 40_000);
  });

  test("request() throws before start() and on a server connection; start() only once", () => {
    const clock = new FakeClock();
    const [a, b] = memPair();
    const client = clientEngine(a, clock);
    assert.equal(client.conn.canOpenStream, false);
    assert.throws(() => client.conn.request(get("/"), true, collector().h), /no stream can be opened/);
    client.conn.start();
    assert.throws(() => client.conn.start(), /twice/);
    const server = serverEngine(b, clock);
    server.conn.start();
    assert.throws(() => server.conn.request(get("/"), true, collector().h), /server connection/);
  });
});
