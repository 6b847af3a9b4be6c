// HTTP/2 frame serializers (RFC 9113 §4.1, §6). Each returns one new Uint8Array, except the shared SETTINGS_ACK.
// Arguments are checked (RangeError): a malformed frame from us would be a connection error at the peer.
// Padding octets are zero; undefined flags are never set.

import { DEFAULT_MAX_FRAME_SIZE, Flag, FrameType, MAX_MAX_FRAME_SIZE, MAX_WINDOW } from "./constants.ts";
import type { PriorityFields } from "./types.ts";

const HEADER_SIZE = 9;

/** The 9-octet frame header, for a payload written separately (e.g. a DATA payload sent as its own chunk). */
export function frameHeader(length: number, type: number, flags: number, streamId: number): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  putHeader(out, 0, length, type, flags, streamId);
  return out;
}

/** Any frame from its parts, e.g. an extension frame. */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  putHeader(out, 0, payload.length, type, flags, streamId);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** A DATA frame in one array (copies `data`; for large payloads write frameHeader() and the data separately). */
export function encodeData(streamId: number, data: Uint8Array, endStream: boolean, padLength?: number): Uint8Array {
  checkStream(streamId);
  const padded = padLength !== undefined;
  const pad = padded ? checkPad(padLength) + 1 : 0;
  const out = new Uint8Array(HEADER_SIZE + pad + data.length);
  const flags = (endStream ? Flag.END_STREAM : 0) | (padded ? Flag.PADDED : 0);
  putHeader(out, 0, pad + data.length, FrameType.DATA, flags, streamId);
  let o = HEADER_SIZE;
  if (padded) out[o++] = padLength;
  out.set(data, o);
  return out;
}

export interface HeadersOptions {
  /** Sets the PRIORITY flag and fields (deprecated signal, §5.3.2). */
  priority?: PriorityFields;
  /** Sets the PADDED flag with this many (0..255) padding octets. */
  padLength?: number;
}

/**
 * A HEADERS frame followed by as many CONTINUATION frames as the field block needs, each payload at most
 * `maxFrameSize` (the peer's SETTINGS_MAX_FRAME_SIZE), in one array.
 */
export function encodeHeaders(
  streamId: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE,
  opts?: HeadersOptions,
): Uint8Array {
  checkStream(streamId);
  const pr = opts?.priority;
  let prefix: Uint8Array | null = null;
  if (pr !== undefined) {
    prefix = new Uint8Array(5);
    putPriority(prefix, 0, pr);
  }
  const flags = (endStream ? Flag.END_STREAM : 0) | (pr !== undefined ? Flag.PRIORITY : 0);
  return encodeBlock(FrameType.HEADERS, flags, streamId, prefix, block, maxFrameSize, opts?.padLength);
}

/** A PUSH_PROMISE frame followed by the CONTINUATION frames the field block needs, in one array. */
export function encodePushPromise(
  streamId: number,
  promisedStreamId: number,
  block: Uint8Array,
  maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE,
  padLength?: number,
): Uint8Array {
  checkStream(streamId);
  checkStream(promisedStreamId);
  const prefix = new Uint8Array(4);
  putU32(prefix, 0, promisedStreamId);
  return encodeBlock(FrameType.PUSH_PROMISE, 0, streamId, prefix, block, maxFrameSize, padLength);
}

export function encodePriority(streamId: number, priority: PriorityFields): Uint8Array {
  checkStream(streamId);
  const out = new Uint8Array(HEADER_SIZE + 5);
  putHeader(out, 0, 5, FrameType.PRIORITY, 0, streamId);
  putPriority(out, HEADER_SIZE, priority);
  return out;
}

export function encodeRstStream(streamId: number, errorCode: number): Uint8Array {
  checkStream(streamId);
  const out = new Uint8Array(HEADER_SIZE + 4);
  putHeader(out, 0, 4, FrameType.RST_STREAM, 0, streamId);
  putU32(out, HEADER_SIZE, checkU32(errorCode, "error code"));
  return out;
}

/** A SETTINGS frame with the given [id, value] pairs, in order. */
export function encodeSettings(settings: ReadonlyArray<readonly [id: number, value: number]>): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + 6 * settings.length);
  putHeader(out, 0, 6 * settings.length, FrameType.SETTINGS, 0, 0);
  let o = HEADER_SIZE;
  for (const [id, value] of settings) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new RangeError(`http2: setting id ${id} out of range`);
    out[o] = id >>> 8;
    out[o + 1] = id & 0xff;
    putU32(out, o + 2, checkU32(value, "setting value"));
    o += 6;
  }
  return out;
}

/** The SETTINGS ACK frame. Shared by every caller: do not mutate. */
export const SETTINGS_ACK: Uint8Array = frameHeader(0, FrameType.SETTINGS, Flag.ACK, 0);

/** The shared SETTINGS_ACK (9 fixed octets; nothing to build). */
export function encodeSettingsAck(): Uint8Array {
  return SETTINGS_ACK;
}

/** A PING, or with `ack` the response that echoes the 8 octets of the PING received (§6.7). */
export function encodePing(data: Uint8Array, ack: boolean): Uint8Array {
  if (data.length !== 8) throw new RangeError(`http2: PING data of ${data.length} octets, not 8`);
  const out = new Uint8Array(HEADER_SIZE + 8);
  putHeader(out, 0, 8, FrameType.PING, ack ? Flag.ACK : 0, 0);
  out.set(data, HEADER_SIZE);
  return out;
}

