// Every RFC 9113 §4-§6 framing rule: the error code, its scope (stream 0 = connection error, else the stream),
// and whether reading goes on (a valid PING follows each bad frame). Each case is fed whole, byte by byte and
// at every 2-way split.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, Flag, FrameType, SettingId } from "../../../core/http2/frames/constants.ts";
import { FrameReader } from "../../../core/http2/frames/reader.ts";
import { Http2Error, isConnectionError, type Frame } from "../../../core/http2/frames/types.ts";
import {
  encodeData,
  encodeFrame,
  encodeHeaders,
  encodePing,
  encodePriority,
  encodeSettings,
} from "../../../core/http2/frames/writer.ts";
import { bytes, splits, str } from "../http1/helpers.ts";

const { PROTOCOL_ERROR, FRAME_SIZE_ERROR, FLOW_CONTROL_ERROR } = ErrorCode;

/** Short event strings: "frame <type> <stream>" or "error <code> <stream>". */
function read(chunks: Uint8Array[]): string[] {
  const ev: string[] = [];
  const r = new FrameReader({
    frame: (f: Frame) => ev.push(`frame ${f.type} ${"streamId" in f ? f.streamId : 0}`),
    error: (e: Http2Error) => ev.push(`error ${e.code} ${e.streamId}`),
  });
  for (const c of chunks) r.push(c);
  return ev;
}

const raw = (type: number, flags: number, streamId: number, payload: number[] | string): Uint8Array =>
  encodeFrame(type, flags, streamId, typeof payload === "string" ? bytes(payload) : new Uint8Array(payload));
const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const setting = (id: number, value: number): number[] => [id >>> 8, id & 0xff, ...u32(value)];

const PING = encodePing(bytes("pingpong"), false);
const PING_EV = "frame 6 0";
const conn = (code: number): string[] => [`error ${code} 0`];
const stream = (code: number, id: number): string[] => [`error ${code} ${id}`, PING_EV];

interface Rule {
  name: string;
  /** RFC 9113 section. */
  rfc: string;
  wire: Uint8Array;
  /** Events for `wire` followed by a PING. */
  expect: string[];
}

