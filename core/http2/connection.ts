// The HTTP/2 connection engine (RFC 9113): frames from the Conn through the FrameReader into streams, and back.
// This file holds the public API and what the peer sends (the receive side); ConnectionCore (core.ts) holds the
// state, the send side, stream lifecycle and closing.

import type { HeaderList } from "../http1/types.ts";
import type { Conn } from "../ports.ts";
import { concatBytes } from "../bytes.ts";
import { CLIENT_PREFACE, ErrorCode, MAX_WINDOW, SettingId } from "./frames/constants.ts";
import type {
  ContinuationFrame,
  DataFrame,
  Frame,
  GoawayFrame,
  HeadersFrame,
  Http2Error,
  PingFrame,
  RstStreamFrame,
  SettingsFrame,
  WindowUpdateFrame,
} from "./frames/types.ts";
import { encodeGoaway, encodePing, encodeSettings, encodeWindowUpdate, SETTINGS_ACK } from "./frames/writer.ts";
import { CLOSED_BY_PEER, CLOSED_BY_US, ConnectionCore, Http2ConnectionError, TOO_LARGE } from "./core.ts";
import type { Http2ConnectionHandlers, Http2Options } from "./core.ts";
import { bodiless, checkRequest, checkResponse, checkTrailers } from "./message-checks.ts";
import { applySetting, settingsPairs } from "./settings.ts";
import { Http2Stream, type Http2StreamHandlers } from "./stream.ts";

export { Http2ConnectionError } from "./core.ts";
export type { Http2ConnectionErrorCode, Http2ConnectionHandlers, Http2Options } from "./core.ts";
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

export class Http2Connection extends ConnectionCore {
  constructor(conn: Conn, opts: Http2Options, handlers: Http2ConnectionHandlers) {
    super(conn, opts, handlers);
  }

