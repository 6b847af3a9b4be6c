// The state of an HTTP/2 connection and its plumbing: the Conn's events, the end-of-turn work (DATA, a due
// graceful close, capacity, the merged write), closing, and writing control frames and field blocks.
// The layers above: StreamTable (stream-table.ts: the streams and what the application does on them),
// FrameReceiver (receive.ts: each frame from the peer), Http2Connection (connection.ts: the public API, timers).

import type { HeaderList } from "../http1/types.ts";
import type { CancelTimer, Clock, Conn } from "../ports.ts";
import { DEFAULT_INITIAL_WINDOW, ErrorCode, Flag, FRAME_HEADER_SIZE, FrameType, MAX_WINDOW } from "./frames/constants.ts";
import { type FieldBlockType, FrameReader } from "./frames/reader.ts";
import type { Frame, Http2Error } from "./frames/types.ts";
import { encodeGoaway, putFrameHeader } from "./frames/writer.ts";
import { HpackDecoder, HpackEncoder } from "./hpack/mod.ts";
import { Http2ConnectionError, type Http2ConnectionHandlers, type Http2Options } from "./connection-types.ts";
import { ClosedIds } from "./closed-ids.ts";
import { InboundWindow } from "./flow-window.ts";
import { Bucket, type Http2Limits, resolveLimits } from "./limits.ts";
import { shapeOutgoing } from "./message-checks.ts";
import { Output } from "./output.ts";
import { PingTracker } from "./ping.ts";
import { DataScheduler, type SchedulerHost } from "./scheduler.ts";
import { ASSUMED_PEER_MAX_CONCURRENT_STREAMS, checkConnectionWindow, type Http2Settings, localSettings, protocolDefaults } from "./settings.ts";
import type { Http2Stream } from "./stream.ts";

/** Why a stream id no longer in use was closed: decides how late frames for it are treated (§5.1). */
export const CLOSED_BY_US = 1; // we sent RST_STREAM: frames in flight are ignored
export const CLOSED_BY_PEER = 2; // the peer sent RST_STREAM: more frames are a stream error
export const CLOSED_ENDED = 3; // both END_STREAMs: more DATA or HEADERS is a connection error
/** How many closed stream ids are remembered with their reason. */
export const REMEMBER_CLOSED = 1024;
/** Room made in the output for a field block encoded in place (a larger one moves to the encoder's own buffer). */
const BLOCK_ROOM = 256;

const encoder = new TextEncoder();

export abstract class ConnectionCore implements SchedulerHost {
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
  /** Rapid reset (CVE-2023-44487) and ACK-requiring frames (SETTINGS/PING floods). */
  protected readonly resets: Bucket;
  protected readonly acks: Bucket;

  protected readonly streams = new Map<number, Http2Stream>();
  protected readonly closedIds = new ClosedIds(REMEMBER_CLOSED);
  protected nextStreamId: number;
  protected lastPeerStreamId = 0;
  protected localActive = 0;
  protected remoteActive = 0;

  protected started = false;
  protected isClosed = false;
  private connGone = false;
  protected goawaySent = false;
  /** The last-stream-id of our GOAWAY: peer streams above it are refused. */
  protected goawayLastId = MAX_WINDOW;
  protected goawayReceived = false;
  protected peerGoawayCode: number = ErrorCode.NO_ERROR;
  protected shuttingDown = false;
  private closeNotified = false;
  protected capacityDue = false;
  /** Where the HEADERS frame being encoded starts in the output's slab, or -1 (encoded in the encoder's scratch). */
  private blockAt = -1;
  protected flushDue = false;
  private turnScheduled = false;
  protected lastRecvAt = 0;

  protected settingsTimer: CancelTimer | null = null;
  protected keepaliveTimer: CancelTimer | null = null;
  protected pingTimer: CancelTimer | null = null;
  protected graceTimer: CancelTimer | null = null;
  protected stallTimer: CancelTimer | null = null;
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
      {
        frame: (f) => this.onFrame(f),
        error: (e) => this.onFrameError(e),
        fieldBlock: (type, id, flags, b, start, end) => this.onFieldFragment(type, id, flags, b, start, end),
      },
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
  /** HEADERS or CONTINUATION (FrameHandler.fieldBlock): the fragment is b[start, end). */
  protected abstract onFieldFragment(type: FieldBlockType, id: number, flags: number, b: Uint8Array, start: number, end: number): void;
  protected abstract onFrameError(e: Http2Error): void;
  abstract writeTrailers(s: Http2Stream, trailers: string[]): void;
  abstract sentEnd(s: Http2Stream): void;
  abstract stallStarted(): void;

