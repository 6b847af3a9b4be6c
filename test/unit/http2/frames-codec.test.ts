// Writer -> reader round trips for every frame type and flag, fed whole, byte by byte and at every 2-way split;
// exact bytes of the serializers; field-block splitting into CONTINUATION frames; argument checks.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, Flag, FrameType, MAX_WINDOW, SettingId } from "../../../core/http2/frames/constants.ts";
import { FrameReader } from "../../../core/http2/frames/reader.ts";
import type { Frame, PriorityFields } from "../../../core/http2/frames/types.ts";
import {
  SETTINGS_ACK,
  encodeData,
  encodeFrame,
  encodeGoaway,
  encodeHeaders,
  encodePing,
  encodePriority,
  encodePushPromise,
  encodeRstStream,
  encodeSettings,
  encodeSettingsAck,
  encodeWindowUpdate,
  frameHeader,
} from "../../../core/http2/frames/writer.ts";
import { bytes, splits, str } from "../http1/helpers.ts";

type Ev = { frame: Record<string, unknown> } | { error: { code: number; streamId: number } };

/** Frames with byte fields as latin1 strings, so tables can compare them with deepEqual. */
function norm(f: Frame): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) o[k] = v instanceof Uint8Array ? str(v) : v;
  return o;
}

function read(chunks: Uint8Array[]): Ev[] {
  const ev: Ev[] = [];
  const r = new FrameReader({
    frame: (f) => ev.push({ frame: norm(f) }),
    error: (e) => ev.push({ error: { code: e.code, streamId: e.streamId } }),
  });
  for (const c of chunks) r.push(c);
  return ev;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return bytes(parts.map(str).join(""));
}

/** Feeds `wire` every way and checks the frames each time. */
function roundTrip(wire: Uint8Array, expected: Record<string, unknown>[]): void {
  const want = expected.map((frame) => ({ frame }));
  for (const { name, chunks } of splits(str(wire))) assert.deepEqual(read(chunks), want, name);
}

interface Case {
  name: string;
  wire: Uint8Array;
  frames: Record<string, unknown>[];
}

const prio = (exclusive: boolean, dependency: number, weight: number): PriorityFields => ({ exclusive, dependency, weight });

const cases: Case[] = [];

// DATA: endStream x padding (none, 0, some), empty and non-empty data.
for (const endStream of [false, true]) {
  for (const pad of [undefined, 0, 7]) {
    for (const data of ["", "hello world"]) {
      const flow = data.length + (pad === undefined ? 0 : 1 + pad);
      cases.push({
        name: `DATA end=${endStream} pad=${pad} len=${data.length}`,
        wire: encodeData(3, bytes(data), endStream, pad),
        frames: [{ type: 0, streamId: 3, endStream, data, flowLength: flow }],
      });
    }
  }
}

// HEADERS: endStream x padding x priority, in one frame and split into CONTINUATIONs.
for (const endStream of [false, true]) {
  for (const pad of [undefined, 0, 3]) {
    for (const priority of [undefined, prio(false, 0, 16), prio(true, 7, 256), prio(false, MAX_WINDOW, 1)]) {
      const opts = { ...(priority ? { priority } : {}), ...(pad !== undefined ? { padLength: pad } : {}) };
      const block = "abcdefghijklmnopqrstuvwxyz0123";
      const one: Record<string, unknown> = { type: 1, streamId: 5, endStream, endHeaders: true, fragment: block };
      if (priority) one.priority = priority;
      cases.push({
        name: `HEADERS end=${endStream} pad=${pad} prio=${JSON.stringify(priority)}`,
        wire: encodeHeaders(5, bytes(block), endStream, 16384, opts),
        frames: [one],
      });
      // A small max frame size forces CONTINUATIONs: the first frame carries what fits after pad/priority.
      const max = 20;
      const first = max - (pad === undefined ? 0 : 1 + pad) - (priority ? 5 : 0);
      const split: Record<string, unknown>[] = [
        { ...one, endHeaders: false, fragment: block.slice(0, first) },
      ];
      for (let i = first; i < block.length; i += max) {
        split.push({ type: 9, streamId: 5, endHeaders: i + max >= block.length, fragment: block.slice(i, i + max) });
      }
      cases.push({
        name: `HEADERS+CONTINUATION end=${endStream} pad=${pad} prio=${JSON.stringify(priority)}`,
        wire: encodeHeaders(5, bytes(block), endStream, max, opts),
        frames: split,
      });
    }
  }
}
cases.push({
  name: "HEADERS with an empty block",
  wire: encodeHeaders(1, new Uint8Array(0), true),
  frames: [{ type: 1, streamId: 1, endStream: true, endHeaders: true, fragment: "" }],
});

