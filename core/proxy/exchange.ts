// One request/response exchange on an HTTP/1 client connection: route, pick an endpoint, forward the request
// (streaming its body), stream the response back re-framed for the client, and report metrics.

import { MeshletError } from "../errors.ts";
import { encodeLatin1, getHeader, stripHopByHop } from "../http1/headers.ts";
import {
  CRLF,
  encodeChunkHeader,
  encodeLastChunk,
  encodeRequestHead,
  encodeResponseHead,
} from "../http1/serialize.ts";
import type { HeaderList, RequestHead, ResponseHead } from "../http1/types.ts";
import type { CancelTimer, Conn } from "../ports.ts";
import type { HttpMetrics } from "../telemetry/types.ts";
import { errorResponse } from "./error-response.ts";
import type { Http1ServerConn } from "./http1-server.ts";
import type { Endpoint } from "./routes.ts";
import { tunnel } from "./tunnel.ts";
import type { ResponseSink, UpstreamConn } from "./upstream.ts";

type Framing = "none" | "length" | "chunked" | "close";

const CONNECT_ESTABLISHED = encodeLatin1("HTTP/1.1 200 Connection Established\r\n\r\n");

export class Exchange implements ResponseSink {
  requestEnded = false;
  responseHeadSent = false;
  /** The request carries body bytes (Content-Length: 0 does not count). */
  private readonly hasBody: boolean;
  /** Waiting for a CONNECT target; the client socket is paused meanwhile. */
  private connectPending = false;
  private readonly startedAt: number;
  private authority = "";
  private path = "";
  private endpoint: Endpoint | null = null;
  private upstream: UpstreamConn | null = null;
  private upstreamHead: Uint8Array | null = null;
  private requestChunked = false;
  private waitingForUpstream = false;
  private retried = false;
  private framing: Framing = "none";
  private closeAfter = false;
  private switching = false;
  private done = false;
  private status = 0;
  private requestBytes = 0;
  private responseBytes = 0;
  private timer: CancelTimer | null = null;
  private http: HttpMetrics | null = null;
  private errorCode: string | undefined;

  constructor(
    private readonly server: Http1ServerConn,
    private readonly head: RequestHead,
  ) {
    this.startedAt = server.ctx.clock.now();
    this.hasBody = head.bodyKind === "chunked" || (head.bodyKind === "length" && head.contentLength > 0);
    // Without a body the request is complete at its head, even if the response beats the parser's onEnd.
    this.requestEnded = !this.hasBody;
  }

  start(): void {
    const { head, server } = this;
    const ctx = server.ctx;
    const target = splitTarget(head);
    if (target === null) return this.fail(400, "bad-target", "request target is not valid");
    this.path = target.path;
    let authority = target.authority ?? getHeader(head.headers, "host");
    if (authority === undefined) {
      if (head.version === 11) return this.fail(400, "missing-host", "HTTP/1.1 request without Host");
      authority = "";
    }
    this.authority = authority;
    this.http = ctx.metrics.http(ctx.direction, authority === "" ? "unknown" : authority.toLowerCase());
    this.http.request();

    const res = ctx.resolve(authority, head);
    if (res.kind === "error") return this.fail(res.status, res.code, res.message);
    const ep = res.kind === "endpoint" ? res.endpoint : res.service.pick();
    if (ep === undefined) return this.fail(503, "no-endpoints", `service ${res.kind === "service" ? res.service.name : ""} has no endpoints`);
    this.endpoint = ep;

    if (head.method === "CONNECT") return this.startConnectTunnel(ep);

    this.upstreamHead = this.buildUpstreamHead(target.originForm, target.authority);
    this.requestChunked = head.bodyKind === "chunked";
    const timeout = ctx.responseTimeoutMs();
    if (timeout > 0) {
      this.timer = ctx.clock.setTimer(timeout, () => {
        this.timer = null;
        if (this.responseHeadSent || this.done) return;
        this.upstream?.destroy();
        this.upstream = null;
        this.fail(504, "response-timeout", `no response from ${ep.key} within ${timeout} ms`);
      });
    }
    const idle = ctx.pools.takeIdle(ep);
    if (idle !== undefined) this.attach(idle);
    else this.connectThenAttach(ep);
  }

