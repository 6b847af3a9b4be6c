// The engine's small parts on their own: receive windows, the token bucket, content-length parsing, the shaping of
// outgoing fields, our SETTINGS.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SettingId } from "../../../core/http2/frames/constants.ts";
import { growWindow, InboundWindow } from "../../../core/http2/flow-window.ts";
import { Bucket, resolveLimits } from "../../../core/http2/limits.ts";
import { appendOutgoing, parseContentLength } from "../../../core/http2/message-checks.ts";
import { localSettings, settingsPairs } from "../../../core/http2/settings.ts";
import { Output } from "../../../core/http2/output.ts";
import { DataScheduler } from "../../../core/http2/scheduler.ts";
import { Http2Stream, type StreamHost } from "../../../core/http2/stream.ts";
import type { Conn } from "../../../core/ports.ts";

describe("InboundWindow", () => {
  test("returns consumed octets in batches of half the window", () => {
    const w = new InboundWindow(1000);
    assert.equal(w.receive(400), true);
    assert.equal(w.consume(400), 0);
    assert.equal(w.receive(200), true);
    assert.equal(w.consume(200), 600);
    assert.equal(w.available, 1000);
  });

  test("an overrun is reported", () => {
    const w = new InboundWindow(100);
    assert.equal(w.receive(100), true);
    assert.equal(w.receive(1), false);
  });

  test("a smaller window on the SETTINGS ACK releases what is now over half of it", () => {
    const w = new InboundWindow(65535);
    w.receive(40000);
    assert.equal(w.consume(30000), 0, "under half, and the peer may still send");
    assert.equal(w.resize(20000), 30000, "the window is now -20000: all that is owed goes back");
    assert.equal(w.available, 10000);
  });

  test("with the peer blocked (window <= 0) anything consumed is returned at once", () => {
    const w = new InboundWindow(1000);
    w.receive(1000);
    assert.equal(w.consume(10), 10);
  });

  test("growWindow refuses to pass 2^31-1 and allows negative windows", () => {
    assert.ok(Number.isNaN(growWindow(0x7fffffff, 1)));
    assert.equal(growWindow(-500, 400), -100);
  });
});

describe("Bucket", () => {
  test("burst, then refill over time", () => {
    const b = new Bucket(3, 2);
    assert.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
    assert.equal(b.take(499), false);
    assert.equal(b.take(500), true);
    b.credit();
    assert.equal(b.take(500), true);
  });

  test("limits are validated", () => {
    assert.throws(() => resolveLimits({ resetBurst: 0 }), /at least 1/);
    assert.throws(() => resolveLimits({ zeroWindowTimeoutMs: -1 }), /zeroWindowTimeoutMs/);
    assert.equal(resolveLimits({ resetBurst: 5 }).resetBurst, 5);
  });
});

describe("fields", () => {
  test("content-length values", () => {
    assert.equal(parseContentLength("0"), 0);
    assert.equal(parseContentLength("42"), 42);
    assert.equal(parseContentLength("42, 42"), 42);
    assert.equal(parseContentLength("42, 43"), -1);
    assert.equal(parseContentLength("-1"), -1);
    assert.equal(parseContentLength(""), -1);
    assert.equal(parseContentLength("99999999999999999999"), -1);
  });

  test("outgoing fields: lower-cased, connection-specific and pseudo dropped, TE only as trailers", () => {
    const out: string[] = [];
    appendOutgoing(out, ["X-A", "1", "Connection", "close", "Keep-Alive", "5", "Transfer-Encoding", "chunked", "Upgrade", "h2c", "Proxy-Connection", "x", ":path", "/", "TE", "trailers, deflate", "Host", "h", "cookie", "a=1"], true);
    assert.deepEqual(out, ["x-a", "1", "cookie", "a=1"]);
    const out2: string[] = [];
    appendOutgoing(out2, ["te", "Trailers", "host", "h"], false);
    assert.deepEqual(out2, ["te", "trailers", "host", "h"]);
  });

  test("outgoing fields: the same answer every time, for names seen before and names that share their slot", () => {
    // The names passed on unchanged are remembered; every other kind must still be looked at each time.
    const list = ["x-a", "1", "host", "h", "te", "gzip", "connection", "close", ":path", "/", "X-A", "2", "", "e", "x-b", "3"];
    for (let c = 0x61; c <= 0x7a; c++) list.push(`x-${String.fromCharCode(c)}${String.fromCharCode(c)}`, "v");
    const want = (dropHost: boolean) => {
      const w = ["x-a", "1"];
      if (!dropHost) w.push("host", "h");
      w.push("x-a", "2", "", "e", "x-b", "3");
      for (let c = 0x61; c <= 0x7a; c++) w.push(`x-${String.fromCharCode(c)}${String.fromCharCode(c)}`, "v");
      return w;
    };
    for (let round = 0; round < 3; round++) {
      for (const dropHost of [false, true]) {
        const out: string[] = [];
        appendOutgoing(out, list, dropHost);
        assert.deepEqual(out, want(dropHost), `round ${round}, dropHost ${dropHost}`);
      }
    }
  });
});

