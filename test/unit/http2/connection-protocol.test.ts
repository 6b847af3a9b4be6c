// Protocol errors against a server engine, driven frame by frame from a raw client: the exact GOAWAY or
// RST_STREAM code, its scope, and whether the connection survived (then a follow-up request must still be
// answered, which also proves the HPACK tables stayed in step).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, FrameType, SettingId } from "../../../core/http2/frames/constants.ts";
import { encodeData, encodeFrame, encodeHeaders, encodePriority, encodePushPromise, encodeSettings, frameHeader } from "../../../core/http2/frames/writer.ts";
import type { Http2Options, Http2RequestHead, Http2Stream } from "../../../core/http2/connection.ts";
import type { Http2ConnectionError } from "../../../core/http2/connection.ts";
import { errorCodeName, latin1, rawClient, RawPeer, settle, settleN } from "./connection-helpers.ts";

type Expect =
  | { conn: number }
  | { stream: number; id: number }
  | { ok: true };

interface Case {
  name: string;
  server?: Partial<Http2Options>;
  onStream?: (s: Http2Stream, head: Http2RequestHead) => void;
  run(p: RawPeer, log: string[]): unknown;
  expect: Expect;
  /** A fresh stream id for the follow-up request when the connection must survive. */
  next?: number;
}

/** The server app used by the cases: holds requests open (no response) so that stream states can be probed. */
function holding(log: string[]) {
  return (s: Http2Stream, head: Http2RequestHead) => {
    log.push(`stream ${s.id} ${head.method} ${head.path}`);
    s.setHandlers({
      data: (c) => log.push(`data ${s.id} ${c.length}`),
      end: (t) => {
        log.push(`end ${s.id}${t ? " " + t.join(",") : ""}`);
        if (head.path === "/answer") s.respond(200, [], true);
      },
      reset: (code, byPeer) => log.push(`reset ${s.id} ${errorCodeName(code)}${byPeer ? " by peer" : ""}`),
    });
  };
}

async function runCase(c: Case) {
  const log: string[] = [];
  const { server, peer } = rawClient({ server: c.server, onStream: c.onStream ?? holding(log), log });
  await settle();
  await c.run(peer, log);
  await settleN(2);
  const goaway = peer.goaway();
  const e = c.expect;
  if ("conn" in e) {
    assert.ok(goaway, `expected GOAWAY ${errorCodeName(e.conn)}; frames: ${peer.frames.map((f) => f.type).join(",")}`);
    assert.equal(errorCodeName(goaway.errorCode), errorCodeName(e.conn));
    assert.equal(server.closed.done, true, "closed");
    assert.equal(server.conn.closed, true);
    const err = server.closed.err as Http2ConnectionError;
    assert.equal(err.errorCode, e.conn);
    return { log, peer, server };
  }
  assert.equal(goaway, undefined, `unexpected GOAWAY ${goaway ? errorCodeName(goaway.errorCode) : ""}`);
  assert.equal(server.closed.done, false);
  if ("stream" in e) {
    const rsts = peer.rsts(e.id);
    assert.equal(rsts.length, 1, `one RST_STREAM on stream ${e.id}, got ${rsts.map((r) => errorCodeName(r.errorCode))}`);
    assert.equal(errorCodeName(rsts[0]!.errorCode), errorCodeName(e.stream));
  } else {
    assert.deepEqual(peer.rsts().map((r) => `${r.streamId} ${errorCodeName(r.errorCode)}`), []);
  }
  if (c.next !== undefined) {
    peer.request(c.next, true, ["x-again", "yes"], "GET", "/answer");
    await settleN(2);
    assert.equal(peer.status(c.next), "200", "the connection still serves requests");
  }
  return { log, peer, server };
}

function cases(title: string, list: Case[]) {
  describe(title, () => {
    for (const c of list) test(c.name, () => runCase(c).then(() => {}));
  });
}

const REQ = [":method", "GET", ":scheme", "http", ":authority", "example.com", ":path", "/"];
const { PROTOCOL_ERROR, STREAM_CLOSED, FLOW_CONTROL_ERROR, REFUSED_STREAM, COMPRESSION_ERROR, FRAME_SIZE_ERROR } = ErrorCode;

