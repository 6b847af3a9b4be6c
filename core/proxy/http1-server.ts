// One accepted HTTP/1.x client connection: parses requests, runs one exchange at a time (pipelined requests are
// answered in order), and keeps the connection alive between exchanges.

import { RequestParser } from "../http1/parser.ts";
import type { HeaderList, RequestHead } from "../http1/types.ts";
import type { Http1Error } from "../http1/types.ts";
import type { Conn } from "../ports.ts";
import type { TcpMetrics } from "../telemetry/types.ts";
import type { HttpContext } from "./context.ts";
import { errorResponse } from "./error-response.ts";
import { CoalescingConn } from "./coalescing-conn.ts";
import { Exchange } from "./exchange.ts";
import { encodeResponseHead } from "../http1/serialize.ts";
import { Http1Downstream, http1Request } from "./http1-downstream.ts";
import type { ClientPeer } from "./peer.ts";

/** Bytes of pipelined requests held while an exchange runs; past this the client is paused. */
const PIPELINE_BUFFER_LIMIT = 64 * 1024;

export class Http1ServerConn {
  readonly parser: RequestParser;
  current: Exchange | null = null;
  /** The connection became a byte tunnel (Upgrade or CONNECT); the tunnel owns its handlers now. */
  tunneling = false;
  private closed = false;
  /** The client sent FIN. */
  clientEnded = false;
  private heldBytes = 0;
  /**
   * Time spent waiting for a request (ms), and of that with part of its head received, counted by sweep() from
   * the first sweep that saw the state (-1: not seen yet), so a timeout never fires early.
   */
  private waitingMs = -1;
  private partialHeadMs = -1;
  private pausedForPipeline = false;
  private untrack: () => void = () => {};

  readonly conn: Conn;

  constructor(
    raw: Conn,
    readonly ctx: HttpContext,
    readonly metrics: TcpMetrics,
    readonly peer: ClientPeer,
    preread: Uint8Array,
    /** The client already sent FIN (seen during protocol detection). */
    endedEarly = false,
  ) {
    const conn = (this.conn = new CoalescingConn(raw));
    this.parser = new RequestParser({
      onHead: (head) => this.onRequestHead(head),
      onBody: (chunk) => this.current?.onRequestBody(chunk),
      onEnd: (trailers) => this.current?.onRequestEnd(trailers),
      onError: (err) => this.onParseError(err),
    });
    conn.setHandlers({
      data: (chunk) => {
        metrics.read(chunk.length);
        if (this.current !== null && this.current.requestEnded) {
          this.heldBytes += chunk.length;
          if (this.heldBytes > PIPELINE_BUFFER_LIMIT && !this.pausedForPipeline) {
            this.pausedForPipeline = true;
            conn.pause();
          }
        }
        this.parser.execute(chunk);
      },
      end: () => this.onClientEnd(),
      close: (err) => {
        this.closed = true;
        metrics.closed();
        this.untrack();
        this.current?.abort(err);
        this.current = null;
      },
    });
    if (preread.length > 0) {
      metrics.read(preread.length);
      this.parser.execute(preread);
    }
    // Tracked once the preread request (if any) runs, so a drain that is already under way lets it finish.
    if (!this.closed) this.untrack = ctx.track(this);
    if (endedEarly) this.onClientEnd();
    if (!this.closed && !(this.current?.holdsInput ?? false)) conn.resume();
  }

  /**
   * The client sent FIN. By default that cancels a request in flight (the client gave up, as Envoy, Linkerd and
   * nginx take it: the upstream exchange is closed, its slot and probe released); with clientHalfClose the proxy
   * answers what the client already sent, then closes.
   */
  private onClientEnd(): void {
    this.clientEnded = true;
    const ex = this.current;
    if (ex !== null && !this.ctx.clientHalfClose()) {
      this.current = null;
      ex.abort();
      this.conn.close();
      return;
    }
    this.parser.finish();
    if (this.current === null && this.parser.bufferedBytes === 0 && !this.tunneling) this.conn.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(bytes: Uint8Array): boolean {
    this.metrics.written(bytes.length);
    return this.conn.write(bytes);
  }

  /** A 101 response: the connection becomes a tunnel once the upstream's response head ends. */
  writeSwitchingProtocols(reason: string, headers: HeaderList): void {
    this.write(encodeResponseHead(101, reason, headers));
  }

  /** Called by the exchange when its response has been written completely. */
  exchangeDone(closeAfter: boolean): void {
    this.current = null;
    if (this.closed) return;
    if (closeAfter || this.ctx.draining() || (this.clientEnded && this.parser.bufferedBytes === 0)) {
      this.conn.close();
      return;
    }
    this.heldBytes = 0;
    if (this.pausedForPipeline) {
      this.pausedForPipeline = false;
      this.conn.resume();
    }
    // Deferred: this runs inside parser callbacks (ours or the upstream's), which must not be re-entered.
    queueMicrotask(this.resumeNext);
  }

  private readonly resumeNext = (): void => {
    if (this.closed || this.current !== null || this.tunneling) return;
    this.parser.resume();
    if (this.clientEnded && this.current === null && !this.closed) this.conn.close();
  };

  tunnelClosed(): void {
    this.closed = true;
    this.metrics.closed();
    this.untrack();
  }

  /** Shutdown: close now if idle, else after the current exchange. */
  drain(): void {
    if (this.current === null && !this.tunneling) this.conn.close();
  }

  destroy(): void {
    this.conn.destroy();
  }

  /**
   * The proxy's timeout sweep: a connection between requests closes after the idle timeout; one holding part of a
   * request head for the header timeout gets 408 and closes (a slow-headers attack holds nothing for long).
   */
  sweep(elapsedMs: number): void {
    if (this.current !== null || this.tunneling || this.closed) return;
    const { headerMs, idleMs } = this.ctx.clientTimeouts();
    this.waitingMs = this.waitingMs < 0 ? 0 : this.waitingMs + elapsedMs;
    if (this.parser.inMessage) {
      this.partialHeadMs = this.partialHeadMs < 0 ? 0 : this.partialHeadMs + elapsedMs;
      if (headerMs > 0 && this.partialHeadMs >= headerMs) {
        this.write(errorResponse(408, "header-timeout", `the request head did not arrive within ${headerMs} ms`, true));
        this.conn.close();
      }
    } else if (idleMs > 0 && this.waitingMs >= idleMs) this.conn.close();
  }

  private onRequestHead(head: RequestHead): void {
    this.waitingMs = -1;
    this.partialHeadMs = -1;
    const req = http1Request(head);
    const ex = "method" in req
      ? new Exchange(new Http1Downstream(this, head), req)
      : new Exchange(new Http1Downstream(this, head), null, req);
    this.current = ex;
    ex.start();
  }

  private onParseError(err: Http1Error): void {
    const ex = this.current;
    if (ex !== null && ex.responseHeadSent) {
      // The request body was malformed mid-stream after the response began: nothing sane can follow.
      this.conn.destroy();
      return;
    }
    if (ex !== null) {
      // The exchange answers (and logs) the rejection itself, then the connection closes.
      ex.reject(err.status, kebab(err.code), err.message);
      return;
    }
    this.write(errorResponse(err.status, kebab(err.code), err.message, true));
    this.conn.close();
  }
}

function kebab(code: string): string {
  return code.toLowerCase().replaceAll("_", "-");
}

export type { HeaderList };
