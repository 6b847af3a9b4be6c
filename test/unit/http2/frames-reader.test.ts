// Reader behaviour beyond single-frame rules: the client preface, SETTINGS_MAX_FRAME_SIZE changes, skipping
// unknown frames, zero-copy views, a 2^24-1 octet frame, and handlers that call back into the reader.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CLIENT_PREFACE,
  ErrorCode,
  errorCodeName,
  FrameType,
  MAX_MAX_FRAME_SIZE,
  SettingId,
} from "../../../core/http2/frames/constants.ts";
import { FrameReader, type FrameReaderOptions } from "../../../core/http2/frames/reader.ts";
import type { DataFrame, Frame, Http2Error } from "../../../core/http2/frames/types.ts";
import {
  encodeData,
  encodeFrame,
  encodeHeaders,
  encodePing,
  encodeSettings,
  encodeSettingsAck,
  encodeWindowUpdate,
  frameHeader,
} from "../../../core/http2/frames/writer.ts";
import { bytes, splits, str } from "../http1/helpers.ts";

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Short event strings; errors with their message when `messages` is set. */
function read(chunks: Uint8Array[], opts?: FrameReaderOptions, messages = false): string[] {
  const ev: string[] = [];
  const r = new FrameReader(
    {
      frame: (f: Frame) => ev.push(`frame ${f.type} ${"streamId" in f ? f.streamId : 0}`),
      error: (e: Http2Error) => ev.push(`error ${errorCodeName(e.code)} ${e.streamId}${messages ? ` ${e.message}` : ""}`),
    },
    opts,
  );
  for (const c of chunks) r.push(c);
  return ev;
}

/** Checks `expect` for `wire` fed whole, byte by byte and at every 2-way split. */
function everyWay(wire: Uint8Array, expect: string[], opts?: FrameReaderOptions, messages = false): void {
  for (const { name, chunks } of splits(str(wire))) assert.deepEqual(read(chunks, opts, messages), expect, name);
}

const SETTINGS = encodeSettings([[SettingId.MAX_CONCURRENT_STREAMS, 100]]);
const PING = encodePing(bytes("pingpong"), false);

