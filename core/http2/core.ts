// The state of an HTTP/2 connection and everything but frame dispatch: the send side (HEADERS, DATA through the
// scheduler, control frames), stream delivery and lifecycle, the defences' bookkeeping, and closing.
// Http2Connection (connection.ts) extends it with the public API and the handling of each received frame.

import type { HeaderList } from "../http1/types.ts";
import type { CancelTimer, Clock, Conn } from "../ports.ts";
import { DEFAULT_INITIAL_WINDOW, ErrorCode } from "./frames/constants.ts";
import { FrameReader } from "./frames/reader.ts";
import type { Frame, Http2Error } from "./frames/types.ts";
import { encodeGoaway, encodeHeaders, encodeRstStream, encodeWindowUpdate } from "./frames/writer.ts";
import { HpackDecoder, HpackEncoder, HpackError } from "./hpack/mod.ts";
import { InboundWindow } from "./flow-window.ts";
import { Bucket, type Http2Limits, resolveLimits } from "./limits.ts";
import { appendOutgoing, type Http2RequestHead } from "./message-checks.ts";
import { Output } from "./output.ts";
import { PingTracker } from "./ping.ts";
import { DataScheduler, type SchedulerHost } from "./scheduler.ts";
import { checkConnectionWindow, type Http2Settings, localSettings, protocolDefaults } from "./settings.ts";
import { type Http2Stream, STREAM_HIGH_WATER, type StreamHost } from "./stream.ts";

export interface Http2Options {
  role: "client" | "server";
  /** The only source of time: now() and setTimer(). */
  clock: Clock;
  /**
   * Our SETTINGS_MAX_CONCURRENT_STREAMS: how many streams the peer may open. Default 100 for both roles (push is
   * disabled, so a client advertises 100 too; it never limits our own requests).
   */
  maxConcurrentStreams?: number;
  /** Our per-stream receive window; default 65536. */
  initialWindowSize?: number;
  /** Our connection receive window, raised from 65535 by a WINDOW_UPDATE right after our SETTINGS; default 1 MiB. */
  connectionWindowSize?: number;
  /** Our SETTINGS_MAX_FRAME_SIZE; default 16384. */
  maxFrameSize?: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE, enforced on decoding; default 65536. */
  maxHeaderListSize?: number;
  /** Our SETTINGS_HEADER_TABLE_SIZE (the peer's encoder table); default 4096. */
  headerTableSize?: number;
  /**
   * PING after intervalMs without any frame received; no ACK within timeoutMs closes the connection (GOAWAY
   * NO_ERROR, then the Conn destroyed) and handlers.close gets an Http2ConnectionError "PING_TIMEOUT". Default null.
   */
  keepAlive?: { intervalMs: number; timeoutMs: number } | null;
  limits?: Partial<Http2Limits>;
  /** Server: advertise SETTINGS_ENABLE_CONNECT_PROTOCOL and accept extended CONNECT (RFC 8441). Default false. */
  enableConnectProtocol?: boolean;
}

export interface Http2ConnectionHandlers {
  /** Server: a new request. Call s.setHandlers() synchronously inside (else the stream is refused). */
  stream?(s: Http2Stream, head: Http2RequestHead): void;
  goaway?(lastStreamId: number, errorCode: number, debug: Uint8Array): void;
  /** Client: the number of streams we may open grew (a stream closed, the peer raised its limit). */
  capacity?(): void;
  /** Exactly once, when the connection is gone (err undefined for a clean close). */
  close(err?: Error): void;
}

export type Http2ConnectionErrorCode =
  /** We found a connection error in what the peer sent; errorCode is the GOAWAY code we sent. */
  | "PROTOCOL"
  /** A defence tripped (rapid reset, CONTINUATION/SETTINGS/PING flood, control frames queued): ENHANCE_YOUR_CALM. */
  | "ENHANCE_YOUR_CALM"
  /** The connection send window stayed at zero for limits.zeroWindowTimeoutMs (GOAWAY ENHANCE_YOUR_CALM). */
  | "STALLED"
  | "PING_TIMEOUT"
  | "SETTINGS_TIMEOUT"
  | "SHUTDOWN_TIMEOUT"
  /** The peer sent GOAWAY with an error code (errorCode), then closed. */
  | "PEER_GOAWAY"
  /** The Conn closed or ended while streams were open, or closed with an error (as `cause`). */
  | "CONNECTION_LOST";