for (const p of [prio(false, 0, 1), prio(true, 3, 256), prio(false, MAX_WINDOW, 147)]) {
  cases.push({
    name: `PRIORITY ${JSON.stringify(p)}`,
    wire: encodePriority(9, p),
    frames: [{ type: 2, streamId: 9, ...p }],
  });
}

for (const code of [ErrorCode.NO_ERROR, ErrorCode.CANCEL, ErrorCode.HTTP_1_1_REQUIRED, 0xffffffff]) {
  cases.push({
    name: `RST_STREAM ${code}`,
    wire: encodeRstStream(11, code),
    frames: [{ type: 3, streamId: 11, errorCode: code }],
  });
}

cases.push(
  { name: "SETTINGS empty", wire: encodeSettings([]), frames: [{ type: 4, ack: false, settings: [] }] },
  { name: "SETTINGS ack", wire: encodeSettingsAck(), frames: [{ type: 4, ack: true, settings: [] }] },
  {
    name: "SETTINGS every defined id at its limits, unknown ids kept, wire order and repeats kept",
    wire: encodeSettings([
      [SettingId.HEADER_TABLE_SIZE, 0xffffffff],
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.ENABLE_PUSH, 1],
      [SettingId.MAX_CONCURRENT_STREAMS, 0],
      [SettingId.INITIAL_WINDOW_SIZE, MAX_WINDOW],
      [SettingId.MAX_FRAME_SIZE, 16384],
      [SettingId.MAX_FRAME_SIZE, 0xffffff],
      [SettingId.MAX_HEADER_LIST_SIZE, 1],
      [SettingId.ENABLE_CONNECT_PROTOCOL, 1],
      [0x0, 77],
      [0xffff, 0xffffffff],
    ]),
    frames: [{
      type: 4,
      ack: false,
      settings: [[1, 0xffffffff], [2, 0], [2, 1], [3, 0], [4, MAX_WINDOW], [5, 16384], [5, 0xffffff], [6, 1], [8, 1], [0, 77], [0xffff, 0xffffffff]],
    }],
  },
);

for (const pad of [undefined, 0, 4]) {
  cases.push({
    name: `PUSH_PROMISE pad=${pad}`,
    wire: encodePushPromise(1, 2, bytes("push-block"), 16384, pad),
    frames: [{ type: 5, streamId: 1, endHeaders: true, promisedStreamId: 2, fragment: "push-block" }],
  });
}
cases.push({
  name: "PUSH_PROMISE + CONTINUATION",
  wire: encodePushPromise(3, MAX_WINDOW - 1, bytes("0123456789abcdef"), 10, 1),
  frames: [
    // 10 octets: Pad Length, Promised Stream ID, 4 of the block, 1 of padding.
    { type: 5, streamId: 3, endHeaders: false, promisedStreamId: MAX_WINDOW - 1, fragment: "0123" },
    { type: 9, streamId: 3, endHeaders: false, fragment: "456789abcd" },
    { type: 9, streamId: 3, endHeaders: true, fragment: "ef" },
  ],
});

for (const ack of [false, true]) {
  cases.push({ name: `PING ack=${ack}`, wire: encodePing(bytes("12345678"), ack), frames: [{ type: 6, ack, data: "12345678" }] });
}

cases.push(
  {
    name: "GOAWAY without debug data",
    wire: encodeGoaway(0, ErrorCode.NO_ERROR),
    frames: [{ type: 7, lastStreamId: 0, errorCode: 0, debug: "" }],
  },
  {
    name: "GOAWAY with debug data",
    wire: encodeGoaway(MAX_WINDOW, ErrorCode.ENHANCE_YOUR_CALM, bytes("too many resets")),
    frames: [{ type: 7, lastStreamId: MAX_WINDOW, errorCode: 0xb, debug: "too many resets" }],
  },
  {
    name: "WINDOW_UPDATE on the connection",
    wire: encodeWindowUpdate(0, MAX_WINDOW),
    frames: [{ type: 8, streamId: 0, increment: MAX_WINDOW }],
  },
  { name: "WINDOW_UPDATE on a stream", wire: encodeWindowUpdate(7, 1), frames: [{ type: 8, streamId: 7, increment: 1 }] },
  {
    name: "unknown type with payload",
    wire: encodeFrame(0xfa, 0xff, 3, bytes("extension payload")),
    frames: [{ type: 0xfa, streamId: 3, flags: 0xff, length: 17 }],
  },
  { name: "unknown type, empty", wire: encodeFrame(0x0a, 0, 0, new Uint8Array(0)), frames: [{ type: 0x0a, streamId: 0, flags: 0, length: 0 }] },
);

