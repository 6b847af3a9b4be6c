// Helpers for the connection engine tests: an in-memory Conn pair with microtask delivery and real backpressure
// (write() returns false while the reader's unread bytes exceed its high-water mark, drain once they fall to half),
// a raw frame-level peer built from the frame writer and HPACK, and an engine pair over FakeClock.

import { concatBytes } from "../../../core/bytes.ts";
import type { Addr, Conn, ConnHandlers } from "../../../core/ports.ts";
import { CLIENT_PREFACE, ErrorCode, errorCodeName, FrameType } from "../../../core/http2/frames/constants.ts";
import { FrameReader } from "../../../core/http2/frames/reader.ts";
import type { Frame, GoawayFrame, Http2Error, RstStreamFrame } from "../../../core/http2/frames/types.ts";
import {
  encodeData,
  encodeGoaway,
  encodeHeaders,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeWindowUpdate,
  SETTINGS_ACK,
} from "../../../core/http2/frames/writer.ts";
import { HpackDecoder, HpackEncoder } from "../../../core/http2/hpack/mod.ts";
import {
  Http2Connection,
  type Http2ConnectionHandlers,
  type Http2Options,
  type Http2RequestHead,
  type Http2Stream,
  type Http2StreamHandlers,
} from "../../../core/http2/connection.ts";
import type { HeaderList } from "../../../core/http1/types.ts";
import { FakeClock } from "../../support/fake-runtime.ts";

export { ErrorCode, errorCodeName, FrameType };
export const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
export const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
export const bytesOf = (n: number, seed = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
/** Runs every queued microtask (and the ones they queue). */
export const settle = (): Promise<void> => new Promise<void>((r) => setImmediate(r));
export async function settleN(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await settle();
}

// ---- an in-memory Conn pair ------------------------------------------------------------------------------------

export class MemConn implements Conn {
  readonly local: Addr;
  readonly remote: Addr;
  peer!: MemConn;
  /** Unread bytes above this make the peer's write() return false. */
  hwm = 256 * 1024;
  private h: ConnHandlers | null = null;
  private inbox: Uint8Array[] = [];
  inboxBytes = 0;
  private paused = false;
  private scheduled = false;
  private endPending = false;
  private closePending = false;
  private closeErr: Error | undefined;
  private drainFn: (() => void) | null = null;
  private wantDrain = false;
  writeEnded = false;
  closed = false;
  destroyed = false;
  /** Total bytes and calls written. */
  writtenBytes = 0;
  writes = 0;

  constructor(local: Addr, remote: Addr) {
    this.local = local;
    this.remote = remote;
  }

  setHandlers(h: ConnHandlers): void {
    this.h = h;
    this.schedule();
  }
  write(chunk: Uint8Array): boolean {
    if (this.closed || this.writeEnded) return false;
    this.writtenBytes += chunk.length;
    this.writes++;
    this.peer.enqueue(chunk.slice());
    if (this.peer.inboxBytes > this.peer.hwm) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }
  onDrain(fn: (() => void) | null): void {
    this.drainFn = fn;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.schedule();
  }
  closeWrite(): void {
    if (this.writeEnded || this.closed) return;
    this.writeEnded = true;
    this.peer.endPending = true;
    this.peer.schedule();
  }
  close(): void {
    if (this.closed) return;
    this.closeWrite();
    this.peer.closePending = true;
    this.peer.schedule();
    this.finish(undefined);
  }
  destroy(err?: Error): void {
    if (this.closed) return;
    this.destroyed = true;
    this.writeEnded = true;
    this.peer.closePending = true;
    this.peer.closeErr = new Error("ECONNRESET");
    this.peer.schedule();
    this.finish(err);
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.inbox = [];
    this.inboxBytes = 0;
    queueMicrotask(() => this.h?.close(err));
  }
  private enqueue(chunk: Uint8Array): void {
    if (this.closed) return;
    this.inbox.push(chunk);
    this.inboxBytes += chunk.length;
    this.schedule();
  }
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.deliver());
  }
  private deliver(): void {
    this.scheduled = false;
    if (this.closed || this.h === null) return;
    while (!this.paused && this.inbox.length > 0 && !this.closed) {
      const c = this.inbox.shift()!;
      this.inboxBytes -= c.length;
      this.h.data(c);
    }
    this.peer.maybeDrain();
    if (this.closed) return;
    if (this.endPending && !this.paused && this.inbox.length === 0) {
      this.endPending = false;
      this.h.end();
    }
    if (this.closed) return;
    if (this.closePending && ((this.inbox.length === 0 && !this.endPending) || this.closeErr !== undefined)) {
      this.closePending = false;
      this.finish(this.closeErr);
    }
  }
  private maybeDrain(): void {
    if (this.wantDrain && this.peer.inboxBytes <= this.peer.hwm / 2) {
      this.wantDrain = false;
      this.drainFn?.();
    }
  }
}

