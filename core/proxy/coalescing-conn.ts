// A Conn that merges the small writes of one synchronous turn (a response head, its body, chunk framing) into
// one write at the end of the turn. Socket writes dominate a proxy's CPU per request; this halves them for
// small exchanges. Large chunks go straight through (after whatever is queued), without copying.

import { concatBytes } from "../bytes.ts";
import type { Addr, Conn, ConnHandlers, TlsInfo } from "../ports.ts";

/** Chunks at least this big are written as they are instead of being copied into a merged buffer. */
const PASS_THROUGH_BYTES = 16 * 1024;

export class CoalescingConn implements Conn {
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private scheduled = false;
  private blocked = false;
  private drainFn: (() => void) | null = null;
  private readonly flushSoon = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly inner: Conn) {
    inner.onDrain(() => {
      this.blocked = false;
      const fn = this.drainFn;
      this.drainFn = null;
      fn?.();
    });
  }

  get local(): Addr {
    return this.inner.local;
  }
  get remote(): Addr {
    return this.inner.remote;
  }
  get tls(): TlsInfo | undefined {
    return this.inner.tls;
  }

  setHandlers(h: ConnHandlers): void {
    this.inner.setHandlers(h);
  }

  /** Returns false while the underlying connection is over its high-water mark (then wait for onDrain). */
  write(chunk: Uint8Array): boolean {
    if (chunk.length >= PASS_THROUGH_BYTES) {
      this.flush();
      if (!this.inner.write(chunk)) this.blocked = true;
      return !this.blocked;
    }
    this.parts.push(chunk);
    this.bytes += chunk.length;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushSoon);
    }
    return !this.blocked;
  }

  /** Writes out what this turn queued. */
  flush(): void {
    const n = this.parts.length;
    if (n === 0) return;
    const out = n === 1 ? this.parts[0]! : concatBytes(this.parts);
    this.parts.length = 0;
    this.bytes = 0;
    if (!this.inner.write(out)) this.blocked = true;
  }

  onDrain(fn: (() => void) | null): void {
    this.drainFn = fn;
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  closeWrite(): void {
    this.flush();
    this.inner.closeWrite();
  }
  close(): void {
    this.flush();
    this.inner.close();
  }
  destroy(err?: Error): void {
    this.parts.length = 0;
    this.bytes = 0;
    this.inner.destroy(err);
  }
}
