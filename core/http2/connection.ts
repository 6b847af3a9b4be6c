// The HTTP/2 connection engine (RFC 9113) over a Conn: the public API and its timers. The layers below:
// FrameReceiver (receive.ts, frames from the peer), StreamTable (stream-table.ts, the streams and what the
// application does on them), ConnectionCore (core.ts, state, writing, closing).

import type { HeaderList } from "../http1/types.ts";
import type { Conn } from "../ports.ts";
import { CLIENT_PREFACE, ErrorCode } from "./frames/constants.ts";
import { encodeGoaway, encodeSettings, encodeWindowUpdate } from "./frames/writer.ts";
import { Http2ConnectionError, type Http2ConnectionHandlers, type Http2Options } from "./connection-types.ts";
import { FrameReceiver } from "./receive.ts";
import { settingsPairs } from "./settings.ts";
import { Http2Stream, type Http2StreamHandlers } from "./stream.ts";

export { Http2ConnectionError } from "./connection-types.ts";
export type { Http2ConnectionErrorCode, Http2ConnectionHandlers, Http2Options } from "./connection-types.ts";
export { DEFAULT_HTTP2_LIMITS } from "./limits.ts";
export type { Http2Limits } from "./limits.ts";
export type { Http2RequestHead, Http2ResponseHead } from "./message-checks.ts";
export { Http2Stream } from "./stream.ts";
export type { Http2StreamHandlers, Http2StreamState } from "./stream.ts";

export interface Http2ClientRequest {
  method: string;
  scheme: string;
  /** Empty: taken from a Host field, if any. */
  authority: string;
  path: string;
  /** Regular fields; names are lower-cased, connection-specific ones and Host (when there is an authority) dropped. */
  headers: HeaderList;
  /** :protocol of an extended CONNECT (RFC 8441), when the server allows it. */
  protocol?: string;
}

/**
 * One HTTP/2 connection, client or server. Inherited getters: canOpenStream, activeStreams,
 * peerMaxConcurrentStreams, closed, goingAway, peerSpokeHttp2.
 */
export class Http2Connection extends FrameReceiver {
  constructor(conn: Conn, opts: Http2Options, handlers: Http2ConnectionHandlers) {
    super(conn, opts, handlers);
  }

  /**
   * Client: writes the preface, our SETTINGS and the connection WINDOW_UPDATE. Server: writes SETTINGS and the
   * WINDOW_UPDATE, then parses `preread` (bytes detection consumed, from the client preface on) and the Conn's data.
   */
  start(preread?: Uint8Array): void {
    if (this.started) throw new Error("http2: start() called twice");
    this.started = true;
    this.lastRecvAt = this.clock.now();
    if (!this.server) this.out.write(CLIENT_PREFACE);
    this.out.write(encodeSettings(settingsPairs(this.local, this.server ? "server" : "client")));
    const raise = this.connInbound.size - 65535;
    if (raise > 0) this.out.write(encodeWindowUpdate(0, raise));
    this.out.flush();
    if (this.limits.settingsAckTimeoutMs > 0) {
      this.settingsTimer = this.clock.setTimer(this.limits.settingsAckTimeoutMs, this.onSettingsTimeout);
    }
    if (this.keepAlive !== null) this.keepaliveTimer = this.clock.setTimer(this.keepAlive.intervalMs, this.onKeepaliveTick);
    // Preread bytes first: an adapter may deliver buffered data from within setHandlers.
    if (preread !== undefined && preread.length > 0) this.onConnData(preread);
    this.conn.setHandlers({ data: this.onConnData, end: this.onConnEnd, close: this.onConnClose });
  }

  /** Client: opens a stream with a request head; throws unless canOpenStream. */
  request(head: Http2ClientRequest, endStream: boolean, handlers: Http2StreamHandlers): Http2Stream {
    if (!this.canOpenStream) {
      throw new Error(this.server ? "http2: request() on a server connection" : "http2: no stream can be opened now (closed, going away or at the peer's limit)");
    }
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const s = new Http2Stream(this, id, false, this.peer.initialWindowSize, this.streamRecvWindow());
    s.handlers = handlers;
    s.headRequest = head.method === "HEAD";
    let authority = head.authority;
    if (authority === "") authority = hostField(head.headers);
    this.streams.set(id, s);
    this.localActive++;
    s.headSent = true;
    const enc = this.encoder;
    this.beginBlock();
    if (head.method === "CONNECT" && head.protocol === undefined) {
      enc.field(":method", "CONNECT");
      enc.field(":authority", authority);
    } else {
      enc.field(":method", head.method);
      enc.field(":scheme", head.scheme);
      if (authority !== "") enc.field(":authority", authority);
      enc.field(":path", head.path);
    }
    if (head.protocol !== undefined) enc.field(":protocol", head.protocol);
    this.sendBlock(id, head.headers, endStream, authority !== "");
    if (endStream) {
      s.endQueued = true;
      s.localEnded = true;
    }
    return s;
  }

