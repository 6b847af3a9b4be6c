// The per-frame rules of RFC 9113 §4.2 and §6: what the 9-octet header alone decides (checked before any payload
// is buffered, so an oversized or malformed frame costs nothing), and what the payload decides (checked while it
// is decoded). Rules that span frames (the preface, CONTINUATION sequencing, SETTINGS_MAX_FRAME_SIZE) are the
// reader's.
//
// Scope follows §4.2: a size error in a frame that can change connection state (a field block carrier, SETTINGS,
// anything on stream 0) is a connection error; the only stream-scoped size error is PRIORITY's.

import { DEFAULT_MAX_FRAME_SIZE, ErrorCode, Flag, FrameType, MAX_MAX_FRAME_SIZE, MAX_WINDOW, SettingId } from "./constants.ts";
import { Http2Error, type Frame, type HeadersFrame, type PriorityFields } from "./types.ts";

const { PROTOCOL_ERROR, FRAME_SIZE_ERROR, FLOW_CONTROL_ERROR } = ErrorCode;

function conn(code: number, message: string): Http2Error {
  return new Http2Error(code, 0, message);
}

/** Header-only rules for a known frame type; null when the payload may be read. */
export function checkHeader(type: number, flags: number, streamId: number, length: number): Http2Error | null {
  switch (type) {
    case FrameType.DATA:
      if (streamId === 0) return conn(PROTOCOL_ERROR, "DATA frame on stream 0"); // §6.1
      if ((flags & Flag.PADDED) !== 0 && length < 1) {
        return conn(FRAME_SIZE_ERROR, "padded DATA frame too short for its Pad Length"); // §4.2
      }
      return null;
    case FrameType.HEADERS: {
      if (streamId === 0) return conn(PROTOCOL_ERROR, "HEADERS frame on stream 0"); // §6.2
      const fixed = ((flags & Flag.PADDED) !== 0 ? 1 : 0) + ((flags & Flag.PRIORITY) !== 0 ? 5 : 0);
      if (length < fixed) return conn(FRAME_SIZE_ERROR, "HEADERS frame too short for its Pad Length and priority"); // §4.2
      return null;
    }
    case FrameType.PRIORITY:
      if (streamId === 0) return conn(PROTOCOL_ERROR, "PRIORITY frame on stream 0"); // §6.3
      if (length !== 5) return new Http2Error(FRAME_SIZE_ERROR, streamId, `PRIORITY frame of ${length} octets, not 5`); // §6.3
      return null;
    case FrameType.RST_STREAM:
      if (streamId === 0) return conn(PROTOCOL_ERROR, "RST_STREAM frame on stream 0"); // §6.4
      if (length !== 4) return conn(FRAME_SIZE_ERROR, `RST_STREAM frame of ${length} octets, not 4`); // §6.4
      return null;
    case FrameType.SETTINGS:
      if (streamId !== 0) return conn(PROTOCOL_ERROR, `SETTINGS frame on stream ${streamId}`); // §6.5
      if ((flags & Flag.ACK) !== 0 && length !== 0) return conn(FRAME_SIZE_ERROR, "SETTINGS ACK with a payload"); // §6.5
      if (length % 6 !== 0) return conn(FRAME_SIZE_ERROR, `SETTINGS frame of ${length} octets, not a multiple of 6`); // §6.5
      return null;
    case FrameType.PUSH_PROMISE:
      if (streamId === 0) return conn(PROTOCOL_ERROR, "PUSH_PROMISE frame on stream 0"); // §6.6
      if (length < ((flags & Flag.PADDED) !== 0 ? 5 : 4)) {
        return conn(FRAME_SIZE_ERROR, "PUSH_PROMISE frame too short for its Promised Stream ID"); // §4.2
      }
      return null;
    case FrameType.PING:
      if (streamId !== 0) return conn(PROTOCOL_ERROR, `PING frame on stream ${streamId}`); // §6.7
      if (length !== 8) return conn(FRAME_SIZE_ERROR, `PING frame of ${length} octets, not 8`); // §6.7
      return null;
    case FrameType.GOAWAY:
      if (streamId !== 0) return conn(PROTOCOL_ERROR, `GOAWAY frame on stream ${streamId}`); // §6.8
      if (length < 8) return conn(FRAME_SIZE_ERROR, `GOAWAY frame of ${length} octets, less than 8`); // §4.2
      return null;
    case FrameType.WINDOW_UPDATE:
      if (length !== 4) return conn(FRAME_SIZE_ERROR, `WINDOW_UPDATE frame of ${length} octets, not 4`); // §6.9
      return null;
    case FrameType.CONTINUATION:
      if (streamId === 0) return conn(PROTOCOL_ERROR, "CONTINUATION frame on stream 0"); // §6.10
      return null;
  }
  return null;
}

/** A view of b[start, end), or b itself when that is all of it. */
function view(b: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === b.length ? b : b.subarray(start, end);
}

/**
 * Decode the payload of a known-type frame whose header passed checkHeader: the octets b[start, end) (a frame in
 * the middle of a read chunk is decoded in place). Byte fields are views of `b`, made only for the fields that
 * carry octets. A HEADERS frame that depends on itself is returned as a frame: see headersStreamError.
 */
