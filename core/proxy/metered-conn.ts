// A Conn that counts the bytes read and written into a connection's TCP metrics (for engines that own the Conn,
// like HTTP/2, where no proxy code sees each read and write).

import type { Addr, Conn, ConnHandlers, TlsInfo } from "../ports.ts";
import type { TcpMetrics } from "../telemetry/types.ts";

export class MeteredConn implements Conn {
  constructor(
    private readonly inner: Conn,
    private readonly metrics: TcpMetrics,
  ) {}

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
    const metrics = this.metrics;
    this.inner.setHandlers({
      data(chunk) {
        metrics.read(chunk.length);
        h.data(chunk);
      },
      end: () => h.end(),
      close: (err) => h.close(err),
    });
  }

  write(chunk: Uint8Array): boolean {
    this.metrics.written(chunk.length);
    return this.inner.write(chunk);
  }
  onDrain(fn: (() => void) | null): void {
    this.inner.onDrain(fn);
  }
  pause(): void {
    this.inner.pause();
  }
  resume(): void {
    this.inner.resume();
  }
  closeWrite(): void {
    this.inner.closeWrite();
  }
  close(): void {
    this.inner.close();
  }
  destroy(err?: Error): void {
    this.inner.destroy(err);
  }
}
