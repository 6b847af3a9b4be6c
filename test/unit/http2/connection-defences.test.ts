// The defences of limits.ts against a raw hostile client: rapid reset, CONTINUATION flood, HPACK bomb, PING and
// SETTINGS floods (reading and not reading), zero-window stalls; and the keepalive on the server side.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ErrorCode, FrameType, SettingId } from "../../../core/http2/frames/constants.ts";
import { encodeFrame, encodeHeaders, encodePing, encodeSettings } from "../../../core/http2/frames/writer.ts";
import type { Http2RequestHead, Http2Stream } from "../../../core/http2/connection.ts";
import type { Http2ConnectionError } from "../../../core/http2/connection.ts";
import { DEFAULT_HTTP2_LIMITS } from "../../../core/http2/limits.ts";
import { errorCodeName, rawClient, settle, settleN } from "./connection-helpers.ts";

const REQ = [":method", "GET", ":scheme", "http", ":authority", "example.com", ":path", "/"];
const EYC = "ENHANCE_YOUR_CALM";

/** Holds every request open; answers /answer at once. Counts streams seen. */
function app(seen: { n: number; resets: string[] }) {
  return (s: Http2Stream, head: Http2RequestHead) => {
    seen.n++;
    s.setHandlers({
      data() {},
      end: () => {
        if (head.path === "/answer") s.respond(200, [], true);
      },
      reset: (code, byPeer) => seen.resets.push(`${s.id} ${errorCodeName(code)}${byPeer ? " by peer" : ""}`),
    });
  };
}

function closedWith(server: { closed: { done: boolean; err: Error | undefined } }, code: string): Http2ConnectionError {
  assert.equal(server.closed.done, true, "the connection is closed");
  const err = server.closed.err as Http2ConnectionError;
  assert.equal(err.code, code, err.message);
  return err;
}

describe("rapid reset (CVE-2023-44487)", () => {
  test(`1000 HEADERS+RST_STREAM pairs: GOAWAY ${EYC} after the burst (${DEFAULT_HTTP2_LIMITS.resetBurst})`, async () => {
    const seen = { n: 0, resets: [] as string[] };
    const { server, peer } = rawClient({ onStream: app(seen) });
    await settle();
    for (let i = 0; i < 1000; i++) {
      peer.request(1 + 2 * i, false);
      peer.rst(1 + 2 * i);
    }
    await settleN(2);
    assert.equal(errorCodeName(peer.goaway()!.errorCode), EYC);
    closedWith(server, EYC);
    assert.equal(seen.n, DEFAULT_HTTP2_LIMITS.resetBurst + 1, "streams after the limit never reach the application");
    assert.ok(peer.goaway()!.lastStreamId <= 2 * (DEFAULT_HTTP2_LIMITS.resetBurst + 1));
  });

  test("resets within the burst and refill rate are fine", async () => {
    const seen = { n: 0, resets: [] as string[] };
    const { server, peer, clock } = rawClient({ onStream: app(seen) });
    await settle();
    let id = 1;
    for (let i = 0; i < 150; i++, id += 2) {
      peer.request(id, false);
      peer.rst(id);
    }
    await settle();
    clock.advance(1000); // +100 tokens: 150 available
    for (let i = 0; i < 150; i++, id += 2) {
      peer.request(id, false);
      peer.rst(id);
    }
    await settle();
    assert.equal(server.closed.done, false);
    assert.equal(seen.n, 300);
    peer.request(id, true, [], "GET", "/answer");
    await settle();
    assert.equal(peer.status(id), "200");
  });

  test("streams we refuse (beyond MAX_CONCURRENT_STREAMS) count too", async () => {
    const seen = { n: 0, resets: [] as string[] };
    const { server, peer } = rawClient({ server: { maxConcurrentStreams: 1 }, onStream: app(seen) });
    await settle();
    peer.request(1, false);
    for (let i = 1; i <= 300; i++) peer.request(1 + 2 * i, true);
    await settleN(2);
    assert.equal(seen.n, 1);
    assert.equal(peer.rsts().filter((r) => r.errorCode === ErrorCode.REFUSED_STREAM).length, DEFAULT_HTTP2_LIMITS.resetBurst + 1);
    assert.equal(errorCodeName(peer.goaway()!.errorCode), EYC);
    closedWith(server, EYC);
    assert.deepEqual(seen.resets, [`1 ${EYC}`]);
  });

  test("stream errors the peer provokes count too", async () => {
    const { server, peer } = rawClient({ server: { limits: { resetBurst: 10 } } });
    await settle();
    for (let i = 0; i < 11; i++) peer.headers(1 + 2 * i, [...REQ, "X-Bad", "1"], true);
    await settleN(2);
    assert.equal(peer.rsts().length, 11);
    closedWith(server, EYC);
  });
});