describe("our SETTINGS", () => {
  test("client: push off, 100 streams, and only what differs from the defaults", () => {
    assert.deepEqual(settingsPairs(localSettings({}), "client"), [
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.MAX_CONCURRENT_STREAMS, 100],
      [SettingId.INITIAL_WINDOW_SIZE, 65536],
      [SettingId.MAX_HEADER_LIST_SIZE, 65536],
    ]);
  });

  test("server: no ENABLE_PUSH; ENABLE_CONNECT_PROTOCOL when asked", () => {
    const s = localSettings({ maxFrameSize: 32768, headerTableSize: 0, enableConnectProtocol: true, initialWindowSize: 65535 });
    assert.deepEqual(settingsPairs(s, "server"), [
      [SettingId.HEADER_TABLE_SIZE, 0],
      [SettingId.MAX_CONCURRENT_STREAMS, 100],
      [SettingId.MAX_FRAME_SIZE, 32768],
      [SettingId.MAX_HEADER_LIST_SIZE, 65536],
      [SettingId.ENABLE_CONNECT_PROTOCOL, 1],
    ]);
  });

  test("values out of range are refused", () => {
    assert.throws(() => localSettings({ maxFrameSize: 1000 }), /maxFrameSize/);
    assert.throws(() => localSettings({ initialWindowSize: 2 ** 31 }), /initialWindowSize/);
  });
});

describe("DataScheduler turn order", () => {
  /**
   * The order the scheduler sends frames in, against the original model (shift a stream off the ready list, send
   * one frame, push it back if it has more): streams with several 16 KiB frames each, and a Conn that stops
   * taking writes after some frames (drained, then flushed again).
   */
  function run(frames: number[], blockAfter: number): number[] {
    const sent: number[] = [];
    let drain: () => void = () => {};
    let writes = 0;
    let blocked = false;
    const conn = {
      write: (b: Uint8Array) => {
        if (b.length === 16384) {
          sent.push(b[0]!);
          if (++writes % blockAfter === 0) blocked = true;
        }
        return !blocked;
      },
      onDrain: (fn: () => void) => {
        drain = fn;
      },
    } as unknown as Conn;
    const out = new Output(conn, () => {}, () => {});
    const host = { peerMaxFrameSize: 16384, writeTrailers() {}, sentEnd() {}, sentData() {}, stallStarted() {}, now: () => 0 };
    const sched = new DataScheduler(out, host);
    sched.window = 1 << 30;
    const streams = frames.map((n, i) => {
      const s = new Http2Stream(null as unknown as StreamHost, 2 * i + 1, true, 1 << 30, 65535);
      s.headSent = true;
      for (let k = 0; k < n; k++) {
        const chunk = new Uint8Array(16384).fill(i);
        s.queue = s.queue.length === 0 ? [chunk] : [...s.queue, chunk];
        s.queued += chunk.length;
      }
      return s;
    });
    for (const s of streams) sched.schedule(s);
    for (let guard = 0; guard < 100 && sent.length < frames.reduce((a, b) => a + b, 0); guard++) {
      sched.flush();
      out.flush();
      blocked = false;
      drain();
    }
    return sent;
  }

  function model(frames: number[], blockAfter: number): number[] {
    const left = frames.slice();
    const ready = frames.map((_, i) => i);
    const sent: number[] = [];
    let blocked = false;
    while (ready.length > 0) {
      for (;;) {
        const n = ready.length;
        if (n === 0 || blocked) break;
        for (let k = 0; k < n && !blocked; k++) {
          const i = ready.shift()!;
          sent.push(i);
          if (sent.length % blockAfter === 0) blocked = true;
          if (--left[i]! > 0) ready.push(i);
        }
      }
      blocked = false;
    }
    return sent;
  }

  for (const [frames, blockAfter] of [
    [[1, 1, 1], 100],
    [[3, 1, 2, 4], 100],
    [[3, 1, 2, 4], 2],
    [[5, 5, 5, 5, 5], 3],
    [[1, 7, 2, 6, 3, 5, 4], 4],
  ] as const) {
    test(`${frames.join(",")} frames, blocked every ${blockAfter}`, () => {
      assert.deepEqual(run([...frames], blockAfter), model([...frames], blockAfter));
    });
  }
});
