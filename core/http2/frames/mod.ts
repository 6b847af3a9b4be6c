// The HTTP/2 frame layer: constants, decoded frame types, the incremental reader and the serializers.

export {
  CLIENT_PREFACE,
  DEFAULT_INITIAL_WINDOW,
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  errorCodeName,
  Flag,
  FRAME_HEADER_SIZE,
  FrameType,
  MAX_MAX_FRAME_SIZE,
  MAX_WINDOW,
  SettingId,
} from "./constants.ts";
export type { ErrorCodeName, KnownFrameType } from "./constants.ts";
export { Http2Error, isConnectionError } from "./types.ts";
export type {
  ContinuationFrame,
  DataFrame,
  Frame,
  GoawayFrame,
  HeadersFrame,
  PingFrame,
  PriorityFields,
  PriorityFrame,
  PushPromiseFrame,
  RstStreamFrame,
  SettingsFrame,
  UnknownFrame,
  UnknownFrameType,
  WindowUpdateFrame,
} from "./types.ts";
export { FrameReader } from "./reader.ts";
export type { FieldBlockType, FrameHandler, FrameReaderOptions } from "./reader.ts";
export {
  encodeData,
  encodeFrame,
  encodeGoaway,
  encodeHeaders,
  encodePing,
  encodePriority,
  encodePushPromise,
  encodeRstStream,
  encodeSettings,
  encodeSettingsAck,
  encodeWindowUpdate,
  frameHeader,
  SETTINGS_ACK,
} from "./writer.ts";
export type { HeadersOptions } from "./writer.ts";