export function decodePayload(type: number, flags: number, streamId: number, b: Uint8Array, start = 0, end = b.length): Frame | Http2Error {
  const len = end - start;
  switch (type) {
    case FrameType.DATA: {
      if ((flags & Flag.PADDED) === 0) {
        return { type: 0, streamId, endStream: (flags & Flag.END_STREAM) !== 0, data: view(b, start, end), flowLength: len };
      }
      const pad = b[start]!;
      if (pad >= len) return conn(PROTOCOL_ERROR, "DATA padding fills the whole payload"); // §6.1
      return { type: 0, streamId, endStream: (flags & Flag.END_STREAM) !== 0, data: b.subarray(start + 1, end - pad), flowLength: len };
    }
    case FrameType.HEADERS: {
      let o = start;
      const pad = (flags & Flag.PADDED) !== 0 ? b[o++]! : 0;
      let priority: PriorityFields | undefined;
      if ((flags & Flag.PRIORITY) !== 0) {
        priority = priorityAt(b, o);
        o += 5;
      }
      // §6.2 words it as "padding ≥ payload length"; RFC 7540 §6.2 as "padding that exceeds the size remaining
      // for the fragment", which also catches padding overlapping the priority fields. The latter is applied.
      if (pad > end - o) return conn(PROTOCOL_ERROR, "HEADERS padding exceeds the payload");
      const f: HeadersFrame = {
        type: 1,
        streamId,
        endStream: (flags & Flag.END_STREAM) !== 0,
        endHeaders: (flags & Flag.END_HEADERS) !== 0,
        fragment: view(b, o, end - pad),
      };
      if (priority !== undefined) f.priority = priority;
      return f;
    }
    case FrameType.PRIORITY: {
      const pr = priorityAt(b, start);
      if (pr.dependency === streamId) {
        return new Http2Error(PROTOCOL_ERROR, streamId, `stream ${streamId} depends on itself`); // RFC 7540 §5.3.1
      }
      return { type: 2, streamId, exclusive: pr.exclusive, dependency: pr.dependency, weight: pr.weight };
    }
    case FrameType.RST_STREAM:
      return { type: 3, streamId, errorCode: u32(b, start) };
    case FrameType.SETTINGS: {
      const settings: Array<[number, number]> = [];
      for (let o = start; o < end; o += 6) {
        const id = (b[o]! << 8) | b[o + 1]!;
        const value = u32(b, o + 2);
        const e = settingError(id, value);
        if (e !== null) return e;
        settings.push([id, value]);
      }
      return { type: 4, ack: (flags & Flag.ACK) !== 0, settings };
    }
    case FrameType.PUSH_PROMISE: {
      let o = start;
      const pad = (flags & Flag.PADDED) !== 0 ? b[o++]! : 0;
      const promisedStreamId = u31(b, o);
      o += 4;
      if (pad > end - o) return conn(PROTOCOL_ERROR, "PUSH_PROMISE padding exceeds the payload"); // §6.6
      if (promisedStreamId === 0) return conn(PROTOCOL_ERROR, "PUSH_PROMISE promises stream 0"); // §6.6, §5.1.1
      return {
        type: 5,
        streamId,
        endHeaders: (flags & Flag.END_HEADERS) !== 0,
        promisedStreamId,
        fragment: view(b, o, end - pad),
      };
    }
    case FrameType.PING:
      return { type: 6, ack: (flags & Flag.ACK) !== 0, data: view(b, start, end) };
    case FrameType.GOAWAY:
      return { type: 7, lastStreamId: u31(b, start), errorCode: u32(b, start + 4), debug: b.subarray(start + 8, end) };
    case FrameType.WINDOW_UPDATE: {
      const increment = u31(b, start);
      if (increment === 0) {
        // §6.9: a stream error, except on the connection window.
        return new Http2Error(PROTOCOL_ERROR, streamId, "WINDOW_UPDATE with an increment of 0");
      }
      return { type: 8, streamId, increment };
    }
    case FrameType.CONTINUATION:
      return { type: 9, streamId, endHeaders: (flags & Flag.END_HEADERS) !== 0, fragment: view(b, start, end) };
  }
  throw new RangeError(`http2: decodePayload on unknown frame type ${type}`);
}

/**
 * The stream error of a HEADERS frame that depends on itself (RFC 7540 §5.3.1), or null. The frame must still be
 * decoded, because its field block changes the connection's HPACK state (§4.3).
 */
export function headersStreamError(f: HeadersFrame): Http2Error | null {
  if (f.priority !== undefined && f.priority.dependency === f.streamId) {
    return new Http2Error(PROTOCOL_ERROR, f.streamId, `stream ${f.streamId} depends on itself`);
  }
  return null;
}

/** The value rules of §6.5.2 (and RFC 8441 §3); unknown identifiers are accepted as they are to be ignored. */
function settingError(id: number, value: number): Http2Error | null {
  switch (id) {
    case SettingId.ENABLE_PUSH:
      if (value > 1) return conn(PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH of ${value}, not 0 or 1`);
      break;
    case SettingId.INITIAL_WINDOW_SIZE:
      if (value > MAX_WINDOW) return conn(FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE of ${value}, above 2^31-1`);
      break;
    case SettingId.MAX_FRAME_SIZE:
      if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
        return conn(PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE of ${value}, outside 2^14..2^24-1`);
      }
      break;
    case SettingId.ENABLE_CONNECT_PROTOCOL:
      if (value > 1) return conn(PROTOCOL_ERROR, `SETTINGS_ENABLE_CONNECT_PROTOCOL of ${value}, not 0 or 1`);
      break;
  }
  return null;
}

function priorityAt(p: Uint8Array, o: number): PriorityFields {
  return { exclusive: (p[o]! & 0x80) !== 0, dependency: u31(p, o), weight: p[o + 4]! + 1 };
}

function u32(p: Uint8Array, o: number): number {
  return ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
}

/** A 31-bit field: the reserved top bit is ignored (§4.1). */
function u31(p: Uint8Array, o: number): number {
  return ((p[o]! & 0x7f) << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!;
}