export class Http2ConnectionError extends Error {
  readonly code: Http2ConnectionErrorCode;
  /** An HTTP/2 ErrorCode: the GOAWAY we sent, or the peer's for PEER_GOAWAY. */
  readonly errorCode: number;
  constructor(code: Http2ConnectionErrorCode, errorCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.errorCode = errorCode;
    this.name = "Http2ConnectionError";
  }
}

/** Why a stream id no longer in use was closed: decides how late frames for it are treated (§5.1). */
export const CLOSED_BY_US = 1; // we sent RST_STREAM: frames in flight are ignored
export const CLOSED_BY_PEER = 2; // the peer sent RST_STREAM: more frames are a stream error
export const CLOSED_ENDED = 3; // both END_STREAMs: more DATA or HEADERS is a connection error
const REMEMBER_CLOSED = 1024;

/** decodeBlock's answer for a list over our SETTINGS_MAX_HEADER_LIST_SIZE. */
export const TOO_LARGE: string[] = [];

const encoder = new TextEncoder();

export abstract class ConnectionCore implements StreamHost, SchedulerHost {
  protected readonly conn: Conn;
  protected readonly server: boolean;
  protected readonly clock: Clock;
  protected readonly h: Http2ConnectionHandlers;
  protected readonly limits: Http2Limits;
  protected readonly keepAlive: { intervalMs: number; timeoutMs: number } | null;
  protected readonly local: Http2Settings;
  protected readonly peer: Http2Settings = protocolDefaults();
  protected peerSettingsSeen = false;
  protected localAcked = false;

  protected readonly reader: FrameReader;
  protected readonly encoder: HpackEncoder;
  protected readonly decoder: HpackDecoder;
  protected readonly out: Output;
  protected readonly sched: DataScheduler;
  protected readonly connInbound: InboundWindow;
  protected readonly pings = new PingTracker();
  private readonly resets: Bucket;
  protected readonly acks: Bucket;

  protected readonly streams = new Map<number, Http2Stream>();
  protected readonly closedIds = new Map<number, number>();
  protected nextStreamId: number;
  protected lastPeerStreamId = 0;
  protected localActive = 0;
  protected remoteActive = 0;

  // The field block being collected (HEADERS without END_HEADERS, then CONTINUATION).
  protected blockStream = 0;
  protected blockEnd = false;
  protected blockParts: Uint8Array[] = [];
  protected blockBytes = 0;
  protected blockFrames = 0;

  protected started = false;
  protected isClosed = false;
  private connGone = false;
  protected goawaySent = false;
  /** The last-stream-id of our GOAWAY: peer streams above it are refused. */
  protected goawayLastId = 0x7fffffff;
  protected goawayReceived = false;
  protected peerGoawayCode: number = ErrorCode.NO_ERROR;
  protected shuttingDown = false;
  private closeNotified = false;
  protected capacityDue = false;
  protected flushDue = false;
  private turnScheduled = false;
  protected lastRecvAt = 0;

  protected settingsTimer: CancelTimer | null = null;
  protected keepaliveTimer: CancelTimer | null = null;
  protected pingTimer: CancelTimer | null = null;
  protected graceTimer: CancelTimer | null = null;
  private stallTimer: CancelTimer | null = null;
  private closeTimer: CancelTimer | null = null;

  constructor(conn: Conn, opts: Http2Options, handlers: Http2ConnectionHandlers) {
    this.conn = conn;
    this.server = opts.role === "server";
    this.clock = opts.clock;
    this.h = handlers;
    this.limits = resolveLimits(opts.limits);
    const ka = opts.keepAlive ?? null;
    if (ka !== null && !(ka.intervalMs > 0 && ka.timeoutMs > 0)) throw new RangeError("http2: keepAlive needs intervalMs and timeoutMs > 0");
    this.keepAlive = ka;
    this.local = localSettings({ ...opts, enableConnectProtocol: this.server && opts.enableConnectProtocol === true });
    this.connInbound = new InboundWindow(checkConnectionWindow(opts.connectionWindowSize));
    this.nextStreamId = this.server ? 2 : 1;
    this.reader = new FrameReader(
      { frame: (f) => this.onFrame(f), error: (e) => this.onFrameError(e) },
      // A raised SETTINGS_MAX_FRAME_SIZE may apply at once: the peer sends no more than 16384 until it sees ours.
      { maxFrameSize: this.local.maxFrameSize, expectPreface: this.server },
    );
    this.encoder = new HpackEncoder();
    this.decoder = new HpackDecoder({ maxHeaderListSize: this.local.maxHeaderListSize });
    this.out = new Output(conn, this.onWritable, () => this.scheduleTurnEnd());
    this.sched = new DataScheduler(this.out, this);
    this.resets = new Bucket(this.limits.resetBurst, this.limits.resetRatePerSec);
    this.acks = new Bucket(this.limits.ackFrameBurst, this.limits.ackFramesPerSec);
  }