export function memPair(): [MemConn, MemConn] {
  const a = new MemConn({ host: "127.0.0.1", port: 1111 }, { host: "127.0.0.1", port: 2222 });
  const b = new MemConn({ host: "127.0.0.1", port: 2222 }, { host: "127.0.0.1", port: 1111 });
  a.peer = b;
  b.peer = a;
  return [a, b];
}

// ---- a raw frame-level peer --------------------------------------------------------------------------------------

export interface RawPeerOptions {
  /** Answer SETTINGS with an ACK (default true). */
  autoAck?: boolean;
  /** Server side of the raw peer: expect the client preface. */
  expectPreface?: boolean;
}

/** One end of a MemConn driven frame by frame: what a test "peer" sends, and every frame it received. */
export class RawPeer {
  readonly frames: Frame[] = [];
  readonly errors: Http2Error[] = [];
  readonly enc = new HpackEncoder();
  private readonly dec = new HpackDecoder({ maxHeaderListSize: 1 << 24 });
  /** Decoded field blocks by stream, in arrival order (HEADERS + CONTINUATION joined). */
  readonly blocks = new Map<number, string[][]>();
  private readonly dataBy = new Map<number, Uint8Array[]>();
  readonly endedStreams = new Set<number>();
  private blockParts: Uint8Array[] = [];
  private blockId = 0;
  private blockEnd = false;
  closed = false;
  closeErr: Error | undefined;
  ended = false;
  private readonly reader: FrameReader;

  constructor(
    readonly conn: MemConn,
    opts: RawPeerOptions = {},
  ) {
    const autoAck = opts.autoAck ?? true;
    this.reader = new FrameReader(
      {
        frame: (f) => {
          this.frames.push(f);
          if (f.type === FrameType.SETTINGS && !f.ack && autoAck) this.send(SETTINGS_ACK);
          if (f.type === FrameType.HEADERS) {
            if (f.endHeaders) this.onBlock(f.streamId, f.fragment, f.endStream);
            else {
              this.blockId = f.streamId;
              this.blockEnd = f.endStream;
              this.blockParts = [f.fragment];
            }
          } else if (f.type === FrameType.CONTINUATION) {
            this.blockParts.push(f.fragment);
            if (f.endHeaders) this.onBlock(this.blockId, concatBytes(this.blockParts), this.blockEnd);
          } else if (f.type === FrameType.DATA) {
            const list = this.dataBy.get(f.streamId) ?? [];
            list.push(f.data);
            this.dataBy.set(f.streamId, list);
            if (f.endStream) this.endedStreams.add(f.streamId);
          }
        },
        error: (e) => this.errors.push(e),
      },
      { maxFrameSize: 16777215, expectPreface: opts.expectPreface === true },
    );
    conn.setHandlers({
      data: (c) => this.reader.push(c),
      end: () => {
        this.ended = true;
      },
      close: (err) => {
        this.closed = true;
        this.closeErr = err;
      },
    });
  }

  private onBlock(id: number, block: Uint8Array, endStream: boolean): void {
    const list = this.blocks.get(id) ?? [];
    list.push(this.dec.decode(block));
    this.blocks.set(id, list);
    if (endStream) this.endedStreams.add(id);
  }