  /**
   * Graceful close: GOAWAY(NO_ERROR, the last stream id we processed), in-flight streams finish, then the Conn is
   * closed (after limits.shutdownGraceMs the rest are reset). Server: later streams are refused (REFUSED_STREAM).
   */
  shutdown(): void {
    if (this.isClosed || this.shuttingDown) return;
    this.shuttingDown = true;
    if (!this.goawaySent) {
      const last = this.server ? this.lastPeerStreamId : 0;
      this.goawaySent = true;
      this.goawayLastId = last;
      this.sendControl(encodeGoaway(last, ErrorCode.NO_ERROR));
    }
    if (this.isClosed) return;
    if (this.streams.size === 0) {
      this.finishGraceful();
      return;
    }
    if (this.limits.shutdownGraceMs > 0) this.graceTimer = this.clock.setTimer(this.limits.shutdownGraceMs, this.onGraceExpired);
    this.out.flush();
  }

  /**
   * Immediate close: GOAWAY(code), every open stream reset (handlers.reset with the code, CANCEL for NO_ERROR), the
   * Conn closed. The code defaults to NO_ERROR without `err`, INTERNAL_ERROR with it; handlers.close gets `err`.
   */
  destroy(code?: number, err?: Error): void {
    const c = code ?? (err === undefined ? ErrorCode.NO_ERROR : ErrorCode.INTERNAL_ERROR);
    this.terminate(c, err, c === ErrorCode.NO_ERROR ? ErrorCode.CANCEL : c, false);
  }

  /** Sends a PING; `cb` gets the round trip in ms, or null if the connection closed first. */
  ping(cb: (rttMs: number | null) => void): void {
    if (this.isClosed || !this.started) {
      cb(null);
      return;
    }
    this.out.write(this.pings.frame(this.clock.now(), cb));
  }

  // ---- timers ----------------------------------------------------------------------------------------------

  private readonly onSettingsTimeout = (): void => {
    this.settingsTimer = null;
    if (this.isClosed || this.localAcked) return;
    this.terminate(
      ErrorCode.SETTINGS_TIMEOUT,
      new Http2ConnectionError("SETTINGS_TIMEOUT", ErrorCode.SETTINGS_TIMEOUT, `SETTINGS not acknowledged within ${this.limits.settingsAckTimeoutMs} ms`),
      ErrorCode.SETTINGS_TIMEOUT,
      false,
    );
  };

  private readonly onKeepaliveTick = (): void => {
    this.keepaliveTimer = null;
    const ka = this.keepAlive;
    if (this.isClosed || ka === null) return;
    const now = this.clock.now();
    const quiet = now - this.lastRecvAt;
    if (quiet < ka.intervalMs) {
      this.keepaliveTimer = this.clock.setTimer(ka.intervalMs - quiet, this.onKeepaliveTick);
      return;
    }
    this.out.write(this.pings.frame(now, null));
    this.pingTimer = this.clock.setTimer(ka.timeoutMs, this.onPingTimeout);
  };

  protected keepaliveAcked(): void {
    this.pingTimer?.();
    this.pingTimer = null;
    if (this.keepAlive !== null && !this.isClosed && this.keepaliveTimer === null) {
      this.keepaliveTimer = this.clock.setTimer(this.keepAlive.intervalMs, this.onKeepaliveTick);
    }
  }

  /**
   * The peer did not answer our keepalive PING: the path or the peer is dead. A GOAWAY(NO_ERROR) is written in
   * case it still reads (no protocol error happened; it learns which streams were processed), and the Conn is
   * destroyed rather than flushed, since an unresponsive peer would keep a graceful close waiting.
   */
  private readonly onPingTimeout = (): void => {
    this.pingTimer = null;
    if (this.isClosed || this.keepAlive === null) return;
    this.terminate(
      ErrorCode.NO_ERROR,
      new Http2ConnectionError("PING_TIMEOUT", ErrorCode.NO_ERROR, `no PING ACK within ${this.keepAlive.timeoutMs} ms`),
      ErrorCode.CANCEL,
      true,
    );
  };

  private readonly onGraceExpired = (): void => {
    this.graceTimer = null;
    if (this.isClosed) return;
    this.terminate(
      null,
      new Http2ConnectionError("SHUTDOWN_TIMEOUT", ErrorCode.CANCEL, `${this.streams.size} streams still open ${this.limits.shutdownGraceMs} ms after shutdown()`),
      ErrorCode.CANCEL,
      false,
    );
  };
}

function hostField(headers: HeaderList): string {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === "host") return headers[i + 1]!;
  }
  return "";
}