  protected abstract onFrame(f: Frame): void;
  protected abstract onFrameError(e: Http2Error): void;

  // ---- Conn events -----------------------------------------------------------------------------------------

  protected readonly onConnData = (chunk: Uint8Array): void => {
    if (this.isClosed) return;
    this.lastRecvAt = this.clock.now();
    this.reader.push(chunk);
    this.turnEnd();
  };

  /** The peer half-closed: HTTP/2 has no use for that, so the connection ends. */
  protected readonly onConnEnd = (): void => {
    if (this.isClosed) return;
    this.terminate(this.goawaySent ? null : ErrorCode.NO_ERROR, this.lossError(undefined), this.lossStreamCode(), false);
  };

  protected readonly onConnClose = (err?: Error): void => {
    this.connGone = true;
    this.closeTimer?.();
    this.closeTimer = null;
    if (this.isClosed) return;
    this.out.stop();
    this.terminate(null, this.lossError(err), this.lossStreamCode(), false);
  };

  private lossError(err: Error | undefined): Error | undefined {
    if (this.peerGoawayCode !== ErrorCode.NO_ERROR) {
      return new Http2ConnectionError("PEER_GOAWAY", this.peerGoawayCode, `the peer sent GOAWAY with error ${this.peerGoawayCode}`, { cause: err });
    }
    if (this.streams.size === 0 && err === undefined) return undefined;
    return new Http2ConnectionError("CONNECTION_LOST", ErrorCode.CANCEL, `the connection closed with ${this.streams.size} streams open`, { cause: err });
  }

  private lossStreamCode(): number {
    return this.peerGoawayCode !== ErrorCode.NO_ERROR ? this.peerGoawayCode : ErrorCode.CANCEL;
  }

  private readonly onWritable = (): void => {
    if (!this.isClosed) this.sched.flush();
  };

  /** After a batch of input or API calls: pending DATA, a graceful close that became due, capacity, the writes. */
  private readonly turnEnd = (): void => {
    this.turnScheduled = false;
    if (this.isClosed) return;
    if (this.flushDue) {
      this.flushDue = false;
      this.sched.flush();
      if (this.isClosed) return;
    }
    if ((this.shuttingDown || this.goawayReceived) && this.streams.size === 0) {
      this.finishGraceful();
      return;
    }
    if (this.capacityDue) {
      this.capacityDue = false;
      if (!this.server && !this.goawaySent && !this.goawayReceived) this.h.capacity?.();
    }
    this.out.flush();
  };

  /** DATA to send at the end of the turn. */
  protected dataDue(): void {
    this.flushDue = true;
    this.scheduleTurnEnd();
  }

