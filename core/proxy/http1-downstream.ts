// The client side of one exchange on an HTTP/1.x connection: the request head in the neutral shape, and the
// response framed for the client's version (length, chunked, or close-delimited for HTTP/1.0).

import { getHeader } from "../http1/headers.ts";
import { CRLF, encodeChunkHeader, encodeLastChunk, encodeResponseHead } from "../http1/serialize.ts";
import type { HeaderList, RequestHead } from "../http1/types.ts";
import type { HttpContext } from "./context.ts";
import { localResponse } from "./error-response.ts";
import type { Http1ServerConn } from "./http1-server.ts";
import type { BodyShape, Downstream, ProxyRequest } from "./message.ts";
import type { ClientPeer } from "./peer.ts";

type Framing = "none" | "length" | "chunked" | "close";

export class Http1Downstream implements Downstream {
  readonly ctx: HttpContext;
  readonly peer: ClientPeer;
  private framing: Framing = "none";
  private closeAfter = false;

  constructor(
    readonly http1: Http1ServerConn,
    private readonly head: RequestHead,
  ) {
    this.ctx = http1.ctx;
    this.peer = http1.peer;
  }

  informational(status: number, reason: string, headers: HeaderList): void {
    if (this.head.version === 11) this.http1.write(encodeResponseHead(status, reason, headers));
  }

  sendHead(status: number, reason: string, headers: HeaderList, body: BodyShape, mustClose: boolean): void {
    const version = this.head.version;
    if (body === "none") {
      this.framing = "none";
      // A bodiless response that could have had one needs an explicit empty length on HTTP/1 (an HTTP/2 upstream
      // ends such a response with END_STREAM and may send no content-length).
      if (this.head.method !== "HEAD" && status >= 200 && status !== 204 && status !== 304 &&
          getHeader(headers, "content-length") === undefined) headers.push("content-length", "0");
    } else if (body === "length") this.framing = "length";
    else if (version === 11) {
      this.framing = "chunked";
      headers.push("transfer-encoding", "chunked");
    } else {
      this.framing = "close";
      this.closeAfter = true;
    }
    if (mustClose || this.mustClose()) this.closeAfter = true;
    if (this.closeAfter) headers.push("connection", "close");
    else if (version === 10) headers.push("connection", "keep-alive");
    this.http1.write(encodeResponseHead(status, reason, headers, version));
  }

  sendBody(chunk: Uint8Array): boolean {
    const h = this.http1;
    if (this.framing === "chunked") {
      h.write(encodeChunkHeader(chunk.length));
      h.write(chunk);
      return h.write(CRLF);
    }
    return h.write(chunk);
  }

  onDrain(fn: () => void): void {
    this.http1.conn.onDrain(fn);
  }

  sendEnd(trailers: HeaderList | null): void {
    if (this.framing === "chunked") this.http1.write(encodeLastChunk(trailers));
  }

  respondLocal(status: number, headers: readonly (readonly [string, string])[], body: string, mustClose: boolean): void {
    if (mustClose || this.mustClose()) this.closeAfter = true;
    this.http1.write(localResponse(status, headers, body, this.closeAfter, this.head.method === "HEAD"));
  }

  pauseRequest(bodyComplete: boolean): void {
    if (!bodyComplete) this.http1.parser.pause();
    this.http1.conn.pause();
  }

  resumeRequest(): void {
    this.http1.conn.resume();
    this.http1.parser.resume();
  }

  abortResponse(): void {
    this.http1.destroy();
  }

  done(closeAfter: boolean): void {
    this.http1.exchangeDone(closeAfter || this.closeAfter);
  }

  /** The connection cannot carry another request after this one. */
  private mustClose(): boolean {
    const h = this.head;
    return !h.keepAlive || this.ctx.draining() || h.upgrade !== null || h.method === "CONNECT";
  }
}

/** The neutral request for an HTTP/1 head, or why it is invalid (answered with 400). */
export function http1Request(head: RequestHead): ProxyRequest | { code: string; message: string } {
  const target = splitTarget(head);
  if (target === null) return { code: "bad-target", message: "request target is not valid" };
  let authority = target.authority ?? getHeader(head.headers, "host");
  if (authority === undefined) {
    if (head.version === 11) return { code: "missing-host", message: "HTTP/1.1 request without Host" };
    authority = "";
  }
  const q = target.originForm.indexOf("?");
  return {
    method: head.method,
    target: target.originForm,
    path: target.path,
    query: q < 0 ? "" : target.originForm.slice(q + 1),
    authority,
    authorityInTarget: target.authority !== null,
    headers: head.headers,
    body: head.bodyKind === "chunked" ? "stream" : head.bodyKind === "length" ? "length" : "none",
    contentLength: head.contentLength,
    upgrade: head.upgrade,
    protocol: head.version === 10 ? "HTTP/1.0" : "HTTP/1.1",
  };
}

/** The target as origin-form for the upstream, and the authority when the target carried one. */
function splitTarget(head: RequestHead): { originForm: string; path: string; authority: string | null } | null {
  const t = head.target;
  if (head.method === "CONNECT") return { originForm: t, path: "", authority: t };
  if (t.charCodeAt(0) === 0x2f /* / */ || t === "*") {
    const q = t.indexOf("?");
    return { originForm: t, path: q < 0 ? t : t.slice(0, q), authority: null };
  }
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)([^#]*)/.exec(t);
  if (m === null) return null;
  const authority = m[1]!.replace(/^[^@]*@/, "");
  if (authority === "") return null;
  const rest = m[2] === "" ? "/" : m[2]!.startsWith("?") ? `/${m[2]}` : m[2]!;
  const q = rest.indexOf("?");
  return { originForm: rest, path: q < 0 ? rest : rest.slice(0, q), authority };
}