describe("CONTINUATION flood", () => {
  test(`more than ${DEFAULT_HTTP2_LIMITS.maxHeaderBlockFrames} frames in one field block: GOAWAY ${EYC}`, async () => {
    const { server, peer } = rawClient();
    await settle();
    const block = peer.enc.encode(REQ);
    peer.send(encodeFrame(FrameType.HEADERS, 0x1, 1, block)); // END_STREAM, no END_HEADERS
    for (let i = 0; i < 100; i++) peer.send(encodeFrame(FrameType.CONTINUATION, 0, 1, new Uint8Array(0)));
    await settleN(2);
    assert.equal(errorCodeName(peer.goaway()!.errorCode), EYC);
    assert.match(closedWith(server, EYC).message, /field block over 32 frames/);
  });

  test("more compressed octets than maxHeaderListSize + 16 KiB: GOAWAY ENHANCE_YOUR_CALM before END_HEADERS", async () => {
    const { server, peer } = rawClient({ server: { maxHeaderListSize: 8192 } });
    await settle();
    peer.send(encodeFrame(FrameType.HEADERS, 0x1, 1, new Uint8Array(16384)));
    peer.send(encodeFrame(FrameType.CONTINUATION, 0, 1, new Uint8Array(16384)));
    assert.equal(server.closed.done, false);
    await settle();
    assert.equal(errorCodeName(peer.goaway()!.errorCode), EYC);
    closedWith(server, EYC);
  });

  test("a legitimate block in several frames is accepted", async () => {
    const seen = { n: 0, resets: [] as string[] };
    const { server, peer } = rawClient({ onStream: app(seen) });
    await settle();
    const block = peer.enc.encode([...REQ.slice(0, 6), ":path", "/answer", "x-big", "v".repeat(50_000)]);
    peer.send(encodeHeaders(1, block, true, 16384));
    await settle();
    assert.equal(peer.status(1), "200");
    assert.equal(server.closed.done, false);
  });
});

describe("HPACK bomb", () => {
  test("a small block decoding past maxHeaderListSize gets 431; the connection and HPACK state survive", async () => {
    const seen = { n: 0, resets: [] as string[] };
    const { server, peer } = rawClient({ onStream: app(seen) });
    await settle();
    const fields = [...REQ];
    for (let i = 0; i < 100; i++) fields.push("x-bomb", "b".repeat(3000)); // indexed once, then 1-octet references
    const block = peer.enc.encode(fields);
    assert.ok(block.length < 4000, `compressed to ${block.length} octets`);
    peer.send(encodeHeaders(1, block, false));
    await settle();
    assert.equal(peer.status(1), "431");
    assert.equal(peer.endedStreams.has(1), true);
    assert.deepEqual(peer.rsts(1).map((r) => errorCodeName(r.errorCode)), ["NO_ERROR"], "asked to stop sending the body");
    assert.equal(seen.n, 0);
    peer.data(1, "ignored body", true); // in flight: ignored
    peer.request(3, true, ["x-bomb", "b".repeat(3000)], "GET", "/answer"); // uses the dynamic table entry
    await settle();
    assert.equal(peer.status(3), "200");
    assert.equal(server.closed.done, false);
  });
});

describe("PING and SETTINGS floods", () => {
  test("PINGs from a peer that does not read: closed once too many ACKs are queued", async () => {
    const { server, peer } = rawClient({ server: { limits: { ackFrameBurst: 1_000_000 } } });
    await settle();
    peer.conn.pause(); // the peer stops reading
    server.mem.hwm = 4096;
    peer.conn.hwm = 4096;
    const ping = encodePing(new Uint8Array(8), false);
    for (let turn = 0; turn < 40 && !server.closed.done; turn++) {
      for (let i = 0; i < 100; i++) peer.conn.write(ping);
      await settle();
    }
    const err = closedWith(server, EYC);
    assert.match(err.message, /control frames queued/);
    assert.equal(server.mem.destroyed, true, "destroyed, not flushed: the peer is not reading");
  });

  test("the same PINGs from a peer that reads are fine (control frames are counted only while blocked)", async () => {
    const { server, peer } = rawClient({ server: { limits: { ackFrameBurst: 1_000_000 } } });
    await settle();
    const ping = encodePing(new Uint8Array(8), false);
    for (let turn = 0; turn < 40; turn++) {
      for (let i = 0; i < 100; i++) peer.conn.write(ping);
      await settle();
    }
    assert.equal(server.closed.done, false);
    assert.equal(peer.count(FrameType.PING), 4000);
  });

  test(`a PING flood from a reading peer: GOAWAY ${EYC} past the burst`, async () => {
    const { server, peer } = rawClient();
    await settle();
    for (let i = 0; i < 1500; i++) peer.ping();
    await settleN(2);
    assert.equal(errorCodeName(peer.goaway()!.errorCode), EYC);
    assert.match(closedWith(server, EYC).message, /PING flood/);
    assert.equal(peer.count(FrameType.PING), DEFAULT_HTTP2_LIMITS.ackFrameBurst - 1, "the peer's SETTINGS took one token");
  });

  test(`a SETTINGS flood: GOAWAY ${EYC}`, async () => {
    const { server, peer } = rawClient();
    await settle();
    const settings = encodeSettings([[SettingId.MAX_CONCURRENT_STREAMS, 100]]);
    for (let i = 0; i < 2000; i++) peer.send(settings);
    await settleN(2);
    assert.equal(errorCodeName(peer.goaway()!.errorCode), EYC);
    assert.match(closedWith(server, EYC).message, /SETTINGS flood/);
  });

  test("frames we send refill the ACK bucket (PINGs paced by DATA, as gRPC's BDP probe does)", async () => {
    const { server, peer, clock } = rawClient({
      server: { limits: { ackFrameBurst: 5, ackFramesPerSec: 0.001 } },
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {} });
        s.respond(200, [], false);
        s.write(new Uint8Array(50_000)); // 4 DATA frames
        s.end();
      },
    });
    await settle(); // the client SETTINGS took one token
    clock.advance(1);
    for (let i = 0; i < 4; i++) peer.ping();
    peer.request(1);
    await settle();
    for (let i = 0; i < 5; i++) peer.ping(); // 5 tokens back from HEADERS + 4 DATA
    await settle();
    assert.equal(server.closed.done, false);
    peer.ping();
    await settle();
    closedWith(server, EYC);
  });
});

