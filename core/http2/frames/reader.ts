// Incremental HTTP/2 frame reader (RFC 9113 §3.4, §4, §5.5, §6).
//
// Frames may be split across pushed chunks at any byte, and a chunk may hold many frames. A frame whose payload
// lies wholly inside one chunk is decoded in place: its byte fields are subarray views of that chunk, which
// the caller hands over with push() and must not reuse. Only a payload split across chunks is copied, into an
// array allocated for that frame at its exact length (never reused, so views stay valid once delivered).
//
// The header is validated before any payload is buffered. A connection error stops the reader for good; a stream
// error is reported with its stream id and reading goes on. Handlers may call setMaxFrameSize() or stop() while
// a frame is being delivered; a push() from inside a handler is queued behind the current chunk.

import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, ErrorCode, Flag, FrameType, MAX_MAX_FRAME_SIZE } from "./constants.ts";
import { Http2Error, type Frame, type UnknownFrame, type UnknownFrameType } from "./types.ts";
import { checkHeader, decodePayload, headersStreamError } from "./validate.ts";

export interface FrameHandler {
  frame(f: Frame): void;
  /** A connection error (streamId 0; nothing follows) or a stream error (reading continues). */
  error(e: Http2Error): void;
  /**
   * Optional fast path for the frames that carry a field block: when set, HEADERS and CONTINUATION frames come
   * here instead of to frame(), with their raw flags and the fragment as b[start, end) (padding and priority
   * fields removed), so that no frame object and no view is made for them. `b` is the pushed chunk (or the copy
   * of a frame split across chunks) and is never written to: a view of it may be kept. A HEADERS frame's priority
   * signal is not passed on (deprecated, §5.3.2); a dependency on itself is still reported to error() first.
   */
  fieldBlock?(type: FieldBlockType, streamId: number, flags: number, b: Uint8Array, start: number, end: number): void;
}

export type FieldBlockType = typeof FrameType.HEADERS | typeof FrameType.CONTINUATION;

export interface FrameReaderOptions {
  /** The SETTINGS_MAX_FRAME_SIZE we advertise; 16384 by default. */
  maxFrameSize?: number;
  /** Server side: the 24-octet client preface and then a SETTINGS frame must come first (§3.4). */
  expectPreface?: boolean;
}

const S_PREFACE = 0;
const S_BAD_PREFACE = 1; // collecting a few octets to describe what came instead of the preface
const S_HEADER = 2;
const S_PAYLOAD = 3;
const S_SKIP = 4; // discarding the payload of an unknown frame, or of one that drew a stream error
const S_DEAD = 5;

const HEADER_SIZE = 9;
const EMPTY = new Uint8Array(0);

export class FrameReader {
  private readonly h: FrameHandler;
  private maxFrameSize: number;
  private state: number;

  private prefaceMatched = 0;
  private badPreface: number[] = [];
  /** The client preface was read and no frame yet: it must be a SETTINGS frame. */
  private settingsDue = false;

  // The frame being read.
  private readonly hdr = new Uint8Array(HEADER_SIZE);
  private hdrLen = 0;
  private length = 0;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private payload: Uint8Array = EMPTY;
  private payloadLen = 0;
  private skipLeft = 0;
  private skipped: UnknownFrame | null = null;

  /** Stream of a field block still awaiting CONTINUATION frames (§4.3, §6.10), or 0. */
  private blockStream = 0;

  private running = false;
  private queue: Uint8Array[] = [];