const rules: Rule[] = [
  // §4.2 frame size
  { name: "DATA longer than SETTINGS_MAX_FRAME_SIZE", rfc: "4.2", wire: encodeData(1, new Uint8Array(16385), false), expect: conn(FRAME_SIZE_ERROR) },
  { name: "unknown type longer than SETTINGS_MAX_FRAME_SIZE", rfc: "4.2", wire: raw(0x20, 0, 1, new Array(16385).fill(0)), expect: conn(FRAME_SIZE_ERROR) },
  { name: "a frame of exactly SETTINGS_MAX_FRAME_SIZE is fine", rfc: "4.2", wire: encodeData(1, new Uint8Array(16384), false), expect: ["frame 0 1", PING_EV] },

  // stream 0 where a stream is required
  { name: "DATA on stream 0", rfc: "6.1", wire: raw(FrameType.DATA, 0, 0, "x"), expect: conn(PROTOCOL_ERROR) },
  { name: "HEADERS on stream 0", rfc: "6.2", wire: raw(FrameType.HEADERS, Flag.END_HEADERS, 0, "x"), expect: conn(PROTOCOL_ERROR) },
  { name: "PRIORITY on stream 0", rfc: "6.3", wire: raw(FrameType.PRIORITY, 0, 0, [0, 0, 0, 1, 16]), expect: conn(PROTOCOL_ERROR) },
  { name: "PRIORITY on stream 0 with a bad length (the connection error wins)", rfc: "6.3", wire: raw(FrameType.PRIORITY, 0, 0, [0, 0, 0]), expect: conn(PROTOCOL_ERROR) },
  { name: "RST_STREAM on stream 0", rfc: "6.4", wire: raw(FrameType.RST_STREAM, 0, 0, u32(0)), expect: conn(PROTOCOL_ERROR) },
  { name: "PUSH_PROMISE on stream 0", rfc: "6.6", wire: raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 0, u32(2)), expect: conn(PROTOCOL_ERROR) },
  { name: "CONTINUATION on stream 0", rfc: "6.10", wire: raw(FrameType.CONTINUATION, Flag.END_HEADERS, 0, "x"), expect: conn(PROTOCOL_ERROR) },

  // a stream where stream 0 is required
  { name: "SETTINGS on stream 1", rfc: "6.5", wire: raw(FrameType.SETTINGS, 0, 1, []), expect: conn(PROTOCOL_ERROR) },
  { name: "PING on stream 1", rfc: "6.7", wire: raw(FrameType.PING, 0, 1, "12345678"), expect: conn(PROTOCOL_ERROR) },
  { name: "GOAWAY on stream 1", rfc: "6.8", wire: raw(FrameType.GOAWAY, 0, 1, [...u32(0), ...u32(0)]), expect: conn(PROTOCOL_ERROR) },

  // padding
  { name: "DATA pad length = payload length", rfc: "6.1", wire: raw(FrameType.DATA, Flag.PADDED, 1, [3, 0, 0]), expect: conn(PROTOCOL_ERROR) },
  { name: "DATA pad length > payload length", rfc: "6.1", wire: raw(FrameType.DATA, Flag.PADDED, 1, [200, 0]), expect: conn(PROTOCOL_ERROR) },
  { name: "DATA pad length = payload length - 1 (empty data) is fine", rfc: "6.1", wire: raw(FrameType.DATA, Flag.PADDED, 1, [2, 0, 0]), expect: ["frame 0 1", PING_EV] },
  { name: "padded DATA with no Pad Length octet", rfc: "4.2", wire: raw(FrameType.DATA, Flag.PADDED, 1, []), expect: conn(FRAME_SIZE_ERROR) },
  { name: "HEADERS pad length = payload length", rfc: "6.2", wire: raw(FrameType.HEADERS, Flag.PADDED | Flag.END_HEADERS, 1, [3, 0x82, 0]), expect: conn(PROTOCOL_ERROR) },
  { name: "HEADERS padding overlapping the priority fields", rfc: "6.2", wire: raw(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS, 1, [2, 0, 0, 0, 3, 15, 0]), expect: conn(PROTOCOL_ERROR) },
  { name: "HEADERS padding filling all after the priority fields is fine", rfc: "6.2", wire: raw(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS, 1, [1, 0, 0, 0, 3, 15, 0]), expect: ["frame 1 1", PING_EV] },
  { name: "padded HEADERS with no Pad Length octet", rfc: "4.2", wire: raw(FrameType.HEADERS, Flag.PADDED | Flag.END_HEADERS, 1, []), expect: conn(FRAME_SIZE_ERROR) },
  { name: "PUSH_PROMISE padding reaching into the promised id", rfc: "6.6", wire: raw(FrameType.PUSH_PROMISE, Flag.PADDED | Flag.END_HEADERS, 1, [1, 0, 0, 0, 2]), expect: conn(PROTOCOL_ERROR) },

  // HEADERS priority fields
  { name: "HEADERS with PRIORITY and 4 octets", rfc: "4.2", wire: raw(FrameType.HEADERS, Flag.PRIORITY | Flag.END_HEADERS, 1, [0, 0, 0, 3]), expect: conn(FRAME_SIZE_ERROR) },
  { name: "HEADERS with PRIORITY and PADDED and 5 octets", rfc: "4.2", wire: raw(FrameType.HEADERS, Flag.PRIORITY | Flag.PADDED | Flag.END_HEADERS, 1, [0, 0, 0, 0, 3]), expect: conn(FRAME_SIZE_ERROR) },
  {
    name: "HEADERS depending on itself: stream error, the frame still delivered (HPACK state), reading goes on",
    rfc: "RFC 7540 5.3.1",
    wire: encodeHeaders(3, bytes("x"), true, 16384, { priority: { exclusive: false, dependency: 3, weight: 16 } }),
    expect: ["error 1 3", "frame 1 3", PING_EV],
  },

  // PRIORITY
  { name: "PRIORITY of 4 octets: stream error", rfc: "6.3", wire: raw(FrameType.PRIORITY, 0, 5, [0, 0, 0, 1]), expect: stream(FRAME_SIZE_ERROR, 5) },
  { name: "PRIORITY of 6 octets: stream error", rfc: "6.3", wire: raw(FrameType.PRIORITY, 0, 5, [0, 0, 0, 1, 16, 0]), expect: stream(FRAME_SIZE_ERROR, 5) },
  { name: "PRIORITY of 0 octets: stream error", rfc: "6.3", wire: raw(FrameType.PRIORITY, 0, 5, []), expect: stream(FRAME_SIZE_ERROR, 5) },
  { name: "PRIORITY depending on itself: stream error", rfc: "RFC 7540 5.3.1", wire: encodePriority(7, { exclusive: true, dependency: 7, weight: 1 }), expect: stream(PROTOCOL_ERROR, 7) },

  // RST_STREAM
  { name: "RST_STREAM of 3 octets", rfc: "6.4", wire: raw(FrameType.RST_STREAM, 0, 1, [0, 0, 0]), expect: conn(FRAME_SIZE_ERROR) },
  { name: "RST_STREAM of 5 octets", rfc: "6.4", wire: raw(FrameType.RST_STREAM, 0, 1, [0, 0, 0, 0, 0]), expect: conn(FRAME_SIZE_ERROR) },

  // SETTINGS
  { name: "SETTINGS of 5 octets", rfc: "6.5", wire: raw(FrameType.SETTINGS, 0, 0, [0, 1, 0, 0, 0]), expect: conn(FRAME_SIZE_ERROR) },
  { name: "SETTINGS of 7 octets", rfc: "6.5", wire: raw(FrameType.SETTINGS, 0, 0, [...setting(1, 0), 0]), expect: conn(FRAME_SIZE_ERROR) },
  { name: "SETTINGS ACK with a payload", rfc: "6.5", wire: raw(FrameType.SETTINGS, Flag.ACK, 0, setting(1, 0)), expect: conn(FRAME_SIZE_ERROR) },
  { name: "SETTINGS_ENABLE_PUSH = 2", rfc: "6.5.2", wire: encodeSettings([[SettingId.ENABLE_PUSH, 2]]), expect: conn(PROTOCOL_ERROR) },
  { name: "SETTINGS_INITIAL_WINDOW_SIZE = 2^31", rfc: "6.5.2", wire: encodeSettings([[SettingId.INITIAL_WINDOW_SIZE, 2 ** 31]]), expect: conn(FLOW_CONTROL_ERROR) },
  { name: "SETTINGS_INITIAL_WINDOW_SIZE = 2^32-1", rfc: "6.5.2", wire: encodeSettings([[SettingId.INITIAL_WINDOW_SIZE, 2 ** 32 - 1]]), expect: conn(FLOW_CONTROL_ERROR) },
  { name: "SETTINGS_MAX_FRAME_SIZE = 16383", rfc: "6.5.2", wire: encodeSettings([[SettingId.MAX_FRAME_SIZE, 16383]]), expect: conn(PROTOCOL_ERROR) },
  { name: "SETTINGS_MAX_FRAME_SIZE = 2^24", rfc: "6.5.2", wire: encodeSettings([[SettingId.MAX_FRAME_SIZE, 2 ** 24]]), expect: conn(PROTOCOL_ERROR) },
  { name: "SETTINGS_ENABLE_CONNECT_PROTOCOL = 2", rfc: "RFC 8441 3", wire: encodeSettings([[SettingId.ENABLE_CONNECT_PROTOCOL, 2]]), expect: conn(PROTOCOL_ERROR) },
  { name: "a bad value after good ones still fails the whole frame", rfc: "6.5", wire: encodeSettings([[1, 4096], [3, 100], [SettingId.ENABLE_PUSH, 7]]), expect: conn(PROTOCOL_ERROR) },
  { name: "unknown setting ids with any value are fine", rfc: "6.5.2", wire: encodeSettings([[7, 2 ** 32 - 1], [0xabcd, 2]]), expect: ["frame 4 0", PING_EV] },

  // PUSH_PROMISE
  { name: "PUSH_PROMISE of 3 octets", rfc: "4.2", wire: raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, [0, 0, 2]), expect: conn(FRAME_SIZE_ERROR) },
  { name: "padded PUSH_PROMISE of 4 octets", rfc: "4.2", wire: raw(FrameType.PUSH_PROMISE, Flag.PADDED | Flag.END_HEADERS, 1, [0, 0, 0, 2]), expect: conn(FRAME_SIZE_ERROR) },
  { name: "PUSH_PROMISE promising stream 0", rfc: "6.6, 5.1.1", wire: raw(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, u32(0)), expect: conn(PROTOCOL_ERROR) },

  // PING
  { name: "PING of 7 octets", rfc: "6.7", wire: raw(FrameType.PING, 0, 0, "1234567"), expect: conn(FRAME_SIZE_ERROR) },
  { name: "PING of 9 octets", rfc: "6.7", wire: raw(FrameType.PING, Flag.ACK, 0, "123456789"), expect: conn(FRAME_SIZE_ERROR) },

  // GOAWAY
  { name: "GOAWAY of 7 octets", rfc: "4.2", wire: raw(FrameType.GOAWAY, 0, 0, [0, 0, 0, 0, 0, 0, 0]), expect: conn(FRAME_SIZE_ERROR) },

  // WINDOW_UPDATE
  { name: "WINDOW_UPDATE of 3 octets on the connection", rfc: "6.9", wire: raw(FrameType.WINDOW_UPDATE, 0, 0, [0, 0, 1]), expect: conn(FRAME_SIZE_ERROR) },
  { name: "WINDOW_UPDATE of 5 octets on a stream: still a connection error", rfc: "6.9", wire: raw(FrameType.WINDOW_UPDATE, 0, 3, [0, 0, 0, 1, 0]), expect: conn(FRAME_SIZE_ERROR) },
  { name: "WINDOW_UPDATE increment 0 on a stream: stream error", rfc: "6.9", wire: raw(FrameType.WINDOW_UPDATE, 0, 3, u32(0)), expect: stream(PROTOCOL_ERROR, 3) },
  { name: "WINDOW_UPDATE increment 0 with the reserved bit set: stream error", rfc: "6.9", wire: raw(FrameType.WINDOW_UPDATE, 0, 3, u32(0x80000000)), expect: stream(PROTOCOL_ERROR, 3) },
  { name: "WINDOW_UPDATE increment 0 on the connection: connection error", rfc: "6.9", wire: raw(FrameType.WINDOW_UPDATE, 0, 0, u32(0)), expect: conn(PROTOCOL_ERROR) },

  // CONTINUATION sequencing (§4.3, §6.2, §6.10, §5.5)
  { name: "CONTINUATION without a field block", rfc: "6.10", wire: raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, "x"), expect: conn(PROTOCOL_ERROR) },
  { name: "CONTINUATION after a complete HEADERS", rfc: "6.10", wire: concat(raw(FrameType.HEADERS, Flag.END_HEADERS, 1, "a"), raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, "b")), expect: ["frame 1 1", ...conn(PROTOCOL_ERROR)] },
  { name: "HEADERS then DATA on the same stream", rfc: "6.2", wire: concat(raw(FrameType.HEADERS, 0, 1, "a"), encodeData(1, bytes("d"), false)), expect: ["frame 1 1", ...conn(PROTOCOL_ERROR)] },
  { name: "HEADERS then HEADERS on another stream", rfc: "6.2", wire: concat(raw(FrameType.HEADERS, 0, 1, "a"), raw(FrameType.HEADERS, Flag.END_HEADERS, 3, "b")), expect: ["frame 1 1", ...conn(PROTOCOL_ERROR)] },
  { name: "HEADERS then CONTINUATION on another stream", rfc: "6.2", wire: concat(raw(FrameType.HEADERS, 0, 1, "a"), raw(FrameType.CONTINUATION, Flag.END_HEADERS, 3, "b")), expect: ["frame 1 1", ...conn(PROTOCOL_ERROR)] },
  { name: "HEADERS then PRIORITY", rfc: "6.3", wire: concat(raw(FrameType.HEADERS, 0, 1, "a"), encodePriority(1, { exclusive: false, dependency: 0, weight: 16 })), expect: ["frame 1 1", ...conn(PROTOCOL_ERROR)] },
  { name: "HEADERS then PING (stream 0)", rfc: "6.2", wire: raw(FrameType.HEADERS, 0, 1, "a"), expect: ["frame 1 1", ...conn(PROTOCOL_ERROR)] },
  { name: "HEADERS then an unknown frame type", rfc: "5.5", wire: concat(raw(FrameType.HEADERS, 0, 1, "a"), raw(0xf0, 0, 1, "ext")), expect: ["frame 1 1", ...conn(PROTOCOL_ERROR)] },
  { name: "HEADERS, CONTINUATION, then PING", rfc: "6.10", wire: concat(raw(FrameType.HEADERS, 0, 1, "a"), raw(FrameType.CONTINUATION, 0, 1, "b"), encodePing(bytes("pingpong"), false)), expect: ["frame 1 1", "frame 9 1", ...conn(PROTOCOL_ERROR)] },
  { name: "PUSH_PROMISE then DATA", rfc: "6.6", wire: concat(raw(FrameType.PUSH_PROMISE, 0, 1, u32(2)), encodeData(1, bytes("d"), false)), expect: ["frame 5 1", ...conn(PROTOCOL_ERROR)] },
  { name: "PUSH_PROMISE then CONTINUATION on the promised stream", rfc: "6.6", wire: concat(raw(FrameType.PUSH_PROMISE, 0, 1, u32(2)), raw(FrameType.CONTINUATION, Flag.END_HEADERS, 2, "b")), expect: ["frame 5 1", ...conn(PROTOCOL_ERROR)] },
  {
    name: "HEADERS, CONTINUATION, CONTINUATION(END_HEADERS), then DATA is fine",
    rfc: "6.10",
    wire: concat(raw(FrameType.HEADERS, 0, 1, "a"), raw(FrameType.CONTINUATION, 0, 1, ""), raw(FrameType.CONTINUATION, Flag.END_HEADERS, 1, "c"), encodeData(1, bytes("d"), true)),
    expect: ["frame 1 1", "frame 9 1", "frame 9 1", "frame 0 1", PING_EV],
  },
];