describe("zero-window stall", () => {
  test("a stream whose window stays at 0 with DATA queued is reset (CANCEL) after zeroWindowTimeoutMs", async () => {
    const seen = { n: 0, resets: [] as string[] };
    const { server, peer, clock } = rawClient({
      settings: [[SettingId.INITIAL_WINDOW_SIZE, 0]],
      onStream: (s, head) => {
        app(seen)(s, head);
        if (head.path === "/stall") {
          s.respond(200, [], false);
          s.write(new Uint8Array(10));
        }
      },
    });
    await settle();
    peer.request(1, true, [], "GET", "/stall");
    await settle();
    clock.advance(29_999);
    await settle();
    assert.deepEqual(peer.rsts(), []);
    clock.advance(1);
    await settle();
    assert.deepEqual(peer.rsts(1).map((r) => errorCodeName(r.errorCode)), ["CANCEL"]);
    assert.deepEqual(seen.resets, ["1 CANCEL"]);
    peer.request(3, true, [], "GET", "/answer");
    await settle();
    assert.equal(peer.status(3), "200");
    assert.equal(server.closed.done, false);
  });

  test("a window that opens in time clears the stall", async () => {
    const seen = { n: 0, resets: [] as string[] };
    const { peer, clock } = rawClient({
      settings: [[SettingId.INITIAL_WINDOW_SIZE, 0]],
      onStream: (s, head) => {
        app(seen)(s, head);
        s.respond(200, [], false);
        s.write(new Uint8Array(10));
        s.end();
      },
    });
    await settle();
    peer.request(1, true);
    await settle();
    clock.advance(20_000);
    peer.windowUpdate(1, 5);
    await settle();
    clock.advance(20_000); // 40 s since the first stall, 20 s since the second began
    await settle();
    assert.deepEqual(peer.rsts(), []);
    peer.windowUpdate(1, 5);
    await settle();
    assert.equal(peer.bodyBytes(1), 10);
    clock.advance(60_000);
    assert.deepEqual(seen.resets, []);
  });

  test(`a connection window at 0 for zeroWindowTimeoutMs: GOAWAY ${EYC}, error STALLED`, async () => {
    const { server, peer, clock } = rawClient({
      settings: [[SettingId.INITIAL_WINDOW_SIZE, 1 << 20]],
      onStream: (s) => {
        s.setHandlers({ data() {}, end() {}, reset() {} });
        s.respond(200, [], false);
        s.write(new Uint8Array(100_000));
      },
    });
    await settle();
    peer.request(1, true);
    await settle();
    assert.equal(peer.bodyBytes(1), 65535);
    clock.advance(30_000);
    await settle();
    assert.equal(errorCodeName(peer.goaway()!.errorCode), EYC);
    closedWith(server, "STALLED");
  });
});

describe("server keepalive", () => {
  test("an idle peer that does not answer PING is closed with PING_TIMEOUT", async () => {
    const { server, peer, clock } = rawClient({ server: { keepAlive: { intervalMs: 1000, timeoutMs: 500 } } });
    await settle();
    clock.advance(999);
    peer.ping(); // activity postpones the probe
    await settle();
    clock.advance(999);
    await settle();
    assert.equal(peer.frames.filter((f) => f.type === FrameType.PING && !f.ack).length, 0);
    clock.advance(1);
    await settle();
    assert.equal(peer.frames.filter((f) => f.type === FrameType.PING && !f.ack).length, 1);
    clock.advance(500);
    await settle();
    closedWith(server, "PING_TIMEOUT");
    assert.equal(errorCodeName(peer.goaway()!.errorCode), "NO_ERROR");
    assert.equal(server.mem.destroyed, true);
  });
});
