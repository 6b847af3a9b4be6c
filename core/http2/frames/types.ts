// The decoded frames the reader delivers, and the error it reports.
//
// Byte fields (data, fragment, debug, PING data) are views: of the chunk passed to FrameReader.push() when the
// frame lay wholly inside it, else of an array allocated for that frame alone. The reader never writes to either
// afterwards, so a view may be kept (queued, forwarded) after the callback returns.
// Reserved bits (of stream ids and the window increment) are masked off; flags a type does not define are ignored.

import type { KnownFrameType } from "./constants.ts";

export interface DataFrame {
  type: 0;
  streamId: number;
  endStream: boolean;
  /** The application data, padding removed. */
  data: Uint8Array;
  /** The whole payload length, Pad Length octet and padding included: what flow control counts (§6.1). */
  flowLength: number;
}

export interface PriorityFields {
  exclusive: boolean;
  dependency: number;
  /** 1..256 (the wire octet plus one). */
  weight: number;
}

export interface HeadersFrame {
  type: 1;
  streamId: number;
  endStream: boolean;
  endHeaders: boolean;
  /** A field block fragment, padding removed. */
  fragment: Uint8Array;
  /** Present when the PRIORITY flag was set (deprecated signal, §5.3.2). */
  priority?: PriorityFields;
}

export interface PriorityFrame extends PriorityFields {
  type: 2;
  streamId: number;
}

export interface RstStreamFrame {
  type: 3;
  streamId: number;
  errorCode: number;
}

export interface SettingsFrame {
  type: 4;
  ack: boolean;
  /** In wire order, unknown identifiers kept (the receiver must ignore them, §6.5.2). Empty for an ACK. */
  settings: Array<[id: number, value: number]>;
}

export interface PushPromiseFrame {
  type: 5;
  streamId: number;
  endHeaders: boolean;
  promisedStreamId: number;
  /** A field block fragment, padding removed. */
  fragment: Uint8Array;
}

export interface PingFrame {
  type: 6;
  ack: boolean;
  /** The 8 octets of opaque data. */
  data: Uint8Array;
}

export interface GoawayFrame {
  type: 7;
  lastStreamId: number;
  errorCode: number;
  debug: Uint8Array;
}

export interface WindowUpdateFrame {
  type: 8;
  /** 0 for the connection window. */
  streamId: number;
  /** 1..2^31-1. */
  increment: number;
}

export interface ContinuationFrame {
  type: 9;
  streamId: number;
  endHeaders: boolean;
  fragment: Uint8Array;
}

/** Tuple-counting helper: the union 0 | 1 | ... | N-1. */
type Below<N extends number, Acc extends number[] = []> = Acc["length"] extends N
  ? Acc[number]
  : Below<N, [...Acc, Acc["length"]]>;

/**
 * Every 8-bit type this codec does not know (10..255). A literal union rather than `number`, so that `type` stays
 * a discriminant: `f.type === FrameType.DATA` narrows to DataFrame.
 */
export type UnknownFrameType = Exclude<Below<256>, KnownFrameType>;

/** A frame of an unknown type; its payload was skipped (§4.1, §5.5: unknown types are ignored). */
export interface UnknownFrame {
  type: UnknownFrameType;
  streamId: number;
  flags: number;
  length: number;
}

export type Frame =
  | DataFrame
  | HeadersFrame
  | PriorityFrame
  | RstStreamFrame
  | SettingsFrame
  | PushPromiseFrame
  | PingFrame
  | GoawayFrame
  | WindowUpdateFrame
  | ContinuationFrame
  | UnknownFrame;

/** A framing error: a connection error when streamId is 0 (§5.4.1), else a stream error on that stream (§5.4.2). */
export class Http2Error extends Error {
  /** An ErrorCode value. */
  readonly code: number;
  readonly streamId: number;
  constructor(code: number, streamId: number, message: string) {
    super(message);
    this.code = code;
    this.streamId = streamId;
    this.name = "Http2Error";
  }
}

/** The error ends the connection (GOAWAY), rather than one stream (RST_STREAM). */
export function isConnectionError(e: unknown): e is Http2Error {
  return e instanceof Http2Error && e.streamId === 0;
}
