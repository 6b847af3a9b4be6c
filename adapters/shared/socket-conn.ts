// A node:net Socket (or node:tls TLSSocket) as a Conn. Used by the Node adapter for TCP and, since node:tls
// is the TLS implementation on every runtime for now, by the shared TLS port on all three.
import type { Socket } from "node:net";
import type { Addr, Conn, ConnHandlers, TlsInfo } from "../../core/ports.ts";
import { toAddr } from "./addr.ts";

type Resettable = Socket & { resetAndDestroy?: () => Socket };

export class SocketConn implements Conn {
  readonly local: Addr;
  readonly remote: Addr;
  readonly tls?: TlsInfo;
  private readonly sock: Socket;
  private readonly canReset: boolean;
  private h: ConnHandlers | null = null;
  private drainFn: (() => void) | null = null;
  private paused = false;
  /** close() or destroy() was called: data is no longer delivered. */
  private done = false;
  private closed = false;
  private closeErr: Error | undefined;

  /** `addrs` overrides the addresses (a TLSSocket over a stream has none of its own). */
  constructor(sock: Socket, tls?: TlsInfo, addrs?: { local: Addr; remote: Addr }, canReset = true) {
    this.sock = sock;
    this.canReset = canReset;
    this.local = addrs?.local ?? toAddr(sock.localAddress, sock.localPort);
    this.remote = addrs?.remote ?? toAddr(sock.remoteAddress, sock.remotePort);
    if (tls !== undefined) this.tls = tls;
    sock.on("end", this.onEnd);
    sock.on("error", this.onError);
    sock.on("close", this.onClose);
    sock.on("drain", this.onDrainEvent);
  }

  /**
   * Gives up the socket (plain TCP only, still open): every listener this Conn added is removed and the Conn is
   * dead. node:tls can then run on the socket's native handle instead of over a JS stream (much cheaper per chunk).
   */
  detachSocket(): Socket | undefined {
    const s = this.sock;
    if (this.tls !== undefined || this.done || this.closed || s.destroyed) return undefined;
    this.done = true;
    s.off("data", this.onData);
    s.off("end", this.onEnd);
    s.off("error", this.onError);
    s.off("close", this.onClose);
    s.off("drain", this.onDrainEvent);
    // Stop the JS reads: bytes arriving now must wait on the handle for whoever takes it over.
    s.pause();
    return s;
  }

  setHandlers(h: ConnHandlers): void {
    const first = this.h === null;
    this.h = h;
    if (!first) return;
    if (this.closed) {
      queueMicrotask(() => h.close(this.closeErr));
      return;
    }
    this.sock.on("data", this.onData);
    if (this.paused) this.sock.pause();
  }

  write(chunk: Uint8Array): boolean {
    const s = this.sock;
    if (this.done || s.destroyed || s.writableEnded) return false;
    return s.write(chunk);
  }

  onDrain(fn: (() => void) | null): void {
    this.drainFn = fn;
  }

  pause(): void {
    this.paused = true;
    if (this.h !== null) this.sock.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.h !== null) this.sock.resume();
  }

  closeWrite(): void {
    if (!this.sock.writableEnded && !this.sock.destroyed) this.sock.end();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    const s = this.sock;
    if (s.destroyed) return;
    if (s.writableFinished) {
      s.destroy();
      return;
    }
    s.once("finish", () => s.destroy());
    if (!s.writableEnded) s.end();
  }

  destroy(err?: Error): void {
    if (this.closed || this.sock.destroyed) return;
    this.done = true;
    if (err !== undefined && this.closeErr === undefined) this.closeErr = err;
    const s = this.sock as Resettable;
    // Never reset while our FIN may still be in flight (end() called, 'finish' not yet seen): libuv's
    // uv_tcp_close_reset() refuses with UV_EINVAL while a shutdown request is pending, and Node's TCPWrap::Reset
    // marks the handle closing anyway. The handle is then never closed: no 'close' event (so no close handler), a
    // leaked fd, and at exit Environment::CleanupHandles spins on uv_run forever at 100% CPU waiting for it.
    // A plain destroy() closes the fd instead (the kernel still sends RST if unread data is pending).
    const finPending = s.writableEnded && !s.writableFinished;
    if (this.canReset && !finPending && typeof s.resetAndDestroy === "function") {
      try {
        s.resetAndDestroy();
        return;
      } catch {
        // not a TCP handle: fall through
      }
    }
    s.destroy();
  }

  private readonly onData = (chunk: Uint8Array): void => {
    if (!this.done) this.h!.data(chunk);
  };

  private readonly onEnd = (): void => {
    if (!this.done) this.h?.end();
  };

  private readonly onError = (err: Error): void => {
    if (this.closeErr === undefined) this.closeErr = err;
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.h?.close(this.closeErr);
  };

  private readonly onDrainEvent = (): void => {
    const fn = this.drainFn;
    if (fn !== null) fn();
  };
}
