// The send side of flow control (RFC 9113 §5.2, §6.9): streams with DATA queued take turns (one frame each per
// round) while the stream window, the connection window and the Conn allow; each frame is a 9-octet header and
// a view of the queued chunk. Also keeps the zero-window stall bookkeeping.

import { Flag, FrameType } from "./frames/constants.ts";
import { growWindow } from "./flow-window.ts";
import type { Output } from "./output.ts";
import { type Http2Stream, NO_CHUNKS, STREAM_LOW_WATER } from "./stream.ts";

export interface SchedulerHost {
  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  readonly peerMaxFrameSize: number;
  /** Writes the trailing HEADERS (with END_STREAM) of `s`. */
  writeTrailers(s: Http2Stream, trailers: string[]): void;
  /** END_STREAM went out on `s`. */
  sentEnd(s: Http2Stream): void;
  /** A DATA frame went out. */
  sentData(): void;
  /** A stall began: the stall timer may need arming. */
  stallStarted(): void;
  now(): number;
}

const MORE = 0;
const DONE = 1;
const STREAM_BLOCKED = 2;
const CONN_BLOCKED = 3;

export interface StallCheck {
  /** Streams stalled for the whole timeout. */
  streams: Http2Stream[];
  /** The connection window has been stalled for the whole timeout. */
  connection: boolean;
  /** Ms until the next stall can expire, or -1 when nothing is stalled. */
  nextInMs: number;
}

export class DataScheduler {
  /** The connection's send window. */
  window = 65535;
  /**
   * The streams with something to send, in turn order: ready[0, readyN). A round takes the list and leaves an
   * empty one (`spare`) for the streams that go again and those scheduled meanwhile, so that no round shifts an
   * array; slots are cleared as they are taken.
   */
  private ready: (Http2Stream | undefined)[] = [];
  private readyN = 0;
  private spare: (Http2Stream | undefined)[] = [];
  private flushing = false;
  private drained: Http2Stream[] = [];
  /** Streams whose send window is <= 0 with DATA queued. */
  private readonly stalled = new Set<Http2Stream>();
  /** Since when DATA has waited for a connection window <= 0, or -1. */
  private connStalledSince = -1;

  constructor(
    private readonly out: Output,
    private readonly host: SchedulerHost,
  ) {}

  /** `s` has DATA or its end to send. */
  schedule(s: Http2Stream): void {
    if (!s.scheduled) {
      s.scheduled = true;
      this.ready[this.readyN++] = s;
    }
  }

  /** WINDOW_UPDATE on stream 0; false when it overflows (§6.9.1). */
  growConnection(increment: number): boolean {
    const w = growWindow(this.window, increment);
    if (Number.isNaN(w)) return false;
    this.window = w;
    if (w > 0) this.connStalledSince = -1;
    return true;
  }

  /** A WINDOW_UPDATE or a SETTINGS_INITIAL_WINDOW_SIZE change (delta may be negative); false on overflow. */
  growStream(s: Http2Stream, delta: number): boolean {
    const w = growWindow(s.sendWindow, delta);
    if (Number.isNaN(w)) return false;
    s.sendWindow = w;
    if (w > 0) {
      this.unstall(s);
      if (s.queued > 0 || (s.endQueued && !s.localEnded)) this.schedule(s);
    } else if (s.queued > 0) this.noteStall(s);
    return true;
  }

  /** `s` is gone: its queue is dropped (its ready-list entry goes lazily). */
  drop(s: Http2Stream): void {
    s.queue = NO_CHUNKS;
    s.queueOffset = 0;
    s.queued = 0;
    s.wantDrain = false;
    this.unstall(s);
  }

