// Flow-control windows (RFC 9113 §5.2, §6.9). Send windows are plain numbers on the stream and the connection
// (they may go negative after a SETTINGS_INITIAL_WINDOW_SIZE decrease); a receive window is an InboundWindow.

import { MAX_WINDOW } from "./frames/constants.ts";

/** The send window after a WINDOW_UPDATE or a SETTINGS delta, or NaN when it would pass 2^31-1 (§6.9.1). */
export function growWindow(window: number, increment: number): number {
  const w = window + increment;
  return w > MAX_WINDOW ? Number.NaN : w;
}

/**
 * What the peer may still send us on one window, and what we owe it back. The peer's view is tracked exactly:
 * `available` falls with every flow-controlled octet received (padding included) and rises with each
 * WINDOW_UPDATE we send. Consumed octets are returned in batches of at least half the window, so a stream
 * costs one WINDOW_UPDATE per half window, not one per DATA frame.
 */
export class InboundWindow {
  /** The window we aim to keep open. */
  size: number;
  /** Octets the peer may still send before overrunning the window. */
  available: number;
  /** Octets consumed since our last WINDOW_UPDATE. */
  private owed = 0;

  constructor(size: number, available = size) {
    this.size = size;
    this.available = available;
  }

  /** Counts `n` received octets; false when they overran the window (FLOW_CONTROL_ERROR, §6.9.1). */
  receive(n: number): boolean {
    this.available -= n;
    return this.available >= 0;
  }

  /**
   * Counts `n` octets as consumed; returns the increment to send now: 0 while less than half the window is owed
   * and the peer can still send.
   */
  consume(n: number): number {
    this.owed += n;
    return this.due();
  }

  private due(): number {
    if (this.owed === 0 || (this.owed * 2 < this.size && this.available > 0)) return 0;
    return this.release();
  }

  /** The increment owed now, however small (0 if none); it is counted as sent. */
  release(): number {
    let inc = this.owed;
    if (this.available + inc > this.size) inc = this.size - this.available; // never past the target (nor 2^31-1)
    this.owed = 0;
    if (inc <= 0) return 0;
    this.available += inc;
    return inc;
  }

  /**
   * Our SETTINGS_INITIAL_WINDOW_SIZE took effect (the peer acknowledged it): shifts the window by the change, and
   * returns the increment now due (a smaller window makes what is owed a bigger share of it).
   */
  resize(size: number): number {
    this.available += size - this.size;
    this.size = size;
    return this.due();
  }
}