  private connectThenAttach(ep: Endpoint): void {
    this.holdRequest();
    this.server.ctx.pools.connect(ep).then(
      (u) => {
        if (this.done) return this.server.ctx.pools.returnIdle(u);
        this.attach(u);
      },
      (err: unknown) => this.connectFailed(err, ep),
    );
  }

  /** Stops reading the request until an upstream connection is ready (its body has nowhere to go yet). */
  private holdRequest(): void {
    // A request without a body has nothing to hold: its end is already known and later bytes are pipelined.
    if (this.waitingForUpstream || !this.hasBody) return;
    this.waitingForUpstream = true;
    this.server.parser.pause();
    this.server.conn.pause();
  }

  private attach(u: UpstreamConn): void {
    this.upstream = u;
    u.begin(this.head.method, this);
    u.write(this.upstreamHead!);
    if (this.waitingForUpstream) {
      this.waitingForUpstream = false;
      this.server.conn.resume();
      this.server.parser.resume();
    }
  }

  // ---- request side (from the client parser)

  onRequestBody(chunk: Uint8Array): void {
    const u = this.upstream;
    if (u === null || this.done) return;
    this.requestBytes += chunk.length;
    let ok: boolean;
    if (this.requestChunked) {
      u.write(encodeChunkHeader(chunk.length));
      u.write(chunk);
      ok = u.write(CRLF);
    } else ok = u.write(chunk);
    if (!ok) {
      const { parser, conn } = this.server;
      // After the last byte of a sized body the parser goes on to its end (so the exchange knows the request is
      // complete); only the socket waits for the upstream to drain.
      const last = this.head.bodyKind === "length" && this.requestBytes >= this.head.contentLength;
      if (!last) parser.pause();
      conn.pause();
      u.conn.onDrain(() => {
        conn.resume();
        parser.resume();
      });
    }
  }

  onRequestEnd(trailers: HeaderList | null): void {
    this.requestEnded = true;
    if (this.done) {
      // The response was finished before the request: the connection can now go on (or close).
      return;
    }
    if (this.requestChunked && this.upstream !== null) this.upstream.write(encodeLastChunk(forwardableTrailers(trailers)));
  }

  // ---- response side (from the upstream parser)

  onResponseHead(rh: ResponseHead): void {
    const server = this.server;
    const clientVersion = this.head.version;
    if (rh.status < 200 && rh.status !== 101) {
      if (clientVersion === 11) server.write(encodeResponseHead(rh.status, rh.reason, stripHopByHop(rh.headers, false)));
      return;
    }
    this.clearTimer();
    this.status = rh.status;
    const u = this.upstream!;
    u.keepAliveOk = rh.keepAlive;
    if (rh.status === 101) {
      if (this.head.upgrade === null) {
        this.upstream = null;
        u.destroy();
        return this.fail(502, "bad-upgrade", "upstream switched protocols without an upgrade request");
      }
      this.switching = true;
      this.responseHeadSent = true;
      server.write(encodeResponseHead(101, rh.reason, stripHopByHop(rh.headers, true)));
      return;
    }
    const headers = stripHopByHop(rh.headers, false);
    if (rh.bodyKind === "none") this.framing = "none";
    else if (rh.bodyKind === "length") this.framing = "length";
    else if (clientVersion === 11) {
      this.framing = "chunked";
      headers.push("transfer-encoding", "chunked");
    } else {
      this.framing = "close";
      this.closeAfter = true;
    }
    if (!this.head.keepAlive || server.ctx.draining()) this.closeAfter = true;
    if (this.head.upgrade !== null || this.head.method === "CONNECT") this.closeAfter = true;
    if (this.closeAfter) headers.push("connection", "close");
    else if (clientVersion === 10) headers.push("connection", "keep-alive");
    this.responseHeadSent = true;
    server.write(encodeResponseHead(rh.status, rh.reason, headers, clientVersion));
  }

  onResponseBody(chunk: Uint8Array): void {
    const server = this.server;
    this.responseBytes += chunk.length;
    let ok: boolean;
    if (this.framing === "chunked") {
      server.write(encodeChunkHeader(chunk.length));
      server.write(chunk);
      ok = server.write(CRLF);
    } else ok = server.write(chunk);
    if (!ok) {
      const u = this.upstream!;
      u.pauseResponse();
      server.conn.onDrain(() => u.resumeResponse());
    }
  }

