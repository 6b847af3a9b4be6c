// Our PINGs (RFC 9113 §6.7) awaiting their ACK: ping() callbacks and the keepalive probe. The 8 octets carry a
// sequence number, so an ACK is matched to its PING whatever the order.

import { encodePing } from "./frames/writer.ts";

interface Outstanding {
  seq: number;
  sentAt: number;
  /** null for the keepalive probe. */
  cb: ((rttMs: number | null) => void) | null;
}

export class PingTracker {
  private seq = 0;
  private waiting: Outstanding[] = [];

  /** A PING frame for a new probe sent at `now`. */
  frame(now: number, cb: ((rttMs: number | null) => void) | null): Uint8Array {
    const seq = (this.seq = (this.seq + 1) >>> 0);
    this.waiting.push({ seq, sentAt: now, cb });
    const data = new Uint8Array(8);
    data[0] = 0x6d; // "m", so our PINGs are recognisable in captures
    data[4] = seq >>> 24;
    data[5] = (seq >>> 16) & 0xff;
    data[6] = (seq >>> 8) & 0xff;
    data[7] = seq & 0xff;
    return encodePing(data, false);
  }

  /** A PING ACK arrived: calls its callback; returns "keepalive" for the probe, "ping" for others, null if unknown. */
  ack(data: Uint8Array, now: number): "keepalive" | "ping" | null {
    if (data[0] !== 0x6d) return null;
    const seq = ((data[4]! << 24) | (data[5]! << 16) | (data[6]! << 8) | data[7]!) >>> 0;
    const i = this.waiting.findIndex((w) => w.seq === seq);
    if (i < 0) return null;
    const w = this.waiting[i]!;
    this.waiting.splice(i, 1);
    if (w.cb === null) return "keepalive";
    w.cb(now - w.sentAt);
    return "ping";
  }

  /** The connection closed: every callback gets null. */
  failAll(): void {
    const all = this.waiting;
    this.waiting = [];
    for (const w of all) w.cb?.(null);
  }
}