  send(...chunks: Uint8Array[]): boolean {
    let ok = true;
    for (const c of chunks) ok = this.conn.write(c) && ok;
    return ok;
  }
  /** The client preface and a SETTINGS frame. */
  preface(settings: Array<[number, number]> = []): void {
    this.send(CLIENT_PREFACE, encodeSettings(settings));
  }
  headers(id: number, fields: string[], endStream: boolean, maxFrameSize = 16384): void {
    this.send(encodeHeaders(id, this.enc.encode(fields), endStream, maxFrameSize));
  }
  /** A GET-like request head with the given extra fields. */
  request(id: number, endStream = true, extra: string[] = [], method = "GET", path = "/"): void {
    this.headers(id, [":method", method, ":scheme", "http", ":authority", "example.com", ":path", path, ...extra], endStream);
  }
  data(id: number, body: Uint8Array | string, endStream: boolean): void {
    this.send(encodeData(id, typeof body === "string" ? latin1(body) : body, endStream));
  }
  rst(id: number, code: number = ErrorCode.CANCEL): void {
    this.send(encodeRstStream(id, code));
  }
  ping(data = new Uint8Array(8)): void {
    this.send(encodePing(data, false));
  }
  settings(list: Array<[number, number]>): void {
    this.send(encodeSettings(list));
  }
  windowUpdate(id: number, inc: number): void {
    this.send(encodeWindowUpdate(id, inc));
  }
  goawayFrame(last: number, code: number = ErrorCode.NO_ERROR): void {
    this.send(encodeGoaway(last, code));
  }

  goaway(): GoawayFrame | undefined {
    return this.frames.find((f): f is GoawayFrame => f.type === FrameType.GOAWAY);
  }
  rsts(id?: number): RstStreamFrame[] {
    return this.frames.filter((f): f is RstStreamFrame => f.type === FrameType.RST_STREAM && (id === undefined || f.streamId === id));
  }
  /** The status of the (first final) response on a stream. */
  status(id: number): string | undefined {
    for (const b of this.blocks.get(id) ?? []) {
      const i = b.indexOf(":status");
      if (i >= 0 && !b[i + 1]!.startsWith("1")) return b[i + 1];
    }
    return undefined;
  }
  body(id: number): string {
    return text(concatBytes(this.dataBy.get(id) ?? []));
  }
  bodyBytes(id: number): number {
    return (this.dataBy.get(id) ?? []).reduce((n, c) => n + c.length, 0);
  }
  count(type: number): number {
    return this.frames.filter((f) => f.type === type).length;
  }
}

// ---- engines -----------------------------------------------------------------------------------------------------

export type Events = string[];

/** Handlers that log every stream event as a short string. */
export function logHandlers(log: Events, tag: string, extra: Partial<Http2StreamHandlers> = {}): Http2StreamHandlers {
  return {
    head: (h) => log.push(`${tag} head ${h.status}`),
    informational: (st) => log.push(`${tag} info ${st}`),
    data: (c) => log.push(`${tag} data ${c.length}`),
    end: (t) => log.push(t === null ? `${tag} end` : `${tag} end ${t.join(",")}`),
    reset: (code, byPeer) => log.push(`${tag} reset ${errorCodeName(code)}${byPeer ? " by peer" : ""}`),
    ...extra,
  };
}

export interface ServerSide {
  conn: Http2Connection;
  mem: MemConn;
  streams: Array<{ s: Http2Stream; head: Http2RequestHead }>;
  closed: { done: boolean; err: Error | undefined };
  goaways: Array<[number, number]>;
}

/**
 * A server engine on one end of a MemConn. `onStream` answers requests (default: a stream that logs to `log`
 * and answers 200 with "ok" once the request ended).
 */
export function serverEngine(
  mem: MemConn,
  clock: FakeClock,
  opts: Partial<Http2Options> = {},
  onStream?: (s: Http2Stream, head: Http2RequestHead) => void,
  log: Events = [],
): ServerSide {
  const side: ServerSide = { conn: null!, mem, streams: [], closed: { done: false, err: undefined }, goaways: [] };
  const handlers: Http2ConnectionHandlers = {
    stream(s, head) {
      side.streams.push({ s, head });
      if (onStream) return onStream(s, head);
      s.setHandlers(
        logHandlers(log, `s${s.id}`, {
          end: (t) => {
            log.push(t === null ? `s${s.id} end` : `s${s.id} end ${t.join(",")}`);
            s.respond(200, ["content-type", "text/plain"], false);
            s.write(latin1("ok"));
            s.end();
          },
        }),
      );
    },
    goaway: (last, code) => side.goaways.push([last, code]),
    close(err) {
      if (side.closed.done) throw new Error("server close() called twice");
      side.closed.done = true;
      side.closed.err = err;
    },
  };
  side.conn = new Http2Connection(mem, { role: "server", clock, ...opts }, handlers);
  return side;
}

