// The protocol-neutral shapes an exchange works with. The client side (HTTP/1 connection or HTTP/2 stream) and
// the upstream side (HTTP/1 connection or HTTP/2 stream) translate to and from them, so routing, policy, retries
// and timeouts are written once.

import type { HeaderList } from "../http1/types.ts";
import type { Http1ServerConn } from "./http1-server.ts";
import type { HttpContext } from "./context.ts";
import type { MeshletError } from "../errors.ts";
import type { ClientPeer } from "./peer.ts";

/** How a body is delimited: no body, a known length, or a stream that ends with an explicit end (chunked, END_STREAM). */
export type BodyShape = "none" | "length" | "stream";

/** A request as the exchange routes and forwards it. */
export interface ProxyRequest {
  method: string;
  /** Origin-form (path?query), "*", or the authority of a CONNECT. */
  target: string;
  path: string;
  query: string;
  /** From the absolute-form target, :authority or Host; "" when an HTTP/1.0 request named none. */
  authority: string;
  /** The authority came with the target (absolute-form, :authority): the upstream's Host must carry it. */
  authorityInTarget: boolean;
  /** The fields as received: HTTP/1 with its hop-by-hop fields, HTTP/2 regular fields with cookies joined. */
  headers: HeaderList;
  body: BodyShape;
  /** Valid when body is "length". */
  contentLength: number;
  /** The HTTP/1 Upgrade value (Connection: upgrade), else null. */
  upgrade: string | null;
  protocol: "HTTP/1.0" | "HTTP/1.1" | "HTTP/2";
}

/** A request head for the upstream: hop-by-hop fields removed, `host` set, the exchange's policy applied. */
export interface UpstreamHead {
  method: string;
  target: string;
  /** Lower-case `host` is present (an HTTP/2 upstream takes it as :authority). */
  headers: HeaderList;
  body: BodyShape;
  contentLength: number;
  /** Keep `Connection: upgrade` and the Upgrade field (HTTP/1 only). */
  upgrade: boolean;
  /** The client announced it accepts trailers (TE: trailers), which an HTTP/2 upstream may need (gRPC). */
  teTrailers: boolean;
}

/** A response head from the upstream. Headers are as received (HTTP/1: hop-by-hop included). */
export interface ProxyResponseHead {
  status: number;
  reason: string;
  headers: HeaderList;
  body: BodyShape;
  contentLength: number;
}

/** The exchange using an upstream try. */
export interface ResponseSink {
  onResponseHead(head: ProxyResponseHead): void;
  onResponseBody(chunk: Uint8Array): void;
  onResponseEnd(trailers: HeaderList | null): void;
  /** The upstream failed before the response ended. `responseStarted` tells whether any response byte arrived. */
  onUpstreamError(err: MeshletError, responseStarted: boolean): void;
}

/** One request on an upstream: an HTTP/1 connection (the whole connection) or an HTTP/2 stream. */
export interface UpstreamTry {
  /** Exchanges this connection carried before the current one (a reused HTTP/1 connection may have gone stale). */
  readonly uses: number;
  /** Attaches the exchange and sends the request head. */
  begin(head: UpstreamHead, sink: ResponseSink): void;
  /** Body bytes (unframed); false when the upstream's buffer is full: wait for onDrain. */
  sendBody(chunk: Uint8Array): boolean;
  /** The request is complete (trailers when the body was a stream). */
  sendEnd(trailers: HeaderList | null): void;
  /** One callback for the next drain after sendBody returned false. */
  onDrain(fn: () => void): void;
  pauseResponse(): void;
  resumeResponse(): void;
  /** The exchange is done with it; `requestComplete` says the whole request was sent. */
  finish(requestComplete: boolean, now?: number): void;
  /** Abandons the request (close or reset). */
  destroy(): void;
}

/** The client side of one exchange. */
export interface Downstream {
  readonly ctx: HttpContext;
  /** The client: its address, and its identity when it came over mTLS. */
  readonly peer: ClientPeer;
  /** The HTTP/1 connection, for upgrades and CONNECT tunnels; null on HTTP/2. */
  readonly http1: Http1ServerConn | null;
  /** A 1xx response (not 101). */
  informational(status: number, reason: string, headers: HeaderList): void;
  /** The final response head; `headers` are end-to-end. `mustClose` asks for the connection to close after it. */
  sendHead(status: number, reason: string, headers: HeaderList, body: BodyShape, mustClose: boolean): void;
  sendBody(chunk: Uint8Array): boolean;
  /** One callback for the next drain after sendBody returned false. */
  onDrain(fn: () => void): void;
  sendEnd(trailers: HeaderList | null): void;
  /** A complete response made by the proxy (an error or a redirect); `body` is ASCII text. */
  respondLocal(status: number, headers: readonly (readonly [string, string])[], body: string, mustClose: boolean): void;
  /** Stops reading the request body; `bodyComplete` when the last body byte is already in (let the end through). */
  pauseRequest(bodyComplete: boolean): void;
  resumeRequest(): void;
  /** Cuts a response already begun, so the client sees the truncation. */
  abortResponse(): void;
  /** The exchange is finished; `closeAfter` when the request was not read completely or must not be followed. */
  done(closeAfter: boolean): void;
}