cases("§5.1 stream states", [
  { name: "DATA on an idle stream: connection PROTOCOL_ERROR", run: (p) => p.data(1, "x", false), expect: { conn: PROTOCOL_ERROR } },
  { name: "RST_STREAM on an idle stream: connection PROTOCOL_ERROR", run: (p) => p.rst(1), expect: { conn: PROTOCOL_ERROR } },
  { name: "WINDOW_UPDATE on an idle stream: connection PROTOCOL_ERROR", run: (p) => p.windowUpdate(3, 10), expect: { conn: PROTOCOL_ERROR } },
  {
    name: "CONTINUATION without HEADERS: connection PROTOCOL_ERROR",
    run: (p) => p.send(encodeFrame(FrameType.CONTINUATION, 0x4, 1, new Uint8Array(0))),
    expect: { conn: PROTOCOL_ERROR },
  },
  { name: "HEADERS on an even (server) stream id: connection PROTOCOL_ERROR", run: (p) => p.request(2), expect: { conn: PROTOCOL_ERROR } },
  {
    name: "a stream id lower than one already opened: connection PROTOCOL_ERROR (§5.1.1)",
    run: (p) => {
      p.request(5);
      p.request(3);
    },
    expect: { conn: PROTOCOL_ERROR },
  },
  {
    name: "DATA on a half-closed (remote) stream: stream STREAM_CLOSED",
    run: (p) => {
      p.request(1, true);
      p.data(1, "late", false);
    },
    expect: { stream: STREAM_CLOSED, id: 1 },
    next: 3,
  },
  {
    name: "HEADERS on a half-closed (remote) stream: stream STREAM_CLOSED",
    run: (p) => {
      p.request(1, true);
      p.headers(1, ["x-trailer", "1"], true);
    },
    expect: { stream: STREAM_CLOSED, id: 1 },
    next: 3,
  },
  {
    name: "DATA on a stream closed by both END_STREAMs: connection STREAM_CLOSED",
    run: async (p) => {
      p.request(1, true, [], "GET", "/answer");
      await settle();
      p.data(1, "late", false);
    },
    expect: { conn: STREAM_CLOSED },
  },
  {
    name: "HEADERS on a stream closed by both END_STREAMs: connection STREAM_CLOSED",
    run: async (p) => {
      p.request(1, true, [], "GET", "/answer");
      await settle();
      p.request(1, true);
    },
    expect: { conn: STREAM_CLOSED },
  },
  {
    name: "DATA after the peer's own RST_STREAM: stream STREAM_CLOSED",
    run: (p) => {
      p.request(1, false);
      p.rst(1);
      p.data(1, "x", false);
    },
    expect: { stream: STREAM_CLOSED, id: 1 },
    next: 3,
  },
  {
    name: "frames on a stream we reset are ignored, DATA still counted (and returned) on the connection window",
    server: { connectionWindowSize: 65535 },
    onStream: (s, h) => s.setHandlers({ data: () => s.reset(ErrorCode.CANCEL), end: () => h.path === "/answer" && s.respond(200, [], true), reset() {} }),
    run: async (p) => {
      p.request(1, false, ["content-length", "300000"], "POST");
      p.data(1, "first", false);
      await settle();
      for (let i = 0; i < 20; i++) p.data(1, latin1("y".repeat(15000)), false);
      p.headers(1, ["x-trailer", "1"], true);
      p.windowUpdate(1, 5);
      p.rst(1);
      await settle();
      const wu0 = p.frames.filter((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === 0);
      assert.ok(wu0.length >= 5, `connection WINDOW_UPDATEs: ${wu0.length}`);
    },
    expect: { stream: ErrorCode.CANCEL, id: 1 },
    next: 3,
  },
  {
    name: "PRIORITY on idle and open streams is ignored",
    run: (p) => {
      p.send(encodePriority(9, { exclusive: false, dependency: 0, weight: 16 }));
      p.request(1, false);
      p.send(encodePriority(1, { exclusive: true, dependency: 9, weight: 256 }));
    },
    expect: { ok: true },
    next: 3,
  },
  {
    name: "HEADERS with a self-dependent priority: stream PROTOCOL_ERROR, its block still decoded",
    run: (p) => p.send(encodeHeaders(1, p.enc.encode([...REQ, "x-indexed", "abc"]), true, 16384, { priority: { exclusive: false, dependency: 1, weight: 1 } })),
    expect: { stream: PROTOCOL_ERROR, id: 1 },
    next: 3,
  },
  {
    name: "PUSH_PROMISE from a client: connection PROTOCOL_ERROR",
    run: (p) => {
      p.request(1, false);
      p.send(encodePushPromise(1, 2, p.enc.encode(REQ)));
    },
    expect: { conn: PROTOCOL_ERROR },
  },
  {
    name: "streams beyond MAX_CONCURRENT_STREAMS: RST_STREAM REFUSED_STREAM",
    server: { maxConcurrentStreams: 2 },
    run: (p) => {
      p.request(1, false);
      p.request(3, false);
      p.request(5, false);
    },
    expect: { stream: REFUSED_STREAM, id: 5 },
  },
  { name: "unknown frame types are ignored", run: (p) => p.send(encodeFrame(0xbb, 0xff, 1, latin1("whatever"))), expect: { ok: true }, next: 1 },
]);

function malformed(name: string, fields: string[], endStream = true, server?: Partial<Http2Options>): Case {
  return {
    name,
    server,
    run: async (p, log) => {
      p.headers(1, fields, endStream);
      await settle();
      assert.deepEqual(log, [], "the application never saw the request");
    },
    expect: { stream: PROTOCOL_ERROR, id: 1 },
    next: 3,
  };
}

function accepted(name: string, fields: string[], check: (head: Http2RequestHead) => void, server?: Partial<Http2Options>): Case {
  let head: Http2RequestHead | undefined;
  return {
    name,
    server,
    onStream: (s, h) => {
      head = h;
      s.setHandlers({ data() {}, end() {}, reset() {} });
      s.respond(200, [], true);
    },
    run: async (p) => {
      p.headers(1, fields, true);
      await settle();
      assert.equal(p.status(1), "200");
      check(head!);
    },
    expect: { ok: true },
  };
}

const at = (fields: string[], name: string, value: string) => {
  const out = fields.slice();
  out[out.indexOf(name) + 1] = value;
  return out;
};
const without = (fields: string[], name: string) => {
  const out = fields.slice();
  out.splice(out.indexOf(name), 2);
  return out;
};

cases("§8 malformed requests: stream PROTOCOL_ERROR, the connection lives", [
  malformed("upper-case field name", [...REQ, "X-Upper", "1"]),
  malformed("space in a field name", [...REQ, "bad name", "1"]),
  malformed("empty field name", [...REQ, "", "1"]),
  malformed("connection field", [...REQ, "connection", "keep-alive"]),
  malformed("keep-alive field", [...REQ, "keep-alive", "timeout=5"]),
  malformed("proxy-connection field", [...REQ, "proxy-connection", "close"]),
  malformed("transfer-encoding field", [...REQ, "transfer-encoding", "chunked"]),
  malformed("upgrade field", [...REQ, "upgrade", "websocket"]),
  malformed("te other than trailers", [...REQ, "te", "gzip"]),
  malformed("NUL in a value", [...REQ, "x-v", "a\0b"]),
  malformed("CR in a value", [...REQ, "x-v", "a\rb"]),
  malformed("LF in a value", [...REQ, "x-v", "a\nb"]),
  malformed("leading space in a value", [...REQ, "x-v", " a"]),
  malformed("trailing tab in a value", [...REQ, "x-v", "a\t"]),
  malformed("pseudo-header after a regular field", [":method", "GET", "x-v", "1", ":scheme", "http", ":path", "/"]),
  malformed("unknown pseudo-header", [...REQ, ":foo", "bar"].slice(0, 8).concat([":foo", "bar"])),
  malformed("duplicate :path", [...REQ.slice(0, 6), ":path", "/", ":path", "/x"]),
  malformed(":status in a request", [":status", "200", ...REQ]),
  malformed("missing :method", without(REQ, ":method")),
  malformed("missing :scheme", without(REQ, ":scheme")),
  malformed("missing :path", without(REQ, ":path")),
  malformed("empty :path", at(REQ, ":path", "")),
  malformed(":path * with GET", at(REQ, ":path", "*")),
  malformed(":path without a leading / for http", at(REQ, ":path", "index.html")),
  malformed("space in :path", at(REQ, ":path", "/a b")),
  malformed("invalid :method", at(REQ, ":method", "GE T")),
  malformed("CONNECT with :path", [":method", "CONNECT", ":authority", "example.com:443", ":path", "/"]),
  malformed("CONNECT without :authority", [":method", "CONNECT"]),
  malformed(":protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL", [":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":authority", "a", ":path", "/"]),
  malformed("host differs from :authority", [...REQ, "host", "other.example"]),
  malformed("userinfo in :authority", at(REQ, ":authority", "user@example.com")),
  malformed("invalid content-length", [...REQ, "content-length", "12abc"], false),
  malformed("conflicting content-lengths", [...REQ, "content-length", "3", "content-length", "4"], false),
  malformed("content-length > 0 with END_STREAM on HEADERS", [...REQ, "content-length", "3"], true),
  malformed("two host fields", [...without(REQ, ":authority"), "host", "a", "host", "a"]),
]);

cases("§8 well-formed requests", [
  accepted("te: trailers is allowed", [...REQ, "te", "trailers"], (h) => assert.deepEqual(h.headers, ["te", "trailers"])),
  accepted("OPTIONS *", at(at(REQ, ":method", "OPTIONS"), ":path", "*"), (h) => assert.equal(h.path, "*")),
  accepted("CONNECT with only :method and :authority", [":method", "CONNECT", ":authority", "example.com:443"], (h) => {
    assert.equal(h.method, "CONNECT");
    assert.equal(h.authority, "example.com:443");
    assert.equal(h.path, "");
  }),
  accepted(
    "extended CONNECT when advertised",
    [":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "a", ":path", "/chat"],
    (h) => assert.equal(h.protocol, "websocket"),
    { enableConnectProtocol: true },
  ),
  accepted("cookies stay separate fields, in order", [...REQ, "cookie", "a=1", "x-v", "1", "cookie", "b=2"], (h) =>
    assert.deepEqual(h.headers, ["cookie", "a=1", "x-v", "1", "cookie", "b=2"]),
  ),
  accepted("authority from host when :authority is absent", [...without(REQ, ":authority"), "host", "h.example"], (h) => assert.equal(h.authority, "h.example")),
  accepted("repeated identical content-lengths", [...REQ, "content-length", "0", "content-length", "0"], (h) => assert.equal(h.contentLength, 0)),
]);

cases("§8 bodies and trailers", [
  {
    name: "DATA beyond content-length: stream PROTOCOL_ERROR, the application hears reset",
    run: async (p, log) => {
      p.request(1, false, ["content-length", "2"], "POST");
      p.data(1, "abc", false);
      await settle();
      assert.deepEqual(log, ["stream 1 POST /", `reset 1 PROTOCOL_ERROR`]);
    },
    expect: { stream: PROTOCOL_ERROR, id: 1 },
    next: 3,
  },
  {
    name: "END_STREAM short of content-length: stream PROTOCOL_ERROR",
    run: async (p, log) => {
      p.request(1, false, ["content-length", "5"], "POST");
      p.data(1, "abc", true);
      await settle();
      assert.deepEqual(log, ["stream 1 POST /", "data 1 3", `reset 1 PROTOCOL_ERROR`]);
    },
    expect: { stream: PROTOCOL_ERROR, id: 1 },
    next: 3,
  },
  {
    name: "content-length matched across frames and trailers",
    run: async (p, log) => {
      p.request(1, false, ["content-length", "5"], "POST", "/answer");
      p.data(1, "ab", false);
      p.data(1, "cde", false);
      p.headers(1, ["x-sum", "5"], true);
      await settle();
      assert.deepEqual(log, ["stream 1 POST /answer", "data 1 2", "data 1 3", "end 1 x-sum,5"]);
      assert.equal(p.status(1), "200");
    },
    expect: { ok: true },
  },
  {
    name: "trailers with a pseudo-header: stream PROTOCOL_ERROR",
    run: (p) => {
      p.request(1, false, [], "POST");
      p.headers(1, [":path", "/x"], true);
    },
    expect: { stream: PROTOCOL_ERROR, id: 1 },
    next: 3,
  },
  {
    name: "trailers without END_STREAM: stream PROTOCOL_ERROR",
    run: (p) => {
      p.request(1, false, [], "POST");
      p.headers(1, ["x-trailer", "1"], false);
    },
    expect: { stream: PROTOCOL_ERROR, id: 1 },
    next: 3,
  },
  {
    name: "padded DATA: padding is not delivered but counted",
    run: async (p, log) => {
      p.request(1, false, ["content-length", "3"], "POST", "/answer");
      p.send(encodeData(1, latin1("abc"), true, 100));
      await settle();
      assert.deepEqual(log, ["stream 1 POST /answer", "data 1 3", "end 1"]);
    },
    expect: { ok: true },
  },
]);

cases("flow control", [
  {
    name: "DATA beyond the stream window: stream FLOW_CONTROL_ERROR",
    server: { initialWindowSize: 65535 },
    onStream: (s, h) => {
      s.setHandlers({ data() {}, end: () => h.path === "/answer" && s.respond(200, [], true), reset() {} });
      if (h.path !== "/answer") s.pause(); // nothing consumed: no WINDOW_UPDATE
    },
    run: (p) => {
      p.request(1, false, [], "POST");
      for (let i = 0; i < 4; i++) p.data(1, new Uint8Array(16384), false);
    },
    expect: { stream: FLOW_CONTROL_ERROR, id: 1 },
    next: 3,
  },
  {
    name: "DATA beyond the connection window: connection FLOW_CONTROL_ERROR",
    server: { connectionWindowSize: 65535, initialWindowSize: 200000, maxFrameSize: 100000 },
    run: async (p) => {
      await settle();
      p.request(1, false, [], "POST");
      p.data(1, new Uint8Array(70000), false);
    },
    expect: { conn: FLOW_CONTROL_ERROR },
  },
  {
    name: "WINDOW_UPDATE past 2^31-1 on a stream: stream FLOW_CONTROL_ERROR",
    run: (p) => {
      p.request(1, false);
      p.windowUpdate(1, 0x7fffffff);
    },
    expect: { stream: FLOW_CONTROL_ERROR, id: 1 },
    next: 3,
  },
  { name: "WINDOW_UPDATE past 2^31-1 on the connection: connection FLOW_CONTROL_ERROR", run: (p) => p.windowUpdate(0, 0x7fffffff), expect: { conn: FLOW_CONTROL_ERROR } },
  {
    name: "SETTINGS_INITIAL_WINDOW_SIZE pushing a stream window past 2^31-1: connection FLOW_CONTROL_ERROR",
    run: (p) => {
      p.request(1, false);
      p.windowUpdate(1, 0x7fffffff - 65535);
      p.settings([[SettingId.INITIAL_WINDOW_SIZE, 65536]]);
    },
    expect: { conn: FLOW_CONTROL_ERROR },
  },
  {
    name: "WINDOW_UPDATE of 0 on a stream: stream PROTOCOL_ERROR",
    run: (p) => {
      p.request(1, false);
      p.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 1, new Uint8Array(4)));
    },
    expect: { stream: PROTOCOL_ERROR, id: 1 },
    next: 3,
  },
  { name: "WINDOW_UPDATE of 0 on the connection: connection PROTOCOL_ERROR", run: (p) => p.send(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, new Uint8Array(4))), expect: { conn: PROTOCOL_ERROR } },
  { name: "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1: connection FLOW_CONTROL_ERROR", run: (p) => p.settings([[SettingId.INITIAL_WINDOW_SIZE, 0x80000000]]), expect: { conn: FLOW_CONTROL_ERROR } },
]);

cases("HPACK and SETTINGS", [
  { name: "an undecodable field block: connection COMPRESSION_ERROR", run: (p) => p.send(encodeHeaders(1, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), true)), expect: { conn: COMPRESSION_ERROR } },
  { name: "a table size update above our SETTINGS_HEADER_TABLE_SIZE: connection COMPRESSION_ERROR", run: (p) => p.send(encodeHeaders(1, Uint8Array.of(0x3f, 0xe1, 0xff, 0x03), true)), expect: { conn: COMPRESSION_ERROR } },
  { name: "unknown settings are ignored", run: (p) => p.settings([[0x99, 7]]), expect: { ok: true }, next: 1 },
  { name: "SETTINGS_ENABLE_PUSH of 2: connection PROTOCOL_ERROR", run: (p) => p.settings([[SettingId.ENABLE_PUSH, 2]]), expect: { conn: PROTOCOL_ERROR } },
  { name: "SETTINGS ACK with a payload: connection FRAME_SIZE_ERROR", run: (p) => p.send(encodeFrame(FrameType.SETTINGS, 0x1, 0, new Uint8Array(6))), expect: { conn: FRAME_SIZE_ERROR } },
  { name: "a frame over our SETTINGS_MAX_FRAME_SIZE: connection FRAME_SIZE_ERROR", run: (p) => p.send(frameHeader(20000, FrameType.DATA, 0, 1), new Uint8Array(20000)), expect: { conn: FRAME_SIZE_ERROR } },
]);