export interface ClientSide {
  conn: Http2Connection;
  mem: MemConn;
  closed: { done: boolean; err: Error | undefined };
  capacity: number;
  goaways: Array<[number, number]>;
}

export function clientEngine(mem: MemConn, clock: FakeClock, opts: Partial<Http2Options> = {}): ClientSide {
  const side: ClientSide = { conn: null!, mem, closed: { done: false, err: undefined }, capacity: 0, goaways: [] };
  side.conn = new Http2Connection(
    mem,
    { role: "client", clock, ...opts },
    {
      capacity: () => side.capacity++,
      goaway: (last, code) => side.goaways.push([last, code]),
      close(err) {
        if (side.closed.done) throw new Error("client close() called twice");
        side.closed.done = true;
        side.closed.err = err;
      },
    },
  );
  return side;
}

/** A started client and server engine over a MemConn pair. */
export function enginePair(
  o: {
    client?: Partial<Http2Options>;
    server?: Partial<Http2Options>;
    onStream?: (s: Http2Stream, head: Http2RequestHead) => void;
    log?: Events;
  } = {},
) {
  const clock = new FakeClock();
  const [cm, sm] = memPair();
  const log = o.log ?? [];
  const server = serverEngine(sm, clock, o.server, o.onStream, log);
  const client = clientEngine(cm, clock, o.client);
  server.conn.start();
  client.conn.start();
  return { clock, client, server, log };
}

/** A started server engine and a raw client that has sent its preface (and ACKs the server's SETTINGS). */
export function rawClient(
  o: { server?: Partial<Http2Options>; onStream?: (s: Http2Stream, head: Http2RequestHead) => void; log?: Events; settings?: Array<[number, number]>; autoAck?: boolean } = {},
) {
  const clock = new FakeClock();
  const [cm, sm] = memPair();
  const log = o.log ?? [];
  const server = serverEngine(sm, clock, o.server, o.onStream, log);
  const peer = new RawPeer(cm, { autoAck: o.autoAck ?? true });
  peer.preface(o.settings ?? []);
  server.conn.start();
  return { clock, server, peer, log };
}

/** A started client engine and a raw server peer (which reads the preface). */
export function rawServer(o: { client?: Partial<Http2Options>; settings?: Array<[number, number]>; autoAck?: boolean } = {}) {
  const clock = new FakeClock();
  const [cm, sm] = memPair();
  const client = clientEngine(cm, clock, o.client);
  const peer = new RawPeer(sm, { expectPreface: true, autoAck: o.autoAck ?? true });
  peer.settings(o.settings ?? []);
  client.conn.start();
  return { clock, client, peer };
}

/** A GET request head. */
export function get(path = "/", headers: HeaderList = []) {
  return { method: "GET", scheme: "http", authority: "example.com", path, headers };
}

/** Collects a client stream's response. */
export interface Collected {
  status: number;
  headers: HeaderList;
  chunks: Uint8Array[];
  trailers: HeaderList | null;
  ended: boolean;
  reset: { code: number; byPeer: boolean } | null;
  body(): string;
  bytes(): number;
}

export function collector(extra: Partial<Http2StreamHandlers> = {}): { h: Http2StreamHandlers; r: Collected } {
  const r: Collected = {
    status: 0,
    headers: [],
    chunks: [],
    trailers: null,
    ended: false,
    reset: null,
    body: () => text(concatBytes(r.chunks)),
    bytes: () => r.chunks.reduce((n, c) => n + c.length, 0),
  };
  const h: Http2StreamHandlers = {
    head(head) {
      r.status = head.status;
      r.headers = head.headers;
    },
    data(c) {
      r.chunks.push(c);
    },
    end(t) {
      r.ended = true;
      r.trailers = t;
    },
    reset(code, byPeer) {
      r.reset = { code, byPeer };
    },
    ...extra,
  };
  return { h, r };
}