export function encodeGoaway(lastStreamId: number, errorCode: number, debug?: Uint8Array): Uint8Array {
  checkStreamId(lastStreamId);
  const n = 8 + (debug?.length ?? 0);
  const out = new Uint8Array(HEADER_SIZE + n);
  putHeader(out, 0, n, FrameType.GOAWAY, 0, 0);
  putU32(out, HEADER_SIZE, lastStreamId);
  putU32(out, HEADER_SIZE + 4, checkU32(errorCode, "error code"));
  if (debug !== undefined) out.set(debug, HEADER_SIZE + 8);
  return out;
}

/** streamId 0 updates the connection window. */
export function encodeWindowUpdate(streamId: number, increment: number): Uint8Array {
  checkStreamId(streamId);
  if (!Number.isInteger(increment) || increment < 1 || increment > MAX_WINDOW) {
    throw new RangeError(`http2: window increment ${increment} outside 1..2^31-1`);
  }
  const out = new Uint8Array(HEADER_SIZE + 4);
  putHeader(out, 0, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  putU32(out, HEADER_SIZE, increment);
  return out;
}

/**
 * HEADERS/PUSH_PROMISE (pad length, `prefix` fields, first fragment, padding) then CONTINUATIONs, END_HEADERS
 * on the last frame.
 */
function encodeBlock(
  type: number,
  flags: number,
  streamId: number,
  prefix: Uint8Array | null,
  block: Uint8Array,
  maxFrameSize: number,
  padLength: number | undefined,
): Uint8Array {
  if (!Number.isInteger(maxFrameSize) || maxFrameSize < 1 || maxFrameSize > MAX_MAX_FRAME_SIZE) {
    throw new RangeError(`http2: max frame size ${maxFrameSize} out of range`);
  }
  const padded = padLength !== undefined;
  const pad = padded ? checkPad(padLength) : 0;
  const fixed = (padded ? 1 + pad : 0) + (prefix?.length ?? 0);
  if (fixed > maxFrameSize) throw new RangeError("http2: padding and priority exceed the max frame size");
  const first = Math.min(block.length, maxFrameSize - fixed);
  const rest = block.length - first;
  const continuations = Math.ceil(rest / maxFrameSize);
  const out = new Uint8Array(HEADER_SIZE + fixed + first + continuations * HEADER_SIZE + rest);

  const f = flags | (padded ? Flag.PADDED : 0) | (continuations === 0 ? Flag.END_HEADERS : 0);
  putHeader(out, 0, fixed + first, type, f, streamId);
  let o = HEADER_SIZE;
  if (padded) out[o++] = pad;
  if (prefix !== null) {
    out.set(prefix, o);
    o += prefix.length;
  }
  out.set(block.subarray(0, first), o);
  o += first + pad;

  let b = first;
  for (let i = 0; i < continuations; i++) {
    const n = Math.min(maxFrameSize, block.length - b);
    const last = i === continuations - 1;
    putHeader(out, o, n, FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, streamId);
    o += HEADER_SIZE;
    out.set(block.subarray(b, b + n), o);
    o += n;
    b += n;
  }
  return out;
}

function putHeader(out: Uint8Array, o: number, length: number, type: number, flags: number, streamId: number): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_MAX_FRAME_SIZE) {
    throw new RangeError(`http2: frame payload of ${length} octets exceeds 2^24-1`);
  }
  checkStreamId(streamId);
  putFrameHeader(out, o, length, type, flags, streamId);
}

/** A 9-octet frame header at out[o], unchecked (the hot path passes values it already knows are valid). */
export function putFrameHeader(out: Uint8Array, o: number, length: number, type: number, flags: number, streamId: number): void {
  out[o] = length >>> 16;
  out[o + 1] = (length >>> 8) & 0xff;
  out[o + 2] = length & 0xff;
  out[o + 3] = type;
  out[o + 4] = flags;
  out[o + 5] = streamId >>> 24;
  out[o + 6] = (streamId >>> 16) & 0xff;
  out[o + 7] = (streamId >>> 8) & 0xff;
  out[o + 8] = streamId & 0xff;
}

function putPriority(out: Uint8Array, o: number, p: PriorityFields): void {
  checkStreamId(p.dependency);
  if (!Number.isInteger(p.weight) || p.weight < 1 || p.weight > 256) {
    throw new RangeError(`http2: priority weight ${p.weight} outside 1..256`);
  }
  putU32(out, o, p.dependency);
  if (p.exclusive) out[o] |= 0x80;
  out[o + 4] = p.weight - 1;
}

function putU32(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}

function checkStreamId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_WINDOW) throw new RangeError(`http2: stream id ${id} outside 0..2^31-1`);
}

/** A frame that must be on a stream (not 0). */
function checkStream(id: number): void {
  checkStreamId(id);
  if (id === 0) throw new RangeError("http2: this frame type needs a stream id other than 0");
}

function checkPad(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new RangeError(`http2: pad length ${n} outside 0..255`);
  return n;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`http2: ${what} ${v} outside 0..2^32-1`);
  return v;
}