// Undefined flags are ignored on receipt (§4.1): every type with all other bits set.
const RAW_UNUSED = 0xff & ~(Flag.PADDED | Flag.PRIORITY); // keep payload layout unchanged
cases.push(
  {
    name: "DATA with undefined flags set",
    wire: encodeFrame(FrameType.DATA, RAW_UNUSED, 1, bytes("x")),
    frames: [{ type: 0, streamId: 1, endStream: true, data: "x", flowLength: 1 }],
  },
  {
    name: "RST_STREAM with every flag set",
    wire: encodeFrame(FrameType.RST_STREAM, 0xff, 1, new Uint8Array([0, 0, 0, 8])),
    frames: [{ type: 3, streamId: 1, errorCode: 8 }],
  },
  {
    name: "SETTINGS with undefined flags set (ACK clear)",
    wire: encodeFrame(FrameType.SETTINGS, 0xfe, 0, new Uint8Array([0, 3, 0, 0, 0, 100])),
    frames: [{ type: 4, ack: false, settings: [[3, 100]] }],
  },
  {
    name: "PING with every flag set",
    wire: encodeFrame(FrameType.PING, 0xff, 0, bytes("abcdefgh")),
    frames: [{ type: 6, ack: true, data: "abcdefgh" }],
  },
  {
    name: "WINDOW_UPDATE with every flag set",
    wire: encodeFrame(FrameType.WINDOW_UPDATE, 0xff, 0, new Uint8Array([0, 0, 1, 0])),
    frames: [{ type: 8, streamId: 0, increment: 256 }],
  },
  {
    name: "GOAWAY with every flag set",
    wire: encodeFrame(FrameType.GOAWAY, 0xff, 0, new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2])),
    frames: [{ type: 7, lastStreamId: 1, errorCode: 2, debug: "" }],
  },
);

// Reserved bits are masked off (§4.1, §6.8, §6.9, §6.6): stream id, window increment, last stream id, promised id.
const withReservedStreamBit = (b: Uint8Array): Uint8Array => {
  const c = b.slice();
  c[5] = c[5]! | 0x80;
  return c;
};
cases.push(
  {
    name: "reserved bit of the stream id ignored",
    wire: withReservedStreamBit(encodeData(1, bytes("r"), false)),
    frames: [{ type: 0, streamId: 1, endStream: false, data: "r", flowLength: 1 }],
  },
  {
    name: "reserved bit of the window increment ignored",
    wire: encodeFrame(FrameType.WINDOW_UPDATE, 0, 3, new Uint8Array([0x80, 0, 0, 5])),
    frames: [{ type: 8, streamId: 3, increment: 5 }],
  },
  {
    name: "reserved bit of GOAWAY's last stream id ignored",
    wire: encodeFrame(FrameType.GOAWAY, 0, 0, new Uint8Array([0x80, 0, 0, 9, 0, 0, 0, 0])),
    frames: [{ type: 7, lastStreamId: 9, errorCode: 0, debug: "" }],
  },
  {
    name: "reserved bit of PUSH_PROMISE's promised id ignored",
    wire: encodeFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, new Uint8Array([0x80, 0, 0, 2, 0x41])),
    frames: [{ type: 5, streamId: 1, endHeaders: true, promisedStreamId: 2, fragment: "A" }],
  },
);

describe("round trip, whole / byte by byte / every split", () => {
  for (const c of cases) test(c.name, () => roundTrip(c.wire, c.frames));

  test("all of the above back to back, in one stream", () => {
    roundTrip(concat(cases.map((c) => c.wire)), cases.flatMap((c) => c.frames));
  });

  test("many frames in one chunk, then the same stream in 7-byte chunks", () => {
    const wire = concat(cases.map((c) => c.wire));
    const want = cases.flatMap((c) => c.frames).map((frame) => ({ frame }));
    assert.deepEqual(read([wire]), want);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += 7) chunks.push(wire.slice(i, i + 7));
    assert.deepEqual(read(chunks), want);
  });
});