describe("SETTINGS behaviour", () => {
  test("our SETTINGS are acknowledged or the connection closes with SETTINGS_TIMEOUT", async () => {
    const { server, peer, clock } = rawClient({ autoAck: false });
    await settle();
    clock.advance(29_999);
    assert.equal(server.closed.done, false);
    clock.advance(1);
    await settle();
    assert.equal(errorCodeName(peer.goaway()!.errorCode), "SETTINGS_TIMEOUT");
    assert.equal((server.closed.err as Http2ConnectionError).code, "SETTINGS_TIMEOUT");
  });

  test("the peer's SETTINGS are acknowledged and applied (max frame size, header table size)", async () => {
    const { peer } = rawClient({
      settings: [
        [SettingId.MAX_FRAME_SIZE, 20000],
        [SettingId.HEADER_TABLE_SIZE, 0],
      ],
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {} });
        s.respond(200, ["x-a", "b"], false);
        s.write(new Uint8Array(30000));
        s.end();
      },
    });
    await settle();
    assert.equal(peer.count(FrameType.SETTINGS), 2, "server SETTINGS and its ACK of ours");
    peer.request(1);
    await settle();
    const data = peer.frames.filter((f) => f.type === FrameType.DATA);
    assert.deepEqual(
      data.map((f) => (f.type === FrameType.DATA ? f.data.length : 0)),
      [20000, 10000],
    );
    assert.deepEqual(peer.blocks.get(1), [[":status", "200", "x-a", "b"]]);
  });

  test("SETTINGS_INITIAL_WINDOW_SIZE changes apply to queued DATA: up, down (negative), up again", async () => {
    const { peer } = rawClient({
      settings: [[SettingId.INITIAL_WINDOW_SIZE, 0]],
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {} });
        s.respond(200, [], false);
        s.write(new Uint8Array(50000));
        s.end();
      },
    });
    await settle();
    peer.request(1);
    await settle();
    assert.equal(peer.bodyBytes(1), 0, "window 0: nothing sent");
    peer.settings([[SettingId.INITIAL_WINDOW_SIZE, 1000]]);
    await settle();
    assert.equal(peer.bodyBytes(1), 1000);
    peer.settings([[SettingId.INITIAL_WINDOW_SIZE, 500]]); // the stream window goes to -500
    peer.windowUpdate(1, 400);
    await settle();
    assert.equal(peer.bodyBytes(1), 1000, "still negative (-100)");
    peer.windowUpdate(1, 49_100 + 100);
    await settle();
    assert.equal(peer.bodyBytes(1), 50000);
    assert.equal(peer.endedStreams.has(1), true);
  });
});