  onResponseEnd(trailers: HeaderList | null): void {
    if (this.switching) return this.switchToTunnel();
    if (this.framing === "chunked") this.server.write(encodeLastChunk(forwardableTrailers(trailers)));
    const u = this.upstream!;
    this.upstream = null;
    u.finish(this.requestEnded);
    // A response that ended before its request did leaves unread body bytes: the connection cannot go on.
    this.complete(!this.requestEnded || this.closeAfter);
  }

  onUpstreamError(err: MeshletError, responseStarted: boolean): void {
    const u = this.upstream;
    this.upstream = null;
    if (this.done) return;
    // A reused keep-alive connection may have been closed by the upstream just as we sent on it: try once more
    // on a fresh connection when nothing of the request body has been sent yet.
    if (err.code === "UPSTREAM_RESET" && !responseStarted && u !== null && u.uses > 0 && !this.retried &&
        !this.hasBody && this.endpoint !== null) {
      this.retried = true;
      this.connectThenAttach(this.endpoint);
      return;
    }
    if (this.responseHeadSent) {
      // Too late for an error response: cut the client connection so it sees the truncation.
      this.errorCode = err.code === "UPSTREAM_MALFORMED" ? "upstream-malformed" : "upstream-reset";
      this.finishRecord(this.status);
      this.done = true;
      this.server.destroy();
      return;
    }
    if (err.code === "UPSTREAM_MALFORMED") this.fail(502, "upstream-malformed", err.message);
    else this.fail(502, "upstream-reset", err.message);
  }