  constructor(h: FrameHandler, opts?: FrameReaderOptions) {
    this.h = h;
    this.maxFrameSize = checkMaxFrameSize(opts?.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
    this.state = opts?.expectPreface === true ? S_PREFACE : S_HEADER;
  }

  /**
   * The largest payload accepted from the next frame header on. Apply a lowered value once the peer has
   * acknowledged the SETTINGS that carried it (§6.5.3); a raised one may be applied at once.
   */
  setMaxFrameSize(n: number): void {
    this.maxFrameSize = checkMaxFrameSize(n);
  }

  /** No further callbacks, and further input is ignored (e.g. after a connection error found above this layer). */
  stop(): void {
    this.state = S_DEAD;
    this.queue = [];
    this.payload = EMPTY;
  }

  /** The reader stopped, after a connection error or stop(). */
  get stopped(): boolean {
    return this.state === S_DEAD;
  }

  push(chunk: Uint8Array): void {
    if (this.state === S_DEAD || chunk.length === 0) return;
    if (this.running) {
      this.queue.push(chunk);
      return;
    }
    this.running = true;
    try {
      let c: Uint8Array | undefined = chunk;
      while (c !== undefined && this.state !== S_DEAD) {
        this.consume(c);
        c = this.queue.shift();
      }
    } finally {
      this.running = false;
    }
  }

  private consume(b: Uint8Array): void {
    const end = b.length;
    let pos = 0;
    while (pos < end) {
      switch (this.state) {
        case S_PREFACE:
          pos = this.matchPreface(b, pos);
          break;
        case S_BAD_PREFACE:
          pos = this.collectBadPreface(b, pos);
          break;
        case S_HEADER: {
          if (this.hdrLen === 0 && end - pos >= HEADER_SIZE) {
            this.onHeader(b, pos);
            pos += HEADER_SIZE;
          } else {
            const n = Math.min(HEADER_SIZE - this.hdrLen, end - pos);
            this.hdr.set(b.subarray(pos, pos + n), this.hdrLen);
            this.hdrLen += n;
            pos += n;
            if (this.hdrLen < HEADER_SIZE) return;
            this.hdrLen = 0;
            this.onHeader(this.hdr, 0);
          }
          break;
        }
        case S_PAYLOAD: {
          const need = this.length - this.payloadLen;
          if (this.payloadLen === 0 && end - pos >= need) {
            const at = pos;
            pos += need;
            this.state = S_HEADER;
            this.onPayload(b, at, pos);
          } else {
            if (this.payloadLen === 0) this.payload = new Uint8Array(this.length);
            const n = Math.min(need, end - pos);
            this.payload.set(b.subarray(pos, pos + n), this.payloadLen);
            this.payloadLen += n;
            pos += n;
            if (this.payloadLen < this.length) return;
            const p = this.payload;
            this.payload = EMPTY;
            this.payloadLen = 0;
            this.state = S_HEADER;
            this.onPayload(p, 0, p.length);
          }
          break;
        }
        case S_SKIP: {
          const n = Math.min(this.skipLeft, end - pos);
          this.skipLeft -= n;
          pos += n;
          if (this.skipLeft === 0) this.endSkip();
          break;
        }
        default:
          return;
      }
    }
  }

  private matchPreface(b: Uint8Array, pos: number): number {
    const end = b.length;
    while (pos < end && this.prefaceMatched < CLIENT_PREFACE.length) {
      if (b[pos] !== CLIENT_PREFACE[this.prefaceMatched]) {
        for (let i = 0; i < this.prefaceMatched; i++) this.badPreface.push(CLIENT_PREFACE[i]!);
        this.state = S_BAD_PREFACE;
        return this.collectBadPreface(b, pos);
      }
      this.prefaceMatched++;
      pos++;
    }
    if (this.prefaceMatched === CLIENT_PREFACE.length) {
      this.state = S_HEADER;
      this.settingsDue = true;
    }
    return pos;
  }

  /**
   * Not the preface. To say whether it was an HTTP/1 request, keep octets until the first one that cannot be
   * part of a method (at most as many as the preface has): a request line starts with `token SP`.
   */
  private collectBadPreface(b: Uint8Array, pos: number): number {
    const seen = this.badPreface;
    while (pos < b.length && seen.length < CLIENT_PREFACE.length) {
      const c = b[pos++]!;
      seen.push(c);
      if (TCHAR[c] !== 1) break;
    }
    let k = 0;
    while (k < seen.length && TCHAR[seen[k]!] === 1) k++;
    if (k === seen.length && seen.length < CLIENT_PREFACE.length) return pos;
    let message = "expected the HTTP/2 client connection preface";
    // "PRI " is the preface's own start; anything else of the form `token SP` is a request line.
    if (seen[k] === 0x20 && k > 0 && !(k === 3 && this.prefaceMatched >= 3)) {
      const method = String.fromCharCode(...seen.slice(0, k));
      message += `, got what looks like an HTTP/1.x request (${method} …)`;
    }
    this.badPreface = [];
    this.fail(new Http2Error(ErrorCode.PROTOCOL_ERROR, 0, message)); // §3.4
    return b.length;
  }

  private onHeader(b: Uint8Array, o: number): void {
    const length = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
    const type = b[o + 3]!;
    const flags = b[o + 4]!;
    const streamId = ((b[o + 5]! & 0x7f) << 24) | (b[o + 6]! << 16) | (b[o + 7]! << 8) | b[o + 8]!;
    this.length = length;
    this.type = type;
    this.flags = flags;
    this.streamId = streamId;

    if (this.settingsDue) {
      this.settingsDue = false;
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) {
        this.fail(new Http2Error(ErrorCode.PROTOCOL_ERROR, 0, "the client preface is not followed by a SETTINGS frame")); // §3.4
        return;
      }
    }
    if (length > this.maxFrameSize) {
      this.fail(new Http2Error(ErrorCode.FRAME_SIZE_ERROR, 0, `frame of ${length} octets exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`)); // §4.2
      return;
    }
    if (this.blockStream !== 0) {
      if (type !== FrameType.CONTINUATION || streamId !== this.blockStream) {
        this.fail(new Http2Error(ErrorCode.PROTOCOL_ERROR, 0, `expected a CONTINUATION frame on stream ${this.blockStream}`)); // §6.2, §6.10, §5.5
        return;
      }
    } else if (type === FrameType.CONTINUATION) {
      this.fail(new Http2Error(ErrorCode.PROTOCOL_ERROR, 0, "CONTINUATION frame without an open field block")); // §6.10
      return;
    }
    if (type > FrameType.CONTINUATION) {
      this.skipped = { type: type as UnknownFrameType, streamId, flags, length };
      this.startSkip(length);
      return;
    }
    const e = checkHeader(type, flags, streamId, length);
    if (e !== null) {
      if (e.streamId === 0) {
        this.fail(e);
        return;
      }
      this.h.error(e);
      this.startSkip(length);
      return;
    }
    if (length === 0) this.onPayload(EMPTY, 0, 0);
    else this.state = S_PAYLOAD;
  }