describe("client connection preface (expectPreface)", () => {
  const server = { expectPreface: true };

  test("preface, SETTINGS, more frames", () => {
    everyWay(concat(CLIENT_PREFACE, SETTINGS, encodeWindowUpdate(0, 1000), PING), ["frame 4 0", "frame 8 0", "frame 6 0"], server);
  });

  test("preface and an empty SETTINGS only", () => {
    everyWay(concat(CLIENT_PREFACE, encodeSettings([])), ["frame 4 0"], server);
  });

  test("preface only, then nothing: no event yet", () => {
    everyWay(CLIENT_PREFACE, [], server);
  });

  test("frames without the preface", () => {
    everyWay(concat(SETTINGS, PING), ["error PROTOCOL_ERROR 0 expected the HTTP/2 client connection preface"], server, true);
  });

  for (const [name, req, method] of [
    ["GET", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET"],
    ["POST", "POST /upload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", "POST"],
    ["a method sharing the preface's first letters", "PRIX / HTTP/1.1\r\n\r\n", "PRIX"],
    ["an extension method", "M-SEARCH * HTTP/1.1\r\n\r\n", "M-SEARCH"],
  ]) {
    test(`an HTTP/1 request (${name}) is recognised in the message`, () => {
      everyWay(
        bytes(req!),
        [`error PROTOCOL_ERROR 0 expected the HTTP/2 client connection preface, got what looks like an HTTP/1.x request (${method} …)`],
        server,
        true,
      );
    });
  }

  for (const [name, input] of [
    ["a preface for another version", "PRI * HTTP/3.0\r\n\r\nSM\r\n\r\n"],
    ["a preface cut short by other octets", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"],
    ["TLS handshake bytes", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"],
    ["a long token with no space", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF"],
  ]) {
    test(`not a preface: ${name}`, () => {
      everyWay(bytes(input!), ["error PROTOCOL_ERROR 0 expected the HTTP/2 client connection preface"], server, true);
    });
  }

  test("the preface must be followed by SETTINGS", () => {
    everyWay(concat(CLIENT_PREFACE, PING, SETTINGS), ["error PROTOCOL_ERROR 0"], server);
  });

  test("the preface must be followed by SETTINGS, not a SETTINGS ACK", () => {
    everyWay(concat(CLIENT_PREFACE, encodeSettingsAck(), SETTINGS), ["error PROTOCOL_ERROR 0"], server);
  });

  test("without expectPreface the preface octets are read as a frame (and rejected)", () => {
    assert.deepEqual(read([concat(CLIENT_PREFACE, SETTINGS)]), ["error FRAME_SIZE_ERROR 0"]);
  });
});

describe("SETTINGS_MAX_FRAME_SIZE", () => {
  test("option: a larger limit accepts larger frames", () => {
    const big = encodeData(1, new Uint8Array(20000), true);
    assert.deepEqual(read([big]), ["error FRAME_SIZE_ERROR 0"]);
    assert.deepEqual(read([big], { maxFrameSize: 20000 }), ["frame 0 1"]);
    assert.deepEqual(read([big], { maxFrameSize: 19999 }), ["error FRAME_SIZE_ERROR 0"]);
  });

  test("changed from inside a frame callback, it applies to the very next frame of the same chunk", () => {
    const wire = concat(
      SETTINGS,
      encodeData(1, new Uint8Array(20000), false),
      PING,
      encodeData(1, new Uint8Array(16385), false),
    );
    for (const { name, chunks } of [
      { name: "whole", chunks: [wire] },
      { name: "split in the DATA header", chunks: [wire.subarray(0, SETTINGS.length + 4), wire.subarray(SETTINGS.length + 4)] },
      { name: "split in the DATA payload", chunks: [wire.subarray(0, 1000), wire.subarray(1000)] },
    ]) {
      const ev: string[] = [];
      // eslint-disable-next-line prefer-const
      let r: FrameReader;
      r = new FrameReader({
        frame(f) {
          ev.push(`frame ${f.type}`);
          if (f.type === FrameType.SETTINGS) r.setMaxFrameSize(20000);
          if (f.type === FrameType.PING) r.setMaxFrameSize(16384); // e.g. our lowered value was acknowledged
        },
        error: (e) => ev.push(`error ${errorCodeName(e.code)}`),
      });
      for (const c of chunks) r.push(c);
      assert.deepEqual(ev, ["frame 4", "frame 0", "frame 6", "error FRAME_SIZE_ERROR"], name);
    }
  });

  test("the limit is checked from the header, before the payload arrives", () => {
    const ev = read([frameHeader(MAX_MAX_FRAME_SIZE, FrameType.DATA, 0, 1)]);
    assert.deepEqual(ev, ["error FRAME_SIZE_ERROR 0"]);
  });

  test("values outside 16384..2^24-1 are refused", () => {
    const r = new FrameReader({ frame: () => {}, error: () => {} });
    assert.throws(() => r.setMaxFrameSize(16383), RangeError);
    assert.throws(() => r.setMaxFrameSize(2 ** 24), RangeError);
    assert.throws(() => new FrameReader({ frame: () => {}, error: () => {} }, { maxFrameSize: 1.5 }), RangeError);
    r.setMaxFrameSize(MAX_MAX_FRAME_SIZE);
  });
});

describe("a 2^24-1 octet frame", () => {
  const size = MAX_MAX_FRAME_SIZE;
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i += 4099) payload[i] = i & 0xff;
  payload[size - 1] = 0xee;
  const wire = concat(encodeData(1, payload, true), PING);

  const check = (chunks: Uint8Array[], name: string): DataFrame => {
    const got: Frame[] = [];
    const r = new FrameReader({ frame: (f) => got.push(f), error: (e) => assert.fail(`${name}: ${e.message}`) }, { maxFrameSize: size });
    for (const c of chunks) r.push(c);
    assert.equal(got.length, 2, name);
    const d = got[0]! as DataFrame;
    assert.equal(d.type, FrameType.DATA);
    assert.equal(d.data.length, size, name);
    assert.equal(d.flowLength, size, name);
    assert.ok(d.endStream);
    assert.equal(d.data[size - 1], 0xee, name);
    for (let i = 0; i < size; i += 4099) if (d.data[i] !== (i & 0xff)) assert.fail(`${name}: octet ${i}`);
    assert.equal(got[1]!.type, FrameType.PING);
    return d;
  };

  test("accepted whole, as a view of the chunk", () => {
    const d = check([wire], "whole");
    assert.equal(d.data.buffer, wire.buffer);
  });

  test("accepted when split at several points and in 64 KiB chunks", () => {
    for (const at of [1, 8, 9, 10, 1 << 23, wire.length - 18, wire.length - 9, wire.length - 1]) {
      check([wire.subarray(0, at), wire.subarray(at)], `split@${at}`);
    }
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += 65536) chunks.push(wire.subarray(i, i + 65536));
    check(chunks, "64 KiB chunks");
  });
});

describe("unknown frame types", () => {
  test("skipped at every split, between known frames, with their header fields reported", () => {
    const wire = concat(
      encodeFrame(0x0a, 0, 0, new Uint8Array(0)),
      PING,
      encodeFrame(0xff, 0xff, 0x7fffffff, bytes("x".repeat(40))),
      encodeData(1, bytes("after"), true),
      encodeFrame(0x10, 0x1, 3, bytes("\x00\x00\x00\x00\x00\x00\x00\x00\x00")), // looks like a frame header inside
      PING,
    );
    everyWay(wire, ["frame 10 0", "frame 6 0", "frame 255 2147483647", "frame 0 1", "frame 16 3", "frame 6 0"]);
  });

  test("delivered with type, flags, stream and length", () => {
    const got: Frame[] = [];
    const r = new FrameReader({ frame: (f) => got.push(f), error: () => assert.fail() });
    const wire = encodeFrame(0xbe, 0x5a, 9, bytes("payload"));
    r.push(wire.subarray(0, 12));
    assert.deepEqual(got, []);
    r.push(wire.subarray(12));
    assert.deepEqual(got, [{ type: 0xbe, streamId: 9, flags: 0x5a, length: 7 }]);
  });
});

describe("zero copy", () => {
  test("a frame wholly inside one chunk yields views of that chunk", () => {
    const chunk = concat(
      encodeData(1, bytes("first"), false),
      encodeData(3, bytes("second"), false, 4),
      encodeHeaders(5, bytes("block"), true),
      PING,
    );
    const got: Frame[] = [];
    new FrameReader({ frame: (f) => got.push(f), error: () => assert.fail() }).push(chunk);
    const views = got.map((f) => ("data" in f ? f.data : "fragment" in f ? f.fragment : null));
    assert.equal(views.length, 4);
    for (const v of views) assert.equal(v!.buffer, chunk.buffer);
    assert.equal(views[0]!.byteOffset, 9);
    assert.equal(str(views[1]!), "second");
    assert.equal(views[1]!.byteOffset, 9 + 5 + 9 + 1);
  });

  test("the payload of a frame whose header arrived in an earlier chunk is still a view", () => {
    const wire = encodeData(1, bytes("payload"), false);
    const head = wire.slice(0, 9);
    const body = wire.slice(9);
    const got: DataFrame[] = [];
    const r = new FrameReader({ frame: (f) => got.push(f as DataFrame), error: () => assert.fail() });
    r.push(head.subarray(0, 4));
    r.push(head.subarray(4));
    r.push(body);
    assert.equal(got[0]!.data.buffer, body.buffer);
  });

  test("a payload split across chunks is assembled once; the views stay valid while reading goes on", () => {
    const a = encodeData(1, bytes("split across"), false);
    const b = encodeData(1, bytes("next frame!!"), false);
    const wire = concat(a, b);
    const c1 = wire.slice(0, 15);
    const c2 = wire.slice(15);
    const got: DataFrame[] = [];
    const r = new FrameReader({ frame: (f) => got.push(f as DataFrame), error: () => assert.fail() });
    r.push(c1);
    r.push(c2);
    r.push(concat(encodeData(1, bytes("late"), false).subarray(0, 12)));
    r.push(encodeData(1, bytes("late"), false).subarray(12));
    assert.equal(got.length, 3);
    assert.notEqual(got[0]!.data.buffer, c1.buffer);
    assert.notEqual(got[0]!.data.buffer, c2.buffer);
    assert.equal(got[1]!.data.buffer, c2.buffer);
    assert.notEqual(got[2]!.data.buffer, got[0]!.data.buffer);
    assert.deepEqual(got.map((f) => str(f.data)), ["split across", "next frame!!", "late"]);
  });
});

describe("handlers calling back into the reader", () => {
  test("push() from a handler is queued behind the rest of the current chunk", () => {
    const ev: string[] = [];
    let pushed = false;
    // eslint-disable-next-line prefer-const
    let r: FrameReader;
    r = new FrameReader({
      frame(f) {
        ev.push(`frame ${f.type}`);
        if (!pushed) {
          pushed = true;
          r.push(encodeWindowUpdate(0, 5));
        }
      },
      error: () => assert.fail(),
    });
    r.push(concat(SETTINGS, PING));
    assert.deepEqual(ev, ["frame 4", "frame 6", "frame 8"]);
  });

  test("stop() from a handler ends delivery mid-chunk", () => {
    const ev: string[] = [];
    // eslint-disable-next-line prefer-const
    let r: FrameReader;
    r = new FrameReader({
      frame(f) {
        ev.push(`frame ${f.type}`);
        if (f.type === FrameType.PING) r.stop();
      },
      error: () => assert.fail(),
    });
    r.push(concat(SETTINGS, PING, SETTINGS, PING));
    r.push(SETTINGS);
    assert.deepEqual(ev, ["frame 4", "frame 6"]);
    assert.ok(r.stopped);
  });

  test("stop() from error() on a HEADERS self-dependency suppresses the frame", () => {
    const ev: string[] = [];
    // eslint-disable-next-line prefer-const
    let r: FrameReader;
    r = new FrameReader({
      frame: (f) => ev.push(`frame ${f.type}`),
      error(e) {
        ev.push(`error ${e.streamId}`);
        r.stop();
      },
    });
    r.push(concat(encodeHeaders(3, bytes("x"), true, 16384, { priority: { exclusive: false, dependency: 3, weight: 1 } }), PING));
    assert.deepEqual(ev, ["error 3"]);
  });
});

describe("constants", () => {
  test("the client preface", () => {
    assert.equal(str(CLIENT_PREFACE), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  });

  test("error code names", () => {
    assert.equal(errorCodeName(ErrorCode.NO_ERROR), "NO_ERROR");
    assert.equal(errorCodeName(ErrorCode.FLOW_CONTROL_ERROR), "FLOW_CONTROL_ERROR");
    assert.equal(errorCodeName(ErrorCode.HTTP_1_1_REQUIRED), "HTTP_1_1_REQUIRED");
    assert.equal(errorCodeName(0xe), "UNKNOWN_0xe");
    assert.equal(errorCodeName(0xffffffff), "UNKNOWN_0xffffffff");
  });
});

describe("the fieldBlock fast path", () => {
  /** Events with fieldBlock set: field block frames as "block TYPE STREAM FLAGS FRAGMENT", the rest as frames. */
  function readFast(chunks: Uint8Array[], stopOnError = false): string[] {
    const ev: string[] = [];
    const r: FrameReader = new FrameReader({
      frame: (f: Frame) => ev.push(`frame ${f.type} ${"streamId" in f ? f.streamId : 0}`),
      error: (e: Http2Error) => {
        ev.push(`error ${errorCodeName(e.code)} ${e.streamId} ${e.message}`);
        if (stopOnError) r.stop();
      },
      fieldBlock: (type, id, flags, b, start, end) => ev.push(`block ${type} ${id} ${flags & 0x5} ${str(b.subarray(start, end))}`),
    });
    for (const c of chunks) r.push(c);
    return ev;
  }
  /** The same events from frame objects (the path without fieldBlock). */
  function readSlow(chunks: Uint8Array[], stopOnError = false): string[] {
    const ev: string[] = [];
    const r: FrameReader = new FrameReader({
      frame: (f: Frame) => {
        if (f.type === FrameType.HEADERS) ev.push(`block 1 ${f.streamId} ${(f.endStream ? 1 : 0) | (f.endHeaders ? 4 : 0)} ${str(f.fragment)}`);
        else if (f.type === FrameType.CONTINUATION) ev.push(`block 9 ${f.streamId} ${f.endHeaders ? 4 : 0} ${str(f.fragment)}`);
        else ev.push(`frame ${f.type} ${"streamId" in f ? f.streamId : 0}`);
      },
      error: (e: Http2Error) => {
        ev.push(`error ${errorCodeName(e.code)} ${e.streamId} ${e.message}`);
        if (stopOnError) r.stop();
      },
    });
    for (const c of chunks) r.push(c);
    return ev;
  }
  const block = bytes("0123456789abcdefghij");
  const cases: { name: string; wire: Uint8Array }[] = [
    { name: "HEADERS with END_HEADERS", wire: concat(encodeHeaders(1, block, true), PING) },
    { name: "padded, with priority", wire: encodeHeaders(3, block, false, 16384, { padLength: 7, priority: { exclusive: true, dependency: 1, weight: 16 } }) },
    { name: "HEADERS + CONTINUATIONs", wire: concat(encodeHeaders(5, block, true, 6), PING) },
    { name: "a self-dependency: stream error, then the block", wire: concat(encodeHeaders(7, block, false, 16384, { priority: { exclusive: false, dependency: 7, weight: 1 } }), PING) },
    // Pad Length 10 in a 6-octet payload that has the priority fields: padding into them.
    { name: "padding over the priority fields", wire: concat(frameHeader(6, FrameType.HEADERS, 0x08 | 0x20 | 0x04, 1), Uint8Array.from([5, 0, 0, 0, 0, 0]), PING) },
    { name: "CONTINUATION on another stream", wire: concat(encodeHeaders(1, block, true, 6).subarray(0, 15), encodeFrame(FrameType.CONTINUATION, 4, 3, block)) },
    { name: "CONTINUATION without HEADERS", wire: encodeFrame(FrameType.CONTINUATION, 4, 1, block) },
  ];
  for (const { name, wire } of cases) {
    test(name, () => {
      for (const { name: split, chunks } of splits(str(wire))) {
        assert.deepEqual(readFast(chunks), readSlow(chunks), `${name}: ${split}`);
        assert.deepEqual(readFast(chunks, true), readSlow(chunks, true), `${name}: ${split}, stop() on error`);
      }
      assert.ok(readFast([wire]).some((e) => e.startsWith("block") || e.startsWith("error")));
    });
  }
});