  // ---- what the application reads -------------------------------------------------------------------------

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
    return this.peerSettingsSeen ? this.peer.maxConcurrentStreams : ASSUMED_PEER_MAX_CONCURRENT_STREAMS;
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
      if (this.canOpenStream) this.h.capacity?.();
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
    // All closed before any handler runs: a handler that resets another stream only silences it.
    for (const s of open) {
      s.closed = true;
      this.sched.drop(s);
    }
    for (const s of open) {
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

  /**
   * Starts the field block of a HEADERS frame: the caller adds the pseudo-headers with this.encoder.field(), then
   * calls sendBlock(). The block is HPACK-encoded straight into the output, behind room for the frame header.
   */
  protected beginBlock(): void {
    if (this.out.stopped) {
      this.blockAt = -1;
      this.encoder.begin(FRAME_HEADER_SIZE);
      return;
    }
    const at = this.out.reserve(FRAME_HEADER_SIZE + BLOCK_ROOM);
    this.blockAt = at;
    this.encoder.beginAt(this.out.slab, at + FRAME_HEADER_SIZE);
  }

  /**
   * Ends the block begun with the shaped `extra` fields and queues it: one HEADERS frame, its header written in
   * front of the block where it lies; past the peer's SETTINGS_MAX_FRAME_SIZE, HEADERS and CONTINUATION frames
   * copied from it. (A block that outgrew the output's buffer, or was encoded apart, is copied once.)
   */
  protected sendBlock(id: number, extra: HeaderList | null, endStream: boolean, dropHost: boolean): void {
    const enc = this.encoder;
    if (extra !== null) shapeOutgoing(enc, extra, dropHost);
    const end = enc.finish();
    const buf = enc.scratch;
    const inPlace = this.blockAt >= 0 && buf === this.out.slab;
    const at = this.blockAt >= 0 ? this.blockAt : 0;
    const len = end - at - FRAME_HEADER_SIZE;
    const max = this.peer.maxFrameSize;
    const flags = endStream ? Flag.END_STREAM : 0;
    if (len <= max) {
      putFrameHeader(buf, at, len, FrameType.HEADERS, flags | Flag.END_HEADERS, id);
      if (inPlace) this.out.commit(end);
      else this.out.writeRange(buf, at, end);
    } else {
      // Frame headers go between the pieces: work from a copy when the block sits where they are written.
      const src = inPlace ? buf.slice(at + FRAME_HEADER_SIZE, end) : buf;
      const first = inPlace ? 0 : at + FRAME_HEADER_SIZE;
      const last = first + len;
      this.out.frameHeader(max, FrameType.HEADERS, flags, id);
      this.out.writeRange(src, first, first + max);
      for (let o = first + max; o < last; o += max) {
        const n = Math.min(max, last - o);
        this.out.frameHeader(n, FrameType.CONTINUATION, o + n === last ? Flag.END_HEADERS : 0, id);
        this.out.writeRange(src, o, o + n);
      }
    }
    enc.release();
    this.acks.credit();
  }

  /** HEADERS with `:status` and the shaped `headers`. */
  protected writeResponseHeaders(id: number, status: number, headers: HeaderList | null, endStream: boolean): void {
    this.beginBlock();
    this.encoder.field(":status", statusText(status));
    this.sendBlock(id, headers, endStream, false);
  }

  get peerMaxFrameSize(): number {
    return this.peer.maxFrameSize;
  }

  sentData(): void {
    this.acks.credit();
  }

  now(): number {
    return this.clock.now();
  }

  // ---- stream ids ------------------------------------------------------------------------------------------

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
}

const STATUS_TEXT: string[] = [];

/** String(status), without a new string for every response. */
function statusText(status: number): string {
  return (STATUS_TEXT[status] ??= String(status));
}
