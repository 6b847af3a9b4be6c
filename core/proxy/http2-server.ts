// One accepted HTTP/2 client connection (h2c with prior knowledge): each stream is an exchange, routed and
// balanced on its own; the connection closes gracefully (GOAWAY) on shutdown or after the idle timeout.

import { Http2Connection, type Http2RequestHead, type Http2Stream } from "../http2/connection.ts";
import type { Conn } from "../ports.ts";
import type { TcpMetrics } from "../telemetry/types.ts";
import type { HttpContext, Tracked } from "./context.ts";
import { Exchange } from "./exchange.ts";
import { Http2Downstream, http2Request } from "./http2-downstream.ts";
import { MeteredConn } from "./metered-conn.ts";
import type { ClientPeer } from "./peer.ts";

export class Http2ServerConn implements Tracked {
  private readonly h2: Http2Connection;
  private untrack: () => void = () => {};
  /** Time without an open stream (ms), counted by sweep() from the first sweep that saw it idle (-1: busy). */
  private idleMs = -1;

  constructor(
    raw: Conn,
    private readonly ctx: HttpContext,
    private readonly metrics: TcpMetrics,
    private readonly peer: ClientPeer,
    preread: Uint8Array,
  ) {
    this.h2 = new Http2Connection(new MeteredConn(raw, metrics), { role: "server", clock: ctx.clock, ...ctx.http2() }, {
      stream: (s, head) => this.onStream(s, head),
      close: () => {
        metrics.closed();
        this.untrack();
      },
    });
    this.untrack = ctx.track(this);
    // The detector counted the preface bytes it read.
    this.h2.start(preread);
  }

  private onStream(s: Http2Stream, head: Http2RequestHead): void {
    this.idleMs = -1;
    const down = new Http2Downstream(this.ctx, this.peer, s, head.method);
    const ex = new Exchange(down, http2Request(head));
    s.setHandlers({
      data: (chunk) => ex.onRequestBody(chunk),
      end: (trailers) => ex.onRequestEnd(trailers),
      reset: () => ex.abort(),
      drain: () => down.drained(),
    });
    ex.start();
  }

  drain(): void {
    this.h2.shutdown();
  }

  destroy(): void {
    this.h2.destroy();
  }

  sweep(elapsedMs: number): void {
    if (this.h2.closed || this.h2.activeStreams > 0) {
      this.idleMs = -1;
      return;
    }
    const { idleMs } = this.ctx.clientTimeouts();
    this.idleMs = this.idleMs < 0 ? 0 : this.idleMs + elapsedMs;
    if (idleMs > 0 && this.idleMs >= idleMs) this.h2.shutdown();
  }
}
