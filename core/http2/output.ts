// The write side of a connection: merges the small frames of one synchronous turn into one Conn write (socket
// writes dominate CPU per request), passes large DATA payloads through uncopied, tracks the Conn's backpressure,
// and counts the control frames queued while the peer is not reading. The owner flushes at the end of its turn
// (it is told when the first frame of a turn is queued).
//
// Frames are built in place: frame headers and small frames go straight into a slab, and each flush hands the
// Conn a view of the bytes written since the last one. A Conn may keep what it was given (queued behind
// backpressure), so bytes once handed over are never written again: the slab is only ever appended to, and a new
// one is taken when it runs short. One slab serves many turns, so a turn costs one view, not a buffer per frame
// and another to join them. Slabs are small (an idle connection keeps at most one), a turn that outgrows one moves
// to a bigger one, and a slab grown past the default is let go after its flush.

import type { Conn } from "../ports.ts";
import { putFrameHeader } from "./frames/writer.ts";

/** Chunks at least this big are written as they are, after what is queued. */
const PASS_THROUGH_BYTES = 16 * 1024;
/** Queued bytes past this are written at once, so the Conn's backpressure is seen without waiting for the turn's end. */
const FLUSH_BYTES = 64 * 1024;
/** The size of a slab: a new one is taken when the current one cannot hold a frame. */
const SLAB_BYTES = 4096;
/** A flush that leaves less than this in the slab lets it go (rather than hand out slivers). */
const MIN_TAIL = 256;
/** Below this many octets a copy is a loop (no view to create for TypedArray.set). */
const SMALL_COPY = 96;

const NO_SLAB = new Uint8Array(0);

export class Output {
  private buf = NO_SLAB;
  /** buf[start, pos) is queued; buf[0, start) was handed to the Conn. */
  private start = 0;
  private pos = 0;
  private pending = false;
  private dead = false;
  /** The Conn's write() returned false and it has not drained since. */
  blocked = false;
  /** Control frames written since the Conn last accepted a write or drained. */
  private controls = 0;
  constructor(
    private readonly conn: Conn,
    onWritable: () => void,
    private readonly onQueued: () => void,
  ) {
    conn.onDrain(() => {
      this.blocked = false;
      this.controls = 0;
      if (!this.dead) onWritable();
    });
  }

  write(b: Uint8Array): void {
    if (this.dead) return;
    const n = b.length;
    if (n >= PASS_THROUGH_BYTES) {
      this.flush();
      this.put(b);
      return;
    }
    const buf = this.room(n);
    const p = this.pos;
    if (n <= SMALL_COPY) for (let i = 0; i < n; i++) buf[p + i] = b[i]!;
    else buf.set(b, p);
    this.pos = p + n;
    this.queued();
  }

  /** Writes src[start, end) (one frame's worth at most), as write() would a view of it. */
  writeRange(src: Uint8Array, start: number, end: number): void {
    if (this.dead) return;
    const n = end - start;
    if (n >= PASS_THROUGH_BYTES) {
      this.write(src.subarray(start, end));
      return;
    }
    const buf = this.room(n);
    const p = this.pos;
    if (n <= SMALL_COPY) for (let i = 0; i < n; i++) buf[p + i] = src[start + i]!;
    else buf.set(src.subarray(start, end), p);
    this.pos = p + n;
    this.queued();
  }

  /**
   * Room for a frame of up to `n` octets written in place: returns where it starts in `slab`. The caller writes
   * there and queues what it wrote with commit(), before any other write.
   */
  reserve(n: number): number {
    this.room(n);
    return this.pos;
  }

  /** The buffer reserve() made room in. */
  get slab(): Uint8Array {
    return this.buf;
  }

  /** Queues the octets written in place since reserve(), up to `end` of `slab`. */
  commit(end: number): void {
    if (this.dead) return;
    this.pos = end;
    this.queued();
  }

  /** stop() was called: writes are dropped. */
  get stopped(): boolean {
    return this.dead;
  }

  /** Writes a 9-octet frame header (arguments already valid: length < 2^24, streamId < 2^31). */
  frameHeader(length: number, type: number, flags: number, streamId: number): void {
    if (this.dead) return;
    const buf = this.room(9); // may start a new buffer: read pos after it
    const o = this.pos;
    putFrameHeader(buf, o, length, type, flags, streamId);
    this.pos = o + 9;
    this.queued();
  }

  /**
   * Writes a control frame; false when more than `max` of them are waiting behind a Conn that does not accept
   * writes (checked by flushing first, so a peer that reads is never blamed for a burst within one turn).
   */
  control(b: Uint8Array, max: number): boolean {
    this.write(b);
    if (++this.controls <= max) return true;
    if (!this.blocked) this.flush();
    return !this.blocked;
  }

  flush(): void {
    this.pending = false;
    const start = this.start;
    const end = this.pos;
    if (end === start || this.dead) return;
    const buf = this.buf;
    const out = buf.subarray(start, end);
    if (buf.length - end < MIN_TAIL || buf.length > SLAB_BYTES) this.release();
    else this.start = end;
    this.put(out);
  }

  /** Nothing more is written (queued bytes are dropped). */
  stop(): void {
    this.dead = true;
    this.release();
  }

  /** The slab with room for `n` more octets at pos (the queued bytes moved to a new slab if needed). */
  private room(n: number): Uint8Array {
    if (this.pos + n <= this.buf.length) return this.buf;
    const queued = this.pos - this.start;
    const old = this.buf;
    const next = new Uint8Array(queued + n <= SLAB_BYTES ? SLAB_BYTES : 2 * (queued + n));
    if (queued > 0) next.set(old.subarray(this.start, this.pos));
    this.buf = next;
    this.start = 0;
    this.pos = queued;
    return next;
  }

  /** Forgets the slab (the next write takes a new one). */
  private release(): void {
    this.buf = NO_SLAB;
    this.start = this.pos = 0;
  }

  private queued(): void {
    if (this.pos - this.start >= FLUSH_BYTES) this.flush();
    else if (!this.pending) {
      this.pending = true;
      this.onQueued();
    }
  }

  private put(b: Uint8Array): void {
    if (this.conn.write(b)) {
      this.blocked = false;
      this.controls = 0;
    } else this.blocked = true;
  }
}