  protected scheduleTurnEnd(): void {
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      queueMicrotask(this.turnEnd);
    }
  }

  // ---- closing ---------------------------------------------------------------------------------------------

  /**
   * Ends the connection: a GOAWAY with `goawayCode` unless null, every open stream reset with `streamCode`, the
   * Conn closed (flushed, destroyed after limits.closeFlushTimeoutMs) or, with `hard`, destroyed at once.
   */
  protected terminate(goawayCode: number | null, err: Error | undefined, streamCode: number, hard: boolean): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const t of [this.settingsTimer, this.keepaliveTimer, this.pingTimer, this.graceTimer, this.stallTimer]) t?.();
    this.settingsTimer = this.keepaliveTimer = this.pingTimer = this.graceTimer = this.stallTimer = null;
    this.reader.stop();
    if (goawayCode !== null && !this.connGone) {
      const debug = err === undefined ? undefined : encoder.encode(err.message.slice(0, 200));
      this.out.write(encodeGoaway(Math.min(this.lastPeerStreamId, this.goawayLastId), goawayCode, debug));
      this.goawaySent = true;
    }
    this.out.flush();
    this.out.stop();
    const open = [...this.streams.values()];
    this.streams.clear();
    this.localActive = this.remoteActive = 0;
    for (const s of open) {
      s.closed = true;
      this.sched.drop(s);
      if (s.aborted) continue;
      s.aborted = true;
      s.held = null;
      s.handlers?.reset(streamCode, false);
    }
    this.pings.failAll();
    if (!this.connGone) {
      if (hard) this.conn.destroy(err);
      else {
        this.closeTimer = this.clock.setTimer(this.limits.closeFlushTimeoutMs, this.onCloseTimeout);
        this.conn.close();
      }
    }
    if (!this.closeNotified) {
      this.closeNotified = true;
      this.h.close(err);
    }
  }

  private readonly onCloseTimeout = (): void => {
    this.closeTimer = null;
    if (!this.connGone) this.conn.destroy();
  };

  /** After shutdown() or the peer's GOAWAY, once no stream is left. */
  protected finishGraceful(): void {
    const err =
      this.peerGoawayCode !== ErrorCode.NO_ERROR
        ? new Http2ConnectionError("PEER_GOAWAY", this.peerGoawayCode, `the peer sent GOAWAY with error ${this.peerGoawayCode}`)
        : undefined;
    this.terminate(this.goawaySent ? null : ErrorCode.NO_ERROR, err, ErrorCode.CANCEL, false);
  }

  /** A connection error (§5.4.1): GOAWAY with the code, streams reset with it. */
  protected connError(code: number, message: string): void {
    this.terminate(code, new Http2ConnectionError("PROTOCOL", code, message), code, false);
  }

  /** A defence tripped: GOAWAY ENHANCE_YOUR_CALM; `hard` destroys the Conn at once (the peer is not reading). */
  protected flood(message: string, hard = false): void {
    const code = ErrorCode.ENHANCE_YOUR_CALM;
    this.terminate(code, new Http2ConnectionError("ENHANCE_YOUR_CALM", code, message), code, hard);
  }

  // ---- writing ---------------------------------------------------------------------------------------------

  /** Writes a control frame; a peer that makes us queue too many without reading is closed. */
  protected sendControl(frame: Uint8Array): void {
    if (!this.out.control(frame, this.limits.maxQueuedControlFrames)) {
      this.flood(`over ${this.limits.maxQueuedControlFrames} control frames queued for a peer that does not read`, true);
    }
  }

  /** HEADERS (+ CONTINUATION): `fields` (pseudo-headers first) followed by the shaped `extra` fields. */
  protected writeHeaders(id: number, fields: string[], extra: HeaderList | null, endStream: boolean, dropHost: boolean): void {
    if (extra !== null) appendOutgoing(fields, extra, dropHost);
    const block = this.encoder.encode(fields);
    this.out.write(encodeHeaders(id, block, endStream, this.peer.maxFrameSize));
    this.acks.credit();
  }

  // ---- SchedulerHost ---------------------------------------------------------------------------------------

  get peerMaxFrameSize(): number {
    return this.peer.maxFrameSize;
  }

  writeTrailers(s: Http2Stream, trailers: string[]): void {
    this.writeHeaders(s.id, [], trailers, true, false);
  }

  sentEnd(s: Http2Stream): void {
    s.localEnded = true;
    s.trailers = null;
    if (s.remoteEnded) this.closeStream(s, CLOSED_ENDED);
  }

  sentData(): void {
    this.acks.credit();
  }

  stallStarted(): void {
    if (this.stallTimer === null && this.limits.zeroWindowTimeoutMs > 0 && !this.isClosed) {
      this.stallTimer = this.clock.setTimer(this.limits.zeroWindowTimeoutMs, this.onStallTimer);
    }
  }

  now(): number {
    return this.clock.now();
  }

  private readonly onStallTimer = (): void => {
    this.stallTimer = null;
    if (this.isClosed) return;
    const timeout = this.limits.zeroWindowTimeoutMs;
    const r = this.sched.expired(this.clock.now(), timeout);
    if (r.connection) {
      const code = ErrorCode.ENHANCE_YOUR_CALM;
      this.terminate(code, new Http2ConnectionError("STALLED", code, `connection send window at zero for ${timeout} ms`), ErrorCode.CANCEL, true);
      return;
    }
    for (const s of r.streams) this.resetStream(s, ErrorCode.CANCEL, true);
    if (r.nextInMs >= 0 && !this.isClosed) this.stallTimer = this.clock.setTimer(r.nextInMs, this.onStallTimer);
  };

  // ---- StreamHost: what the application does on a stream ---------------------------------------------------

  streamRespond(s: Http2Stream, status: number, headers: HeaderList, endStream: boolean): void {
    if (!s.remote) throw new Error("http2: respond() is for streams the peer opened");
    if (s.headSent) throw new Error("http2: respond() called twice");
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`http2: response status ${status}`);
    if (s.aborted || s.closed || this.isClosed) return;
    s.headSent = true;
    this.writeHeaders(s.id, [":status", String(status)], headers, endStream, false);
    if (endStream) {
      s.endQueued = true;
      this.sentEnd(s);
    }
  }

  streamInformational(s: Http2Stream, status: number, headers: HeaderList): void {
    if (!s.remote) throw new Error("http2: informational() is for streams the peer opened");
    if (s.headSent) throw new Error("http2: informational() after respond()");
    if (!Number.isInteger(status) || status < 100 || status > 199 || status === 101) throw new RangeError(`http2: informational status ${status}`);
    if (s.aborted || s.closed || this.isClosed) return;
    this.writeHeaders(s.id, [":status", String(status)], headers, false, false);
  }

  streamWrite(s: Http2Stream, chunk: Uint8Array): boolean {
    if (s.aborted || s.closed || s.endQueued || this.isClosed) return false;
    if (!s.headSent) throw new Error("http2: write() before respond()");
    if (chunk.length > 0) {
      s.queue.push(chunk);
      s.queued += chunk.length;
      this.sched.schedule(s);
      // Sent at the end of the turn, so that an end() in the same turn rides on the last frame; at once past the
      // high-water mark, so that the answer reflects what the windows took.
      if (s.queued > STREAM_HIGH_WATER) this.sched.flush();
      else this.dataDue();
    }
    if (s.queued > STREAM_HIGH_WATER) {
      s.wantDrain = true;
      return false;
    }
    return true;
  }

  streamEnd(s: Http2Stream, trailers: HeaderList | null): void {
    if (s.aborted || s.closed || s.endQueued || this.isClosed) return;
    if (!s.headSent) throw new Error("http2: end() before respond()");
    s.endQueued = true;
    if (trailers !== null && trailers.length > 0) s.trailers = trailers;
    this.sched.schedule(s);
    this.dataDue();
  }

  streamReset(s: Http2Stream, code: number | undefined): void {
    if (s.aborted) return;
    if (s.closed) {
      // Both ends were done; only held DATA remained to deliver.
      s.aborted = true;
      s.held = null;
      return;
    }
    this.resetStream(s, code ?? ErrorCode.CANCEL, false);
  }

  streamPause(s: Http2Stream): void {
    s.paused = true;
  }

  streamResume(s: Http2Stream): void {
    if (!s.paused) return;
    s.paused = false;
    while (!s.paused && !s.aborted && s.held !== null) {
      const c = s.held.shift();
      if (c === undefined) {
        s.held = null;
        break;
      }
      s.handlers?.data(c);
      this.consumed(s, c.length);
    }
    if (!s.paused && !s.aborted && s.held === null && s.heldEnd) {
      s.heldEnd = false;
      const t = s.heldTrailers;
      s.heldTrailers = null;
      s.handlers?.end(t);
    }
  }

  // ---- streams ---------------------------------------------------------------------------------------------

  /** The peer opens streams with this id parity: odd from clients, even from servers (§5.1.1). */
  protected isPeerId(id: number): boolean {
    return (id & 1) === (this.server ? 1 : 0);
  }

  /** Never opened: above the peer's last new stream, or at/above our next id (§5.1). */
  protected isIdle(id: number): boolean {
    return this.isPeerId(id) ? id > this.lastPeerStreamId : id >= this.nextStreamId;
  }

  /**
   * The receive window of a new stream. Until our SETTINGS are acknowledged the peer may still use the default
   * 65535, so the larger of the two is enforced; resize() brings every stream to ours on the ACK.
   */
  protected streamRecvWindow(): number {
    const w = this.local.initialWindowSize;
    return this.localAcked ? w : Math.max(w, DEFAULT_INITIAL_WINDOW);
  }

  /** Decodes a field block: the fields, TOO_LARGE, or null after a connection error (COMPRESSION_ERROR, §4.3). */
  protected decodeBlock(block: Uint8Array): string[] | null {
    try {
      return this.decoder.decode(block);
    } catch (e) {
      if (e instanceof HpackError && e.code === "HEADER_LIST_TOO_LARGE") return TOO_LARGE;
      this.connError(ErrorCode.COMPRESSION_ERROR, e instanceof Error ? e.message : String(e));
      return null;
    }
  }

  protected deliverData(s: Http2Stream, data: Uint8Array): void {
    if (s.aborted) return;
    if (s.paused || s.held !== null) {
      (s.held ??= []).push(data);
      return;
    }
    s.handlers?.data(data);
    this.consumed(s, data.length);
  }

  protected deliverEnd(s: Http2Stream, trailers: HeaderList | null): void {
    if (s.aborted) return;
    if (s.paused || s.held !== null) {
      s.heldEnd = true;
      s.heldTrailers = trailers;
      return;
    }
    s.handlers?.end(trailers);
  }

  /** The application took `n` octets of the stream: return them to the peer in batches of half a window. */
  protected consumed(s: Http2Stream, n: number): void {
    if (s.remoteEnded || s.aborted || this.isClosed) return;
    const inc = s.inbound.consume(n);
    if (inc > 0) this.sendControl(encodeWindowUpdate(s.id, inc));
  }

  /**
   * The connection window is returned as DATA arrives, not when it is consumed: what a paused stream holds is
   * bounded by its own window, and one slow stream must not stall the others.
   */
  protected creditConnection(n: number): void {
    const inc = this.connInbound.consume(n);
    if (inc > 0) this.sendControl(encodeWindowUpdate(0, inc));
  }

  /** END_STREAM from the peer, checked against content-length (§8.1.1). */
  protected remoteEnd(s: Http2Stream, trailers: HeaderList | null): void {
    if (s.expectedLength >= 0 && s.receivedLength !== s.expectedLength) {
      this.streamError(s, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    s.remoteEnded = true;
    this.deliverEnd(s, trailers);
    if (s.localEnded && !s.closed) this.closeStream(s, CLOSED_ENDED);
  }

  protected closeStream(s: Http2Stream, reason: number): void {
    if (s.closed) return;
    s.closed = true;
    this.streams.delete(s.id);
    this.closedIds.set(s.id, reason);
    if (this.closedIds.size > REMEMBER_CLOSED) this.closedIds.delete(this.closedIds.keys().next().value!);
    if (s.remote) this.remoteActive--;
    else {
      this.localActive--;
      this.capacityDue = true;
    }
    this.sched.drop(s);
    if (!s.remote || this.shuttingDown || this.goawayReceived) this.scheduleTurnEnd();
  }

  /** Closes `s` for good without notifying: nothing more is delivered. */
  protected abortStream(s: Http2Stream, reason: number): void {
    this.closeStream(s, reason);
    s.aborted = true;
    s.held = null;
  }

  /** RST_STREAM from us; the application hears of it (reset(code, false)) when `notify`. */
  protected resetStream(s: Http2Stream, code: number, notify: boolean): void {
    if (s.closed) return;
    this.abortStream(s, CLOSED_BY_US);
    this.sendControl(encodeRstStream(s.id, code)); // may close the connection; s is already out of the map
    if (notify) s.handlers?.reset(code, false);
  }

  /** A stream error the peer caused (§5.4.2): counts towards the rapid-reset limit. */
  protected streamError(s: Http2Stream, code: number): void {
    this.resetStream(s, code, true);
    this.takeReset();
  }

  /** A stream error on an id without a live stream. */
  protected streamErrorId(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      this.streamError(s, code);
      return;
    }
    if (this.isPeerId(id) && !this.closedIds.has(id)) this.closedIds.set(id, CLOSED_BY_US);
    this.sendControl(encodeRstStream(id, code));
    this.takeReset();
  }

  /** REFUSED_STREAM for a new stream (beyond our limit, or after our GOAWAY); safe for the peer to retry (§8.7). */
  protected refuse(id: number, counted: boolean): void {
    this.closedIds.set(id, CLOSED_BY_US);
    this.sendControl(encodeRstStream(id, ErrorCode.REFUSED_STREAM));
    if (counted) this.takeReset();
  }

  /** A request head over our SETTINGS_MAX_HEADER_LIST_SIZE: 431 with END_STREAM, and the request stopped. */
  protected answer431(id: number, endStream: boolean): void {
    this.closedIds.set(id, CLOSED_BY_US);
    this.writeHeaders(id, [":status", "431"], null, true, false);
    if (!endStream) this.sendControl(encodeRstStream(id, ErrorCode.NO_ERROR)); // §8.1: stop sending, no error
  }

  /** Rapid-reset bucket (CVE-2023-44487). */
  protected takeReset(): void {
    if (!this.isClosed && !this.resets.take(this.clock.now())) {
      this.flood(`over ${this.limits.resetBurst} streams reset or refused (refill ${this.limits.resetRatePerSec}/s)`);
    }
  }
}
