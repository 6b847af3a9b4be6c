// One HTTP/1.1 connection to an endpoint: sends a request, parses its response, and goes back to its pool
// only when the exchange ended cleanly (response fully read, request fully sent, no stray bytes).

import { MeshletError } from "../errors.ts";
import { ResponseParser } from "../http1/parser.ts";
import { CRLF, encodeChunkHeader, encodeLastChunk, encodeRequestHead } from "../http1/serialize.ts";
import type { HeaderList } from "../http1/types.ts";
import type { Conn } from "../ports.ts";
import type { TcpMetrics } from "../telemetry/types.ts";
import { CoalescingConn } from "./coalescing-conn.ts";
import type { ResponseSink, UpstreamHead, UpstreamTry } from "./message.ts";
import type { Endpoint } from "./routes.ts";

export type { ResponseSink };

export interface UpstreamOwner {
  /** Called when a connection is done with an exchange and may be reused. */
  returnIdle(u: UpstreamConn, now?: number): void;
  /** Called once when the connection is closed for good. */
  forget(u: UpstreamConn): void;
}

export class UpstreamConn implements UpstreamTry {
  /** How many exchanges this connection has carried (0 while serving the first). */
  uses = 0;
  /** Monotonic time it became idle. */
  idleSince = 0;
  private sink: ResponseSink | null = null;
  private readonly parser: ResponseParser;
  private responseStarted = false;
  private responseDone = false;
  private reusable = true;
  private closed = false;

  readonly conn: Conn;

  constructor(
    raw: Conn,
    readonly endpoint: Endpoint,
    private readonly owner: UpstreamOwner,
    readonly metrics: TcpMetrics,
  ) {
    const conn = (this.conn = new CoalescingConn(raw));
    metrics.opened();
    this.parser = new ResponseParser({
      onHead: (head) => {
        this.responseStarted = true;
        if (head.status >= 200) this.keepAliveOk = head.keepAlive;
        const body = head.bodyKind === "none" ? "none" : head.bodyKind === "length" ? "length" : "stream";
        this.sink?.onResponseHead({
          status: head.status, reason: head.reason, headers: head.headers, body, contentLength: head.contentLength,
        });
      },
      onBody: (chunk) => this.sink?.onResponseBody(chunk),
      onEnd: (trailers) => {
        this.responseDone = true;
        // Bytes after the response (a second response, garbage) mean this connection is out of step.
        if (!this.keepAliveOk || this.parser.bufferedBytes > 0) this.reusable = false;
        this.sink?.onResponseEnd(trailers);
      },
      onError: (err) => {
        this.reusable = false;
        this.fail(err.code === "TRUNCATED"
          ? new MeshletError("UPSTREAM_RESET", `${endpoint.key} closed the connection in the middle of the response`)
          : new MeshletError("UPSTREAM_MALFORMED", `malformed response from ${endpoint.key}: ${err.message}`));
        this.conn.destroy();
      },
    });
    conn.setHandlers({
      data: (chunk) => {
        metrics.read(chunk.length);
        if (this.sink === null || this.responseDone) {
          // Bytes on an idle connection, or after the response, are a protocol violation: never reuse it.
          this.reusable = false;
          this.conn.destroy();
          return;
        }
        this.parser.execute(chunk);
      },
      end: () => {
        this.reusable = false;
        if (this.sink === null) {
          // Closed while idle: out of the pool at once, not when the close event comes.
          this.owner.forget(this);
          this.conn.close();
          return;
        }
        this.parser.finish(); // ends a close-delimited body, or fails a message cut short
        if (this.sink !== null && !this.responseDone && !this.parser.inMessage) {
          this.fail(new MeshletError("UPSTREAM_RESET", `${endpoint.key} closed the connection without responding`));
          this.conn.destroy();
        }
      },
      close: (err) => {
        this.closed = true;
        this.reusable = false;
        metrics.closed();
        if (this.sink !== null && !this.responseDone) {
          this.fail(new MeshletError("UPSTREAM_RESET", `connection to ${endpoint.key} closed before the response ended`, { cause: err }));
        }
        this.owner.forget(this);
      },
    });
  }

  /** From the response head: the upstream allows another request on this connection. */
  keepAliveOk = true;
  /** The request body goes chunked (its length is not known). */
  private chunked = false;

  get isClosed(): boolean {
    return this.closed;
  }

  /** Attaches an exchange and sends its request head. */
  begin(head: UpstreamHead, sink: ResponseSink): void {
    this.sink = sink;
    this.responseStarted = false;
    this.responseDone = false;
    this.keepAliveOk = true;
    this.parser.expect(head.method);
    this.parser.resume();
    this.chunked = head.body === "stream";
    const headers = this.chunked ? [...head.headers, "transfer-encoding", "chunked"] : head.headers;
    this.write(encodeRequestHead(head.method, head.target, headers));
  }

  sendBody(chunk: Uint8Array): boolean {
    if (!this.chunked) return this.write(chunk);
    this.write(encodeChunkHeader(chunk.length));
    this.write(chunk);
    return this.write(CRLF);
  }

  sendEnd(trailers: HeaderList | null): void {
    if (this.chunked) this.write(encodeLastChunk(trailers));
  }

  onDrain(fn: () => void): void {
    this.conn.onDrain(fn);
  }

  write(chunk: Uint8Array): boolean {
    this.metrics.written(chunk.length);
    return this.conn.write(chunk);
  }

  /** Stops/starts reading the response (backpressure from the client side). */
  pauseResponse(): void {
    this.parser.pause();
    this.conn.pause();
  }
  resumeResponse(): void {
    this.conn.resume();
    this.parser.resume();
  }

  /**
   * Ends the exchange. `requestComplete` says the whole request body was sent; otherwise the connection
   * cannot carry another request. `now` is the caller's clock reading, if it has one.
   */
  finish(requestComplete: boolean, now?: number): void {
    const sink = this.sink;
    this.sink = null;
    if (sink === null || this.closed) return;
    this.uses++;
    if (this.reusable && this.responseDone && requestComplete && this.keepAliveOk) {
      this.owner.returnIdle(this, now);
    } else {
      this.conn.destroy();
    }
  }

  /** Hands the raw connection over (after 101 Switching Protocols or a CONNECT); returns bytes already read past the head. */
  detachForTunnel(): { conn: Conn; pending: Uint8Array } {
    this.sink = null;
    this.reusable = false;
    const pending = this.parser.takeRemainder();
    this.owner.forget(this);
    return { conn: this.conn, pending };
  }

  destroy(): void {
    this.sink = null;
    this.reusable = false;
    this.conn.destroy();
  }

  private fail(err: MeshletError): void {
    const sink = this.sink;
    this.sink = null;
    sink?.onUpstreamError(err, this.responseStarted);
  }
}
