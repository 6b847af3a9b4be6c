// One try of an exchange as a stream on a pooled HTTP/2 connection to the endpoint.

import { MeshletError } from "../errors.ts";
import { ErrorCode, errorCodeName } from "../http2/frames/constants.ts";
import type { Http2Connection, Http2ResponseHead, Http2Stream, Http2StreamHandlers } from "../http2/connection.ts";
import { getHeader } from "../http1/headers.ts";
import type { HeaderList } from "../http1/types.ts";
import { toH2Fields } from "./h2-fields.ts";
import type { ResponseSink, UpstreamHead, UpstreamTry } from "./message.ts";
import type { Endpoint } from "./routes.ts";

export class H2StreamTry implements UpstreamTry, Http2StreamHandlers {
  /** A stream the server refused (REFUSED_STREAM, or above a GOAWAY's last stream) was not processed: safe to retry. */
  uses = 0;
  private stream: Http2Stream | null = null;
  private sink: ResponseSink | null = null;
  private drainFn: (() => void) | null = null;
  private requestEnded = false;
  private responseStarted = false;

  constructor(
    private readonly h2: Http2Connection,
    private readonly endpoint: Endpoint,
  ) {}

  begin(head: UpstreamHead, sink: ResponseSink): void {
    this.sink = sink;
    const endStream = head.body === "none";
    this.requestEnded = endStream;
    // toH2Fields drops `host`, which becomes :authority.
    const authority = getHeader(head.headers, "host") ?? this.endpoint.key;
    this.stream = this.h2.request(
      { method: head.method, scheme: "http", authority, path: head.target, headers: toH2Fields(head.headers, head.teTrailers) },
      endStream,
      this,
    );
  }

  // ---- the stream's handlers (this object is the Http2StreamHandlers: no closures per request)

  informational(status: number, headers: HeaderList): void {
    this.sink?.onResponseHead({ status, reason: "", headers, body: "none", contentLength: 0 });
  }

  head(h: Http2ResponseHead): void {
    this.responseStarted = true;
    this.sink?.onResponseHead({
      status: h.status, reason: "", headers: h.headers,
      body: h.endStream ? "none" : h.contentLength >= 0 ? "length" : "stream",
      contentLength: h.contentLength < 0 ? 0 : h.contentLength,
    });
  }

  data(chunk: Uint8Array): void {
    this.sink?.onResponseBody(chunk);
  }

  end(trailers: HeaderList | null): void {
    const sink = this.sink;
    this.sink = null;
    sink?.onResponseEnd(trailers);
  }

  reset(code: number, byPeer: boolean): void {
    this.onReset(code, byPeer);
  }

  drain(): void {
    const fn = this.drainFn;
    this.drainFn = null;
    fn?.();
  }

  // ---- the exchange's side

  sendBody(chunk: Uint8Array): boolean {
    return this.stream === null ? true : this.stream.write(chunk);
  }

  sendEnd(trailers: HeaderList | null): void {
    if (this.requestEnded || this.stream === null) return;
    this.requestEnded = true;
    this.stream.end(trailers === null ? null : toH2Fields(trailers));
  }

  onDrain(fn: () => void): void {
    this.drainFn = fn;
  }

  pauseResponse(): void {
    this.stream?.pause();
  }

  resumeResponse(): void {
    this.stream?.resume();
  }

  finish(): void {
    this.sink = null;
    const s = this.stream;
    // A response that ended before the request did: stop the upload (RFC 9113 §8.1).
    if (s !== null && s.state !== "closed") s.reset(ErrorCode.CANCEL);
  }

  destroy(): void {
    this.sink = null;
    const s = this.stream;
    if (s !== null && s.state !== "closed") s.reset(ErrorCode.CANCEL);
  }

  private onReset(code: number, byPeer: boolean): void {
    const sink = this.sink;
    this.sink = null;
    if (sink === null) return;
    // Refused streams were not processed: the exchange may send them again on a fresh stream (like a stale
    // keep-alive connection on HTTP/1).
    if (code === ErrorCode.REFUSED_STREAM && !this.responseStarted) this.uses = 1;
    if (!this.h2.peerSpokeHttp2) {
      sink.onUpstreamError(new MeshletError("PROTOCOL_UNSUPPORTED", `${this.endpoint.key} does not speak HTTP/2 (h2c with prior knowledge)`), false);
      return;
    }
    const who = byPeer ? `${this.endpoint.key} reset the stream` : `the stream to ${this.endpoint.key} failed`;
    sink.onUpstreamError(new MeshletError("UPSTREAM_RESET", `${who} (${errorCodeName(code)})`), this.responseStarted);
  }
}
