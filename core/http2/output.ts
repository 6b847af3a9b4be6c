// The write side of a connection: merges the small frames of one synchronous turn into one Conn write (socket
// writes dominate CPU per request), passes large DATA payloads through uncopied, tracks the Conn's backpressure,
// and counts the control frames queued while the peer is not reading. The owner flushes at the end of its turn
// (it is told when the first frame of a turn is queued).

import { concatBytes } from "../bytes.ts";
import type { Conn } from "../ports.ts";

/** Chunks at least this big are written as they are, after what is queued. */
const PASS_THROUGH_BYTES = 16 * 1024;
/** Queued bytes past this are written at once, so the Conn's backpressure is seen without waiting for the turn's end. */
const FLUSH_BYTES = 64 * 1024;

export class Output {
  private parts: Uint8Array[] = [];
  private bytes = 0;
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
    if (b.length >= PASS_THROUGH_BYTES) {
      this.flush();
      this.put(b);
      return;
    }
    this.parts.push(b);
    this.bytes += b.length;
    if (this.bytes >= FLUSH_BYTES) this.flush();
    else if (!this.pending) {
      this.pending = true;
      this.onQueued();
    }
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
    const n = this.parts.length;
    if (n === 0 || this.dead) return;
    const out = n === 1 ? this.parts[0]! : concatBytes(this.parts);
    this.parts = [];
    this.bytes = 0;
    this.put(out);
  }

  /** Nothing more is written (queued bytes are dropped). */
  stop(): void {
    this.dead = true;
    this.parts = [];
    this.bytes = 0;
  }

  private put(b: Uint8Array): void {
    if (this.conn.write(b)) {
      this.blocked = false;
      this.controls = 0;
    } else this.blocked = true;
  }
}