  private startSkip(length: number): void {
    if (this.state === S_DEAD) return;
    if (length === 0) {
      this.endSkip();
      return;
    }
    this.skipLeft = length;
    this.state = S_SKIP;
  }

  private endSkip(): void {
    if (this.state === S_SKIP) this.state = S_HEADER;
    const f = this.skipped;
    this.skipped = null;
    if (f !== null && this.state !== S_DEAD) this.h.frame(f);
  }

  /** The payload is b[start, end). */
  private onPayload(b: Uint8Array, start: number, end: number): void {
    const type = this.type;
    if ((type === FrameType.HEADERS || type === FrameType.CONTINUATION) && this.h.fieldBlock !== undefined) {
      this.onFieldBlock(type, b, start, end);
      return;
    }
    const r = decodePayload(type, this.flags, this.streamId, b, start, end);
    if (r instanceof Http2Error) {
      if (r.streamId === 0) this.fail(r);
      else this.h.error(r);
      return;
    }
    const t = r.type;
    if (t === FrameType.HEADERS || t === FrameType.PUSH_PROMISE) {
      if (!r.endHeaders) this.blockStream = r.streamId;
    } else if (t === FrameType.CONTINUATION && r.endHeaders) {
      this.blockStream = 0;
    }
    if (t === FrameType.HEADERS) {
      // The frame still follows its stream error: its field block must reach the HPACK decoder (§4.3, §5.4.2).
      const se = headersStreamError(r);
      if (se !== null) {
        this.h.error(se);
        if (this.state === S_DEAD) return;
      }
    }
    this.h.frame(r);
  }

  /** HEADERS or CONTINUATION for FrameHandler.fieldBlock: the rules decodePayload and onPayload apply, in place. */
  private onFieldBlock(type: FieldBlockType, b: Uint8Array, start: number, end: number): void {
    const flags = this.flags;
    const streamId = this.streamId;
    let o = start;
    let pad = 0;
    if (type === FrameType.HEADERS) {
      if ((flags & Flag.PADDED) !== 0) pad = b[o++]!;
      let selfDependent = false;
      if ((flags & Flag.PRIORITY) !== 0) {
        selfDependent = (((b[o]! & 0x7f) << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) === streamId;
        o += 5;
      }
      // As decodePayload: padding may not run into the priority fields (RFC 7540 §6.2).
      if (pad > end - o) {
        this.fail(new Http2Error(ErrorCode.PROTOCOL_ERROR, 0, "HEADERS padding exceeds the payload"));
        return;
      }
      if ((flags & Flag.END_HEADERS) === 0) this.blockStream = streamId;
      if (selfDependent) {
        // The frame still follows its stream error: its field block must reach the HPACK decoder (§4.3, §5.4.2).
        this.h.error(new Http2Error(ErrorCode.PROTOCOL_ERROR, streamId, `stream ${streamId} depends on itself`));
        if (this.state === S_DEAD) return;
      }
    } else if ((flags & Flag.END_HEADERS) !== 0) this.blockStream = 0;
    this.h.fieldBlock!(type, streamId, flags, b, o, end - pad);
  }

  private fail(e: Http2Error): void {
    this.stop();
    this.h.error(e);
  }
}

function checkMaxFrameSize(n: number): number {
  if (!Number.isInteger(n) || n < DEFAULT_MAX_FRAME_SIZE || n > MAX_MAX_FRAME_SIZE) {
    throw new RangeError(`http2: max frame size ${n} outside 16384..16777215`);
  }
  return n;
}

/** tchar (RFC 9110 §5.6.2): the octets of an HTTP method. */
const TCHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
