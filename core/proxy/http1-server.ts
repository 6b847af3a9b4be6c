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

/** Bytes of pipelined requests held while an exchange runs; past this the client is paused. */
const PIPELINE_BUFFER_LIMIT = 64 * 1024;

export class Http1ServerConn {
  readonly parser: RequestParser;
  current: Exchange | null = null;
  /** The connection became a byte tunnel (Upgrade or CONNECT); the tunnel owns its handlers now. */
  tunneling = false;
  private closed = false;
  private clientEnded = false;
  private heldBytes = 0;
  private pausedForPipeline = false;
  private readonly untrack: () => void;

  readonly conn: Conn;

  constructor(
    raw: Conn,
    readonly ctx: HttpContext,
    readonly metrics: TcpMetrics,
    preread: Uint8Array,
  ) {
    const conn = (this.conn = new CoalescingConn(raw));
    this.untrack = ctx.track(this);
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
      end: () => {
        this.clientEnded = true;
        this.parser.finish();
        if (this.current === null) this.conn.close();
      },
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
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(bytes: Uint8Array): boolean {
    this.metrics.written(bytes.length);
    return this.conn.write(bytes);
  }

  /** Called by the exchange when its response has been written completely. */
  exchangeDone(closeAfter: boolean): void {
    this.current = null;
    if (this.closed) return;
    if (closeAfter || this.clientEnded || this.ctx.draining()) {
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
    if (!this.closed && this.current === null && !this.tunneling) this.parser.resume();
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

  private onRequestHead(head: RequestHead): void {
    const ex = new Exchange(this, head);
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
    ex?.abort();
    this.current = null;
    this.write(errorResponse(err.status, kebab(err.code), err.message, true));
    this.conn.close();
  }
}

function kebab(code: string): string {
  return code.toLowerCase().replaceAll("_", "-");
}

export type { HeaderList };
