// The client side of one exchange on an HTTP/2 stream: the request in the neutral shape, the response as HEADERS,
// DATA and trailing HEADERS on the stream.

import { ErrorCode } from "../http2/frames/constants.ts";
import type { Http2RequestHead, Http2Stream } from "../http2/connection.ts";
import { encodeLatin1 } from "../http1/headers.ts";
import type { HeaderList } from "../http1/types.ts";
import type { HttpContext } from "./context.ts";
import { joinCookies, toH2Fields } from "./h2-fields.ts";
import type { BodyShape, Downstream, ProxyRequest } from "./message.ts";
import type { ClientPeer } from "./peer.ts";

export class Http2Downstream implements Downstream {
  readonly http1 = null;
  private drainFn: (() => void) | null = null;
  /** END_STREAM was sent (or the stream was reset). */
  private ended = false;

  constructor(
    readonly ctx: HttpContext,
    readonly peer: ClientPeer,
    private readonly stream: Http2Stream,
    private readonly method: string,
  ) {}

  informational(status: number, _reason: string, headers: HeaderList): void {
    if (status !== 100 || this.method !== "HEAD") this.stream.informational(status, toH2Fields(headers));
  }

  sendHead(status: number, _reason: string, headers: HeaderList, body: BodyShape): void {
    const end = body === "none";
    this.stream.respond(status, toH2Fields(headers), end);
    if (end) this.ended = true;
  }

  sendBody(chunk: Uint8Array): boolean {
    return this.stream.write(chunk);
  }

  onDrain(fn: () => void): void {
    this.drainFn = fn;
  }

  /** The stream's write buffer emptied. */
  drained(): void {
    const fn = this.drainFn;
    this.drainFn = null;
    fn?.();
  }

  sendEnd(trailers: HeaderList | null): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.end(trailers === null ? null : toH2Fields(trailers));
  }

  respondLocal(status: number, headers: readonly (readonly [string, string])[], body: string, mustClose: boolean): void {
    const fields: HeaderList = [];
    // Without a body END_STREAM says it all (and a gRPC trailers-only response carries no content-length).
    if (body !== "") fields.push("content-type", "text/plain; charset=utf-8", "content-length", String(body.length));
    for (const [n, v] of headers) fields.push(n.toLowerCase(), v);
    const noBody = body === "" || this.method === "HEAD";
    this.stream.respond(status, fields, noBody);
    if (!noBody) {
      this.stream.write(encodeLatin1(body));
      this.stream.end(null);
    }
    this.ended = true;
    // The request body will not be read: ask the client to stop sending it, without an error (RFC 9113 §8.1).
    if (mustClose) this.stream.reset(ErrorCode.NO_ERROR);
  }

  pauseRequest(): void {
    this.stream.pause();
  }

  resumeRequest(): void {
    this.stream.resume();
  }

  abortResponse(): void {
    this.ended = true;
    this.stream.reset(ErrorCode.INTERNAL_ERROR);
  }

  done(closeAfter: boolean): void {
    if (closeAfter && this.stream.state !== "closed") this.stream.reset(ErrorCode.NO_ERROR);
  }
}

/** The neutral request for an HTTP/2 request head. */
export function http2Request(head: Http2RequestHead): ProxyRequest {
  const path = head.method === "CONNECT" ? "" : head.path;
  const q = path.indexOf("?");
  let authority = head.authority;
  let inTarget = authority !== "";
  if (!inTarget) {
    for (let i = 0; i < head.headers.length; i += 2) {
      if (head.headers[i] === "host") {
        authority = head.headers[i + 1]!;
        break;
      }
    }
    inTarget = false;
  }
  return {
    method: head.method,
    target: head.method === "CONNECT" ? head.authority : path,
    path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? "" : path.slice(q + 1),
    authority,
    authorityInTarget: inTarget,
    headers: joinCookies(head.headers),
    body: head.endStream ? "none" : head.contentLength >= 0 ? "length" : "stream",
    contentLength: head.contentLength < 0 ? 0 : head.contentLength,
    upgrade: null,
    protocol: "HTTP/2",
  };
}