function concat(...parts: Uint8Array[]): Uint8Array {
  return bytes(parts.map(str).join(""));
}

describe("validation rules (code, scope, continuation)", () => {
  for (const r of rules) {
    test(`§${r.rfc}: ${r.name}`, () => {
      const wire = concat(r.wire, PING);
      // Big frames: whole and byte by byte only; the rest at every split too.
      const ways = wire.length > 1000
        ? [
          { name: "whole", chunks: [wire] },
          { name: "byte-by-byte", chunks: Array.from(wire, (_, i) => wire.slice(i, i + 1)) },
          { name: "split@9", chunks: [wire.slice(0, 9), wire.slice(9)] },
        ]
        : splits(str(wire));
      for (const { name, chunks } of ways) assert.deepEqual(read(chunks), r.expect, name);
    });
  }
});

describe("after an error", () => {
  test("a connection error stops the reader for good", () => {
    const ev = read([raw(FrameType.DATA, 0, 0, "x"), PING, PING]);
    assert.deepEqual(ev, conn(PROTOCOL_ERROR));
  });

  test("stream errors on several streams: each reported, every other frame delivered", () => {
    const ev = read([
      concat(
        raw(FrameType.PRIORITY, 0, 1, [0]),
        raw(FrameType.WINDOW_UPDATE, 0, 3, u32(0)),
        encodePriority(5, { exclusive: false, dependency: 5, weight: 1 }),
        PING,
      ),
    ]);
    assert.deepEqual(ev, [`error ${FRAME_SIZE_ERROR} 1`, `error ${PROTOCOL_ERROR} 3`, `error ${PROTOCOL_ERROR} 5`, PING_EV]);
  });

  test("errors carry a message and a code name lookup", () => {
    const errors: Http2Error[] = [];
    const r = new FrameReader({ frame: () => {}, error: (e) => errors.push(e) });
    r.push(raw(FrameType.PING, 0, 0, "1234567"));
    assert.equal(errors.length, 1);
    const e = errors[0]!;
    assert.ok(e instanceof Http2Error && e instanceof Error);
    assert.equal(e.name, "Http2Error");
    assert.match(e.message, /PING/);
    assert.ok(isConnectionError(e));
    assert.ok(!isConnectionError(new Http2Error(PROTOCOL_ERROR, 3, "x")));
    assert.ok(!isConnectionError(new Error("x")));
    assert.ok(r.stopped);
  });
});