  /** Sends what the windows and the Conn allow, round robin, then calls drain on streams back under the low-water mark. */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    let connWaiting = false;
    try {
      for (;;) {
        const n = this.readyN;
        if (n === 0 || this.out.blocked) break;
        const list = this.ready;
        this.ready = this.spare;
        this.readyN = 0;
        this.spare = list;
        let progress = false;
        connWaiting = false;
        let k = 0;
        for (; k < n && !this.out.blocked; k++) {
          const s = list[k]!;
          list[k] = undefined;
          const r = this.sendOne(s);
          if (r === MORE || r === CONN_BLOCKED) this.ready[this.readyN++] = s;
          else s.scheduled = false;
          if (r === CONN_BLOCKED) connWaiting = true;
          else if (r !== STREAM_BLOCKED) progress = true;
        }
        if (k < n) {
          // The Conn stopped taking writes: the streams not reached keep their turn, ahead of the others.
          this.requeueFront(list, k, n);
          break;
        }
        if (!progress) break;
      }
    } finally {
      this.flushing = false;
    }
    if (this.window > 0) this.connStalledSince = -1;
    else if (connWaiting && this.connStalledSince < 0) {
      this.connStalledSince = this.host.now();
      this.host.stallStarted();
    }
    if (this.drained.length > 0) {
      const list = this.drained;
      this.drained = [];
      for (const s of list) if (!s.aborted) s.handlers?.drain?.();
    }
  }

  /** Puts list[k, n) back at the front of the ready list, in order. */
  private requeueFront(list: (Http2Stream | undefined)[], k: number, n: number): void {
    const rest = n - k;
    const cur = this.ready;
    for (let i = this.readyN - 1; i >= 0; i--) cur[i + rest] = cur[i];
    for (let i = 0; i < rest; i++) {
      cur[i] = list[k + i];
      list[k + i] = undefined;
    }
    this.readyN += rest;
  }

  private sendOne(s: Http2Stream): number {
    if (s.aborted || s.localEnded) return DONE;
    if (s.queued > 0) {
      if (s.sendWindow <= 0) {
        this.noteStall(s);
        return STREAM_BLOCKED;
      }
      if (this.window <= 0) return CONN_BLOCKED;
      const chunk = s.queue[0]!;
      const off = s.queueOffset;
      const avail = chunk.length - off;
      const n = Math.min(avail, s.sendWindow, this.window, this.host.peerMaxFrameSize);
      if (n === avail) {
        s.queue.shift();
        s.queueOffset = 0;
      } else s.queueOffset = off + n;
      s.queued -= n;
      s.sendWindow -= n;
      this.window -= n;
      const last = s.queued === 0 && s.endQueued && s.trailers === null;
      this.out.frameHeader(n, FrameType.DATA, last ? Flag.END_STREAM : 0, s.id);
      if (off === 0 && n === chunk.length) this.out.write(chunk);
      else this.out.writeRange(chunk, off, off + n);
      this.host.sentData();
      if (s.wantDrain && s.queued <= STREAM_LOW_WATER) {
        s.wantDrain = false;
        this.drained.push(s);
      }
      if (last) {
        this.host.sentEnd(s);
        return DONE;
      }
      return s.queued > 0 || s.endQueued ? MORE : DONE;
    }
    if (s.endQueued) {
      if (s.trailers !== null) this.host.writeTrailers(s, s.trailers);
      else this.out.frameHeader(0, FrameType.DATA, Flag.END_STREAM, s.id);
      this.host.sentEnd(s);
    }
    return DONE;
  }

  private noteStall(s: Http2Stream): void {
    if (s.stalledSince >= 0) return;
    s.stalledSince = this.host.now();
    this.stalled.add(s);
    this.host.stallStarted();
  }

  private unstall(s: Http2Stream): void {
    if (s.stalledSince < 0) return;
    s.stalledSince = -1;
    this.stalled.delete(s);
  }

  /** What has been stalled for `timeoutMs` at `now`, and when to look again. */
  expired(now: number, timeoutMs: number): StallCheck {
    const streams: Http2Stream[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.stalled) {
      const left = s.stalledSince + timeoutMs - now;
      if (left <= 0) streams.push(s);
      else next = Math.min(next, left);
    }
    let connection = false;
    if (this.connStalledSince >= 0) {
      const left = this.connStalledSince + timeoutMs - now;
      if (left <= 0) connection = true;
      else next = Math.min(next, left);
    }
    return { streams, connection, nextInMs: next === Number.POSITIVE_INFINITY ? -1 : next };
  }
}
