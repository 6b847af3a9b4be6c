// HTTP/2 (RFC 9113): the frame layer, HPACK (RFC 7541) and the connection engine.

export * from "./frames/mod.ts";
export * from "./hpack/mod.ts";
export { DEFAULT_HTTP2_LIMITS, Http2Connection, Http2ConnectionError, Http2Stream } from "./connection.ts";
export type {
  Http2ClientRequest,
  Http2ConnectionErrorCode,
  Http2ConnectionHandlers,
  Http2Limits,
  Http2Options,
  Http2RequestHead,
  Http2ResponseHead,
  Http2StreamHandlers,
  Http2StreamState,
} from "./connection.ts";
export { STREAM_HIGH_WATER, STREAM_LOW_WATER } from "./stream.ts";
