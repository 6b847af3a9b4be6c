// Defences of an HTTP/2 connection against a hostile or broken peer, with their defaults and the small token
// bucket they share. Each limit, when hit, closes the connection with GOAWAY ENHANCE_YOUR_CALM, except the
// per-stream zero-window stall (the stream is reset with CANCEL).

export interface Http2Limits {
  /**
   * Rapid reset (CVE-2023-44487): a bucket of `resetBurst` tokens refilled at `resetRatePerSec`. A token is
   * taken for each stream the peer opens and resets before we finished it, each stream we refuse because it is
   * beyond our SETTINGS_MAX_CONCURRENT_STREAMS, and each stream error the peer provokes (malformed message,
   * frame on a half-closed stream...). Empty bucket: GOAWAY ENHANCE_YOUR_CALM.
   * Defaults 200 and 100/s (nghttp2: 1000 and 33/s; Envoy closes once over half of 500+ streams were reset
   * within 1 s of opening). A lower burst than nghttp2 because every opened stream may start an upstream request.
   */
  resetBurst: number;
  resetRatePerSec: number;
  /**
   * CONTINUATION flood (CVE-2024-27316 family): a field block may span at most this many frames (HEADERS
   * included). Default 32: a 64 KiB list needs 5 frames of 16 KiB; nghttp2 allows 1 + 8, Envoy 1 + 512.
   */
  maxHeaderBlockFrames: number;
  /**
   * A field block may hold at most maxHeaderListSize + this many compressed octets before END_HEADERS (HPACK
   * output is rarely larger than the list it encodes). Default 16 KiB. Over it, or over maxHeaderBlockFrames:
   * GOAWAY ENHANCE_YOUR_CALM; the block cannot be answered per stream because HPACK needs the whole block.
   */
  headerBlockSlackBytes: number;
  /**
   * SETTINGS and PING floods: frames that make us send an ACK take a token from a bucket of `ackFrameBurst`,
   * refilled at `ackFramesPerSec` and by one token for each DATA or HEADERS frame we send (so gRPC's BDP pings,
   * one per window of data received, never run dry). Defaults 1000 and 100/s.
   */
  ackFrameBurst: number;
  ackFramesPerSec: number;
  /**
   * Control frames (ACKs, RST_STREAM, WINDOW_UPDATE, GOAWAY) we may queue while the connection's write side is
   * blocked (Conn.write() returned false and no drain since): a peer that floods without reading is closed past
   * it. Default 1000 (Envoy's max_outbound_control_frames, nghttp2's max outbound ACKs; Go allows 10000).
   */
  maxQueuedControlFrames: number;
  /**
   * A stream with DATA queued whose send window stays <= 0 this long is reset (CANCEL) and its buffer dropped; a
   * connection whose send window stays <= 0 with DATA queued this long is closed (GOAWAY ENHANCE_YOUR_CALM: the
   * peer holds our memory without reading, a slow-read attack, not a flow-control violation). Default 30 s.
   */
  zeroWindowTimeoutMs: number;
  /** Our SETTINGS must be acknowledged within this (GOAWAY SETTINGS_TIMEOUT, §6.5.3); 0 disables. Default 30 s. */
  settingsAckTimeoutMs: number;
  /** shutdown() waits this long for in-flight streams, then closes with the rest reset. Default 30 s. */
  shutdownGraceMs: number;
  /** After our GOAWAY, the Conn gets this long to flush before it is destroyed. Default 5 s. */
  closeFlushTimeoutMs: number;
}

export const DEFAULT_HTTP2_LIMITS: Readonly<Http2Limits> = Object.freeze({
  resetBurst: 200,
  resetRatePerSec: 100,
  maxHeaderBlockFrames: 32,
  headerBlockSlackBytes: 16 * 1024,
  ackFrameBurst: 1000,
  ackFramesPerSec: 100,
  maxQueuedControlFrames: 1000,
  zeroWindowTimeoutMs: 30_000,
  settingsAckTimeoutMs: 30_000,
  shutdownGraceMs: 30_000,
  closeFlushTimeoutMs: 5_000,
});

export function resolveLimits(p?: Partial<Http2Limits>): Http2Limits {
  const l: Http2Limits = { ...DEFAULT_HTTP2_LIMITS };
  if (p !== undefined) {
    for (const k of Object.keys(p) as (keyof Http2Limits)[]) {
      const v = p[k];
      if (v === undefined) continue;
      if (!(typeof v === "number" && v >= 0 && Number.isFinite(v))) throw new RangeError(`http2: limit ${k} = ${v}`);
      l[k] = v;
    }
  }
  if (l.resetBurst < 1 || l.ackFrameBurst < 1 || l.maxHeaderBlockFrames < 1) {
    throw new RangeError("http2: resetBurst, ackFrameBurst and maxHeaderBlockFrames must be at least 1");
  }
  return l;
}

/** A token bucket over the caller's clock readings (ms). Starts full. */
export class Bucket {
  private tokens: number;
  private last = Number.NaN;
  constructor(
    private readonly burst: number,
    private readonly perSec: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token; false when the bucket is empty. */
  take(now: number): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSec) / 1000);
    }
    if (!(now <= this.last)) this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Adds a token (up to the burst). */
  credit(): void {
    if (this.tokens < this.burst) this.tokens += 1;
  }
}
