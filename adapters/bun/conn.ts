// A Bun socket as a Conn. Absorbs: partial writes (write() returns the bytes taken; the rest is queued and
// flushed on `drain`), half-close by shutdown(), pause() that may still dispatch already-received data
// (held here), and a missing `end` event when both sides have shut down (synthesized before `close`).
// Bun hands each `data` callback a fresh buffer (pinned by the conformance suite), so chunks are not copied.
import type { Socket } from "bun";
import type { Addr, Conn, ConnHandlers } from "../../core/ports.ts";
import { toAddr } from "../shared/addr.ts";
import { ChunkQueue } from "../shared/chunk-queue.ts";

export type BunSocket = Socket<BunConn | undefined>;

/** write() returns false once this many bytes wait in the adapter's queue. */
const HIGH_WATER = 64 * 1024;
const COALESCE = 64 * 1024;

export class BunConn implements Conn {
  readonly local: Addr;
  readonly remote: Addr;
  private readonly sock: BunSocket;
  private h: ConnHandlers | null = null;
  private drainFn: (() => void) | null = null;
  private readonly q = new ChunkQueue();
  private needDrain = false;
  private paused = false;
  /** Data (and then end/close) held while paused or before setHandlers. */
  private inbox: Uint8Array[] | null = null;
  private endHeld = false;
  private closeHeld = false;
  private peerEnded = false;
  private writeShut = false;
  private shutPending = false;
  /** close() or destroy() was called. */
  private done = false;
  private endPending = false;
  private gone = false;
  private closed = false;
  private closeErr: Error | undefined;

  constructor(sock: BunSocket) {
    this.sock = sock;
    sock.setNoDelay(true);
    this.local = toAddr(sock.localAddress, sock.localPort);
    this.remote = toAddr(sock.remoteAddress, sock.remotePort);
    // Hold reads in the kernel until the core installs its handlers.
    sock.pause();
  }

  setHandlers(h: ConnHandlers): void {
    const first = this.h === null;
    this.h = h;
    if (first) this.deliverHeld();
  }

  write(chunk: Uint8Array): boolean {
    if (this.writeShut || this.done || this.gone) return false;
    if (this.q.empty) {
      const n = this.sock.write(chunk);
      if (n === chunk.byteLength) return true;
      if (n < 0) return false;
      this.q.push(n === 0 ? chunk : chunk.subarray(n));
    } else this.q.push(chunk);
    if (this.q.bytes < HIGH_WATER) return true;
    this.needDrain = true;
    return false;
  }

  onDrain(fn: (() => void) | null): void {
    this.drainFn = fn;
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    if (!this.gone) this.sock.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.deliverHeld();
  }

  closeWrite(): void {
    if (this.writeShut || this.gone) return;
    this.writeShut = true;
    if (this.q.empty) this.sock.shutdown();
    else this.shutPending = true;
  }

  close(): void {
    if (this.done || this.gone) return;
    this.done = true;
    this.inbox = null;
    if (this.q.empty) this.sock.end();
    else this.endPending = true;
  }

  destroy(err?: Error): void {
    if (this.gone) return;
    this.done = true;
    if (err !== undefined && this.closeErr === undefined) this.closeErr = err;
    this.q.clear();
    this.inbox = null;
    this.sock.terminate();
    // Bun calls `close` from terminate(); make sure it is reported even if it does not.
    this.onClosed(undefined);
  }

  // ---- socket events (dispatched by the shared handler object in handlers.ts) ----

  onData(chunk: Uint8Array): void {
    if (this.done) return;
    if (this.h !== null && !this.paused && this.inbox === null) this.h.data(chunk);
    else (this.inbox ??= []).push(chunk);
  }

  onEnd(): void {
    if (this.peerEnded || this.done) return;
    this.peerEnded = true;
    if (this.h !== null && !this.paused && this.inbox === null) this.h.end();
    else this.endHeld = true;
  }

  onWritable(): void {
    const q = this.q;
    while (!q.empty) {
      const c = q.coalesce(COALESCE);
      const n = this.sock.write(c);
      if (n < 0) {
        q.clear();
        return;
      }
      q.consume(n);
      if (n < c.byteLength) return;
    }
    if (this.shutPending) {
      this.shutPending = false;
      this.sock.shutdown();
    }
    if (this.endPending) {
      this.endPending = false;
      this.sock.end();
      return;
    }
    if (this.needDrain) {
      this.needDrain = false;
      const fn = this.drainFn;
      if (fn !== null) fn();
    }
  }

  onError(err: Error): void {
    if (this.closeErr === undefined) this.closeErr = err;
    this.destroy(err);
  }

  onClosed(err: Error | undefined): void {
    if (this.gone) return;
    this.gone = true;
    this.q.clear();
    if (err !== undefined && this.closeErr === undefined) this.closeErr = err;
    const clean = this.closeErr === undefined;
    // Bun skips `end` when the peer's FIN arrives after our own shutdown: a clean close implies it.
    if (clean && !this.peerEnded && !this.done) this.onEnd();
    if (clean && this.h !== null && (this.paused || this.inbox !== null || this.endHeld)) {
      this.closeHeld = true; // delivered after the held data, on resume()
      return;
    }
    this.inbox = null;
    this.endHeld = false;
    this.fireClose();
  }

  private fireClose(): void {
    if (this.closed || this.h === null) return;
    this.closed = true;
    this.h.close(this.closeErr);
  }

  private deliverHeld(): void {
    const h = this.h;
    if (h === null) return;
    const inbox = this.inbox;
    if (inbox !== null) {
      let i = 0;
      while (i < inbox.length && !this.paused && this.inbox === inbox) h.data(inbox[i++]!);
      if (this.inbox !== inbox) return; // closed meanwhile
      if (i < inbox.length) {
        inbox.splice(0, i);
        return;
      }
      this.inbox = null;
    }
    if (this.paused) return;
    if (this.endHeld) {
      this.endHeld = false;
      h.end();
    }
    if (this.gone) {
      if (this.closeHeld || !this.closed) this.fireClose();
      return;
    }
    if (!this.paused) this.sock.resume();
  }
}