  /** The client went away (or its request was malformed): release everything. */
  abort(_err?: Error): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.upstream?.destroy();
    this.upstream = null;
    if (this.status === 0) this.status = 499;
    this.errorCode ??= "client-closed";
    this.finishRecord(this.status);
  }

  /** The client connection must stay paused: the request waits for an upstream connection. */
  get holdsInput(): boolean {
    return this.waitingForUpstream || this.connectPending;
  }

  /** The request turned out malformed (its body): answer with the codec's status, then close. */
  reject(status: number, code: string, message: string): void {
    this.fail(status, code, message);
  }

  // ---- helpers

  private connectFailed(err: unknown, ep: Endpoint): void {
    if (this.done) return;
    const code = err instanceof MeshletError ? err.code : "CONNECT_FAILED";
    if (code === "CONNECT_TIMEOUT") this.fail(504, "connect-timeout", `connecting to ${ep.key} timed out`);
    else if (code === "SHUTTING_DOWN") this.fail(503, "shutting-down", "proxy is shutting down");
    else this.fail(502, code === "CONNECT_REFUSED" ? "connect-refused" : "connect-failed", `cannot connect to ${ep.key}: ${(err as Error).message}`);
  }

  private fail(status: number, code: string, message: string): void {
    if (this.done) return;
    this.clearTimer();
    if (this.upstream !== null) {
      this.upstream.destroy();
      this.upstream = null;
    }
    this.status = status;
    this.errorCode = code;
    if (this.responseHeadSent) {
      this.done = true;
      this.finishRecord(status);
      this.server.destroy();
      return;
    }
    // Unread request body bytes would be taken for the next request: close unless the request is complete.
    const bodyUnread = !this.requestEnded && this.hasBody;
    const close = bodyUnread || this.waitingForUpstream || !this.head.keepAlive || this.server.ctx.draining() ||
      this.head.upgrade !== null || this.head.method === "CONNECT";
    this.responseHeadSent = true;
    this.server.write(errorResponse(status, code, message, close, this.head.method === "HEAD"));
    this.complete(close);
  }

  private complete(closeAfter: boolean): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.finishRecord(this.status);
    this.server.exchangeDone(closeAfter);
  }

  private finishRecord(status: number): void {
    const ctx = this.server.ctx;
    const latency = ctx.clock.now() - this.startedAt;
    this.http?.response(status, status >= 500 ? "failure" : "success", latency);
    const log = ctx.accessLog();
    if (log === null) return;
    log({
      time: new Date(ctx.clock.wallNow() - latency).toISOString(),
      direction: ctx.direction,
      method: this.head.method,
      authority: this.authority,
      path: this.path,
      status,
      duration_ms: Math.round(latency * 1000) / 1000,
      endpoint: this.endpoint?.key ?? "",
      request_bytes: this.requestBytes,
      response_bytes: this.responseBytes,
      ...(this.errorCode !== undefined ? { error: this.errorCode } : {}),
    });
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      this.timer();
      this.timer = null;
    }
  }

  private buildUpstreamHead(originForm: string, absoluteAuthority: string | null): Uint8Array {
    const { head, server } = this;
    const headers = stripHopByHop(head.headers, head.upgrade !== null);
    if (absoluteAuthority !== null) setHeader(headers, "host", absoluteAuthority);
    if (server.ctx.forwardedHeaders()) {
      const remote = server.conn.remote.host;
      const xff = getHeader(headers, "x-forwarded-for");
      setHeader(headers, "x-forwarded-for", xff === undefined ? remote : `${xff}, ${remote}`);
      if (getHeader(headers, "x-forwarded-proto") === undefined) headers.push("x-forwarded-proto", "http");
    }
    if (head.bodyKind === "chunked") headers.push("transfer-encoding", "chunked");
    return encodeRequestHead(head.method, originForm, headers);
  }

  private startConnectTunnel(ep: Endpoint): void {
    const server = this.server;
    // The parser stays paused after a CONNECT request; hold the socket too until the tunnel exists.
    this.connectPending = true;
    server.conn.pause();
    server.ctx.net.connect(ep.addr, { timeoutMs: server.ctx.connectTimeoutMs() }).then(
      (up) => {
        this.connectPending = false;
        if (this.done || server.isClosed) return up.destroy();
        this.status = 200;
        this.responseHeadSent = true;
        server.write(CONNECT_ESTABLISHED);
        const pending = server.parser.takeRemainder();
        this.startTunnel(up, pending, new Uint8Array(0));
      },
      (err: unknown) => {
        this.connectPending = false;
        this.connectFailed(err, ep);
      },
    );
  }

  private switchToTunnel(): void {
    const u = this.upstream!;
    this.upstream = null;
    const { conn, pending } = u.detachForTunnel();
    const clientPending = this.server.parser.takeRemainder();
    this.startTunnel(conn, clientPending, pending, u);
  }

  private startTunnel(up: Conn, clientPending: Uint8Array, upstreamPending: Uint8Array, u?: UpstreamConn): void {
    const server = this.server;
    this.done = true;
    this.clearTimer();
    server.current = null;
    server.tunneling = true;
    const ctx = server.ctx;
    const upMetrics = u?.metrics ?? ctx.metrics.tcp(ctx.direction, "dst", this.endpoint!.key);
    if (u === undefined) upMetrics.opened();
    tunnel(
      { conn: server.conn, metrics: server.metrics },
      { conn: up, metrics: upMetrics },
      {
        aPending: clientPending,
        bPending: upstreamPending,
        aEnded: server.clientEnded,
        onClose: () => {
          upMetrics.closed();
          server.tunnelClosed();
        },
      },
    );
    this.finishRecord(this.status);
  }
}

const NOT_IN_TRAILERS = new Set(["content-length", "transfer-encoding", "host", "connection", "keep-alive", "te", "trailer", "upgrade"]);

/** Trailers minus framing, routing and hop-by-hop fields, which a trailer section must not carry. */
function forwardableTrailers(trailers: HeaderList | null): HeaderList | null {
  if (trailers === null) return null;
  const out: HeaderList = [];
  for (let i = 0; i < trailers.length; i += 2) {
    if (!NOT_IN_TRAILERS.has(trailers[i]!.toLowerCase())) out.push(trailers[i]!, trailers[i + 1]!);
  }
  return out.length === 0 ? null : out;
}

function setHeader(headers: HeaderList, lowerName: string, value: string): void {
  let set = false;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== lowerName) continue;
    if (!set) {
      headers[i + 1] = value;
      set = true;
    } else {
      headers.splice(i, 2);
      i -= 2;
    }
  }
  if (!set) headers.push(lowerName, value);
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
