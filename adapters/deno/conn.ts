// A Deno.TcpConn as a Conn. Absorbs Deno's pull reads (a read loop pushes chunks; pause() parks it), async
// partial writes (a queue with a high-water mark, flushed by one writer loop) and closeWrite() for half-close.
import type { Addr, Conn, ConnHandlers } from "../../core/ports.ts";
import { toAddr } from "../shared/addr.ts";
import { ChunkQueue } from "../shared/chunk-queue.ts";

const READ_SIZE = 64 * 1024;
/** write() returns false once this many bytes wait to be written. */
const HIGH_WATER = 64 * 1024;
const COALESCE = 64 * 1024;

export class DenoConn implements Conn {
  readonly local: Addr;
  readonly remote: Addr;
  private readonly c: Deno.TcpConn;
  private h: ConnHandlers | null = null;
  private drainFn: (() => void) | null = null;
  private readonly q = new ChunkQueue();
  private writing = false;
  private needDrain = false;
  private paused = false;
  private wake: (() => void) | null = null;
  private readEnded = false;
  private writeShut = false;
  private writeClosed = false;
  /** close() was called: flush, then close. */
  private closing = false;
  private gone = false;
  private closed = false;
  private closeErr: Error | undefined;

  constructor(c: Deno.TcpConn) {
    this.c = c;
    try {
      c.setNoDelay(true);
    } catch {
      // already closed
    }
    const l = c.localAddr as Deno.NetAddr;
    const r = c.remoteAddr as Deno.NetAddr;
    this.local = toAddr(l.hostname, l.port);
    this.remote = toAddr(r.hostname, r.port);
  }

  setHandlers(h: ConnHandlers): void {
    const first = this.h === null;
    this.h = h;
    if (!first) return;
    if (this.closed) queueMicrotask(() => h.close(this.closeErr));
    else void this.readLoop();
  }

  write(chunk: Uint8Array): boolean {
    if (this.writeShut || this.closing || this.gone) return false;
    this.q.push(chunk);
    if (!this.writing) void this.writeLoop();
    if (this.q.bytes < HIGH_WATER) return true;
    this.needDrain = true;
    return false;
  }

  onDrain(fn: (() => void) | null): void {
    this.drainFn = fn;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  closeWrite(): void {
    if (this.writeShut || this.gone) return;
    this.writeShut = true;
    if (!this.writing) this.afterFlush();
  }

  close(): void {
    if (this.closing || this.gone) return;
    this.closing = true;
    if (!this.writing) this.afterFlush();
  }

  destroy(err?: Error): void {
    if (this.gone) return;
    if (err !== undefined && this.closeErr === undefined) this.closeErr = err;
    this.finish(undefined);
  }

  private async readLoop(): Promise<void> {
    let buf = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        const n = await this.c.read(buf);
        if (this.gone || this.closing) return;
        if (n === null) break;
        let chunk: Uint8Array;
        if (n > READ_SIZE / 2) {
          // Big read: hand the buffer over and take a new one (no copy).
          chunk = buf.subarray(0, n);
          buf = new Uint8Array(READ_SIZE);
        } else chunk = buf.slice(0, n);
        if (this.paused) await this.parked();
        if (this.gone || this.closing) return;
        this.h!.data(chunk);
      }
    } catch (err) {
      if (!this.gone && !this.closing) this.finish(err as Error);
      return;
    }
    if (this.paused) await this.parked();
    if (this.gone || this.closing) return;
    this.readEnded = true;
    this.h!.end();
    if (this.writeClosed) this.finish(undefined);
  }

  private parked(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private async writeLoop(): Promise<void> {
    this.writing = true;
    const q = this.q;
    try {
      while (!q.empty) {
        const chunk = q.coalesce(COALESCE);
        const n = await this.c.write(chunk);
        if (this.gone) return;
        q.consume(n);
      }
    } catch (err) {
      if (!this.gone) this.finish(err as Error);
      return;
    } finally {
      this.writing = false;
    }
    this.afterFlush();
    if (this.needDrain && !this.gone) {
      this.needDrain = false;
      const fn = this.drainFn;
      if (fn !== null) fn();
    }
  }

  /** The queue is empty: carry out a pending closeWrite()/close(). */
  private afterFlush(): void {
    if (this.gone) return;
    if (this.closing) {
      this.finish(undefined);
      return;
    }
    if (this.writeShut && !this.writeClosed) {
      this.writeClosed = true;
      try {
        this.c.closeWrite();
      } catch (err) {
        this.finish(err as Error);
        return;
      }
      if (this.readEnded) this.finish(undefined);
    }
  }

  private finish(err: Error | undefined): void {
    if (this.gone) return;
    this.gone = true;
    if (err !== undefined && this.closeErr === undefined) this.closeErr = err;
    this.q.clear();
    try {
      this.c.close();
    } catch {
      // already closed
    }
    const w = this.wake;
    this.wake = null;
    w?.();
    if (this.h !== null && !this.closed) {
      this.closed = true;
      this.h.close(this.closeErr);
    } else if (this.h === null) this.closed = true;
  }
}