describe("serializer bytes", () => {
  test("frameHeader", () => {
    assert.deepEqual([...frameHeader(0x123456, 0xab, 0xcd, 0x7f000001)], [0x12, 0x34, 0x56, 0xab, 0xcd, 0x7f, 0, 0, 1]);
  });

  test("SETTINGS ACK is the shared precomputed frame", () => {
    assert.deepEqual([...SETTINGS_ACK], [0, 0, 0, 4, 1, 0, 0, 0, 0]);
    assert.equal(encodeSettingsAck(), SETTINGS_ACK);
  });

  test("SETTINGS", () => {
    assert.deepEqual(
      [...encodeSettings([[3, 100], [4, 65535]])],
      [0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0xff, 0xff],
    );
  });

  test("DATA, padded, with END_STREAM", () => {
    assert.deepEqual([...encodeData(1, bytes("ab"), true, 2)], [0, 0, 5, 0, 0x09, 0, 0, 0, 1, 2, 0x61, 0x62, 0, 0]);
  });

  test("PING ack, WINDOW_UPDATE, RST_STREAM, GOAWAY, PRIORITY", () => {
    assert.deepEqual([...encodePing(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), true)], [0, 0, 8, 6, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual([...encodeWindowUpdate(0, 0x10000)], [0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual([...encodeRstStream(3, ErrorCode.REFUSED_STREAM)], [0, 0, 4, 3, 0, 0, 0, 0, 3, 0, 0, 0, 7]);
    assert.deepEqual([...encodeGoaway(5, ErrorCode.PROTOCOL_ERROR, bytes("x"))], [0, 0, 9, 7, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0x78]);
    assert.deepEqual([...encodePriority(3, prio(true, 1, 256))], [0, 0, 5, 2, 0, 0, 0, 0, 3, 0x80, 0, 0, 1, 255]);
  });

  test("HEADERS with PRIORITY and PADDED lays out pad length, priority, fragment, zero padding", () => {
    assert.deepEqual(
      [...encodeHeaders(1, bytes("hb"), false, 16384, { priority: prio(false, 3, 16), padLength: 1 })],
      [0, 0, 9, 1, 0x2c, 0, 0, 0, 1, 1, 0, 0, 0, 3, 15, 0x68, 0x62, 0],
    );
  });

  test("a field block larger than the max frame size: HEADERS + CONTINUATIONs, END_HEADERS on the last only", () => {
    const block = new Uint8Array(40000).map((_, i) => i & 0xff);
    const out = encodeHeaders(1, block, true, 16384);
    const frames: { length: number; type: number; flags: number }[] = [];
    for (let o = 0; o < out.length;) {
      const length = (out[o]! << 16) | (out[o + 1]! << 8) | out[o + 2]!;
      frames.push({ length, type: out[o + 3]!, flags: out[o + 4]! });
      o += 9 + length;
    }
    assert.deepEqual(frames, [
      { length: 16384, type: 1, flags: Flag.END_STREAM },
      { length: 16384, type: 9, flags: 0 },
      { length: 7232, type: 9, flags: Flag.END_HEADERS },
    ]);
    const got: Frame[] = [];
    const r = new FrameReader({ frame: (f) => got.push(f), error: (e) => assert.fail(e) });
    r.push(out);
    assert.deepEqual(concat(got.map((f) => ("fragment" in f ? f.fragment : new Uint8Array(0)))), block);
  });

  test("a block of exactly the max frame size needs no CONTINUATION", () => {
    const out = encodeHeaders(1, new Uint8Array(16384), false);
    assert.equal(out.length, 9 + 16384);
    assert.equal(out[4], Flag.END_HEADERS);
  });

  test("arguments out of range throw RangeError", () => {
    const bad: [string, () => unknown][] = [
      ["DATA on stream 0", () => encodeData(0, bytes("x"), false)],
      ["stream id above 2^31-1", () => encodeData(2 ** 31, bytes("x"), false)],
      ["pad length 256", () => encodeData(1, bytes("x"), false, 256)],
      ["payload above 2^24-1", () => frameHeader(2 ** 24, 0, 0, 1)],
      ["PING of 7 octets", () => encodePing(new Uint8Array(7), false)],
      ["window increment 0", () => encodeWindowUpdate(1, 0)],
      ["window increment 2^31", () => encodeWindowUpdate(1, 2 ** 31)],
      ["weight 0", () => encodePriority(1, prio(false, 0, 0))],
      ["weight 257", () => encodeHeaders(1, bytes("x"), false, 16384, { priority: prio(false, 0, 257) })],
      ["setting id 0x10000", () => encodeSettings([[0x10000, 1]])],
      ["setting value 2^32", () => encodeSettings([[1, 2 ** 32]])],
      ["error code -1", () => encodeRstStream(1, -1)],
      ["padding + priority above the max frame size", () => encodeHeaders(1, bytes("x"), false, 8, { priority: prio(false, 0, 1), padLength: 3 })],
      ["PUSH_PROMISE promising stream 0", () => encodePushPromise(1, 0, bytes("x"))],
    ];
    for (const [name, f] of bad) assert.throws(f, RangeError, name);
  });
});