  // ---- public API ------------------------------------------------------------------------------------------

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
    const fields =
      head.method === "CONNECT" && head.protocol === undefined
        ? [":method", "CONNECT", ":authority", authority]
        : authority === ""
          ? [":method", head.method, ":scheme", head.scheme, ":path", head.path]
          : [":method", head.method, ":scheme", head.scheme, ":authority", authority, ":path", head.path];
    if (head.protocol !== undefined) fields.push(":protocol", head.protocol);
    this.streams.set(id, s);
    this.localActive++;
    s.headSent = true;
    this.writeHeaders(id, fields, head.headers, endStream, authority !== "");
    if (endStream) {
      s.endQueued = true;
      s.localEnded = true;
    }
    return s;
  }

  /** Client: not closed, not going away, below the peer's MAX_CONCURRENT_STREAMS, stream ids left. */
  get canOpenStream(): boolean {
    return (
      !this.server &&
      this.started &&
      !this.isClosed &&
      !this.goawaySent &&
      !this.goawayReceived &&
      this.localActive < this.peerMaxConcurrentStreams &&
      this.nextStreamId <= MAX_WINDOW
    );
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (100 assumed until its first SETTINGS; 2^32-1 if it sets none). */
  get peerMaxConcurrentStreams(): number {
    return this.peerSettingsSeen ? this.peer.maxConcurrentStreams : 100;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The peer sent its SETTINGS: it speaks HTTP/2 (a client uses this to tell an HTTP/1-only server apart). */
  get peerSpokeHttp2(): boolean {
    return this.peerSettingsSeen;
  }

  /** We sent or received GOAWAY. */
  get goingAway(): boolean {
    return this.goawaySent || this.goawayReceived;
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

  // ---- frames from the peer --------------------------------------------------------------------------------

  protected onFrame(f: Frame): void {
    switch (f.type) {
      case 0:
        this.onData(f);
        return;
      case 1:
        this.onHeaders(f);
        return;
      case 2:
        return; // PRIORITY: deprecated signal, ignored (§5.3.2)
      case 3:
        this.onRstStream(f);
        return;
      case 4:
        this.onSettings(f);
        return;
      case 5:
        this.connError(ErrorCode.PROTOCOL_ERROR, this.server ? "PUSH_PROMISE from a client" : "PUSH_PROMISE although push is disabled"); // §8.4
        return;
      case 6:
        this.onPing(f);
        return;
      case 7:
        this.onGoaway(f);
        return;
      case 8:
        this.onWindowUpdate(f);
        return;
      case 9:
        this.onContinuation(f);
        return;
    }
    // Unknown frame types are ignored (§5.5).
  }

  protected onFrameError(e: Http2Error): void {
    if (e.streamId === 0) this.connError(e.code, e.message);
    else this.streamErrorId(e.streamId, e.code);
  }

  private onData(f: DataFrame): void {
    const id = f.streamId;
    // Every DATA frame counts against the connection window, whatever its stream (§6.9).
    if (!this.connInbound.receive(f.flowLength)) {
      this.connError(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the connection flow-control window");
      return;
    }
    this.creditConnection(f.flowLength);
    const s = this.streams.get(id);
    if (s === undefined) {
      const reason = this.closedIds.get(id);
      if (reason === undefined && this.isIdle(id)) this.connError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`); // §5.1
      else if (reason === CLOSED_BY_US) return; // in flight when we reset it (§5.1)
      else if (reason === CLOSED_BY_PEER || reason === undefined) this.streamErrorId(id, ErrorCode.STREAM_CLOSED);
      else this.connError(ErrorCode.STREAM_CLOSED, `DATA on stream ${id} after END_STREAM`); // §5.1 closed
      return;
    }
    if (s.remoteEnded) {
      this.streamError(s, ErrorCode.STREAM_CLOSED); // §5.1 half-closed (remote)
      return;
    }
    if (!s.remote && !s.headReceived) {
      this.streamError(s, ErrorCode.PROTOCOL_ERROR); // DATA before the response HEADERS (§8.1)
      return;
    }
    if (!s.inbound.receive(f.flowLength)) {
      this.streamError(s, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    const data = f.data;
    s.receivedLength += data.length;
    if ((s.bodiless && data.length > 0) || (s.expectedLength >= 0 && s.receivedLength > s.expectedLength)) {
      this.streamError(s, ErrorCode.PROTOCOL_ERROR); // content-length mismatch (§8.1.1)
      return;
    }
    if (f.flowLength > data.length) this.consumed(s, f.flowLength - data.length); // padding is never delivered
    if (data.length > 0) this.deliverData(s, data);
    if (f.endStream && !s.aborted) this.remoteEnd(s, null);
  }

  private onHeaders(f: HeadersFrame): void {
    if (f.endHeaders) {
      this.onFieldBlock(f.streamId, f.fragment, f.endStream);
      return;
    }
    this.blockStream = f.streamId;
    this.blockEnd = f.endStream;
    this.blockParts = [f.fragment];
    this.blockBytes = f.fragment.length;
    this.blockFrames = 1;
    this.checkBlock();
  }

  /** The reader guarantees CONTINUATION follows its HEADERS on the same stream (§6.10). */
  private onContinuation(f: ContinuationFrame): void {
    this.blockParts.push(f.fragment);
    this.blockBytes += f.fragment.length;
    this.blockFrames++;
    if (!this.checkBlock() || !f.endHeaders) return;
    const block = concatBytes(this.blockParts);
    this.blockParts = [];
    this.onFieldBlock(this.blockStream, block, this.blockEnd);
  }

  /** CONTINUATION flood defence: false after closing the connection. */
  private checkBlock(): boolean {
    const maxBytes = this.local.maxHeaderListSize + this.limits.headerBlockSlackBytes;
    if (this.blockFrames <= this.limits.maxHeaderBlockFrames && this.blockBytes <= maxBytes) return true;
    this.blockParts = [];
    this.flood(`field block over ${this.limits.maxHeaderBlockFrames} frames or ${maxBytes} octets`);
    return false;
  }

  /** A complete field block (HEADERS + CONTINUATION). */
  private onFieldBlock(id: number, block: Uint8Array, endStream: boolean): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      this.onStreamFields(s, block, endStream);
      return;
    }
    const reason = this.closedIds.get(id);
    if (reason === undefined && this.isIdle(id)) {
      if (this.server && this.isPeerId(id)) this.openPeerStream(id, block, endStream);
      else this.connError(ErrorCode.PROTOCOL_ERROR, this.server ? `HEADERS on even stream ${id}` : `HEADERS on stream ${id}, which we did not open`); // §5.1.1, §8.4
      return;
    }
    // A closed stream: the block still goes through the decoder to keep its table in step (§4.3).
    if (this.decodeBlock(block) === null) return;
    if (reason === CLOSED_BY_US) {
      if (this.isPeerId(id) && id > this.lastPeerStreamId) this.lastPeerStreamId = id;
    } else if (reason === CLOSED_BY_PEER) {
      this.streamErrorId(id, ErrorCode.STREAM_CLOSED); // §5.1 closed, after RST_STREAM
    } else if (reason === undefined) {
      this.connError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${id}, below the last stream opened`); // §5.1.1
    } else {
      this.connError(ErrorCode.STREAM_CLOSED, `HEADERS on stream ${id} after END_STREAM`); // §5.1 closed
    }
  }

  /** Server: HEADERS on a new stream id. */
  private openPeerStream(id: number, block: Uint8Array, endStream: boolean): void {
    this.lastPeerStreamId = id; // lower idle ids are now closed (§5.1.1)
    const fields = this.decodeBlock(block);
    if (fields === null) return;
    if (this.goawaySent && id > this.goawayLastId) {
      this.refuse(id, false);
      return;
    }
    if (this.remoteActive >= this.local.maxConcurrentStreams) {
      this.refuse(id, true); // §5.1.2
      return;
    }
    if (fields === TOO_LARGE) {
      this.answer431(id, endStream);
      return;
    }
    const head = checkRequest(fields, endStream, this.local.enableConnectProtocol);
    if (typeof head === "string") {
      this.streamErrorId(id, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    const s = new Http2Stream(this, id, true, this.peer.initialWindowSize, this.streamRecvWindow());
    s.expectedLength = head.contentLength;
    s.remoteEnded = endStream;
    this.streams.set(id, s);
    this.remoteActive++;
    this.h.stream?.(s, head);
    if (s.aborted || this.isClosed) return;
    if (s.handlers === null) {
      this.resetStream(s, ErrorCode.REFUSED_STREAM, false);
      return;
    }
    if (endStream) this.deliverEnd(s, null);
  }

  /** HEADERS on an open stream: the client's response head (or a 1xx), or trailers. */
  private onStreamFields(s: Http2Stream, block: Uint8Array, endStream: boolean): void {
    const fields = this.decodeBlock(block);
    if (fields === null) return;
    if (s.remoteEnded) {
      this.streamError(s, ErrorCode.STREAM_CLOSED); // §5.1 half-closed (remote)
      return;
    }
    if (fields === TOO_LARGE || this.server || s.headReceived) {
      if (fields === TOO_LARGE || checkTrailers(fields, endStream) !== null) {
        this.streamError(s, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.remoteEnd(s, fields);
      return;
    }
    const r = checkResponse(fields, endStream, s.headRequest);
    if (typeof r === "string") {
      this.streamError(s, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (r.status < 200) {
      s.handlers?.informational?.(r.status, r.headers);
      return;
    }
    s.headReceived = true;
    s.bodiless = bodiless(s.headRequest, r.status);
    s.expectedLength = s.bodiless ? -1 : r.contentLength;
    s.handlers?.head?.(r);
    if (endStream && !s.aborted) this.remoteEnd(s, null);
  }

  private onRstStream(f: RstStreamFrame): void {
    const id = f.streamId;
    const s = this.streams.get(id);
    if (s === undefined) {
      if (!this.closedIds.has(id) && this.isIdle(id)) this.connError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`); // §5.1
      return;
    }
    const premature = s.remote && !s.localEnded;
    this.abortStream(s, CLOSED_BY_PEER);
    s.handlers?.reset(f.errorCode, true);
    if (premature) this.takeReset();
  }

  private onSettings(f: SettingsFrame): void {
    if (f.ack) {
      this.onSettingsAck();
      return;
    }
    if (!this.acks.take(this.clock.now())) {
      this.flood("SETTINGS flood");
      return;
    }
    for (const [id, v] of f.settings) {
      switch (id) {
        case SettingId.INITIAL_WINDOW_SIZE: {
          const delta = v - this.peer.initialWindowSize;
          if (delta === 0) break;
          for (const s of this.streams.values()) {
            if (!this.sched.growStream(s, delta)) {
              this.connError(ErrorCode.FLOW_CONTROL_ERROR, "SETTINGS_INITIAL_WINDOW_SIZE pushes a stream window past 2^31-1"); // §6.9.2
              return;
            }
          }
          this.flushDue = true;
          break;
        }
        case SettingId.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(v);
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          if (v > this.peerMaxConcurrentStreams) this.capacityDue = true;
          break;
        case SettingId.ENABLE_PUSH:
          if (!this.server && v === 1) {
            this.connError(ErrorCode.PROTOCOL_ERROR, "a server set SETTINGS_ENABLE_PUSH to 1"); // §6.5.2
            return;
          }
          break;
      }
      applySetting(this.peer, id, v);
    }
    if (!this.peerSettingsSeen) {
      this.peerSettingsSeen = true;
      this.capacityDue = true;
    }
    this.sendControl(SETTINGS_ACK);
  }

  /** Our SETTINGS took effect at the peer: apply what depended on it. */
  private onSettingsAck(): void {
    if (this.localAcked) return;
    this.localAcked = true;
    this.settingsTimer?.();
    this.settingsTimer = null;
    this.decoder.setMaxTableSize(this.local.headerTableSize);
    for (const s of this.streams.values()) {
      const inc = s.inbound.resize(this.local.initialWindowSize);
      if (inc > 0 && !s.remoteEnded) this.sendControl(encodeWindowUpdate(s.id, inc));
    }
  }

  private onPing(f: PingFrame): void {
    if (f.ack) {
      if (this.pings.ack(f.data, this.clock.now()) === "keepalive") this.keepaliveAcked();
      return;
    }
    if (!this.acks.take(this.clock.now())) {
      this.flood("PING flood");
      return;
    }
    this.sendControl(encodePing(f.data, true));
  }

  private onGoaway(f: GoawayFrame): void {
    this.goawayReceived = true;
    if (f.errorCode !== ErrorCode.NO_ERROR) this.peerGoawayCode = f.errorCode;
    // Streams we opened above lastStreamId were not processed: safe to retry elsewhere (§6.8).
    for (const s of [...this.streams.values()]) {
      if (!s.remote && s.id > f.lastStreamId) {
        this.abortStream(s, CLOSED_BY_PEER);
        s.handlers?.reset(ErrorCode.REFUSED_STREAM, true);
      }
    }
    this.h.goaway?.(f.lastStreamId, f.errorCode, f.debug);
    this.scheduleTurnEnd();
  }

  private onWindowUpdate(f: WindowUpdateFrame): void {
    const id = f.streamId;
    if (id === 0) {
      if (!this.sched.growConnection(f.increment)) {
        this.connError(ErrorCode.FLOW_CONTROL_ERROR, "connection window past 2^31-1"); // §6.9.1
        return;
      }
      this.flushDue = true;
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (!this.closedIds.has(id) && this.isIdle(id)) this.connError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`); // §5.1
      return;
    }
    if (!this.sched.growStream(s, f.increment)) {
      this.streamError(s, ErrorCode.FLOW_CONTROL_ERROR); // §6.9.1
      return;
    }
    this.flushDue = true;
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

  private keepaliveAcked(): void {
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
