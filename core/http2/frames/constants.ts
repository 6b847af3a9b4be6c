// HTTP/2 wire constants (RFC 9113 §3.4, §4, §6, §7, §11; RFC 8441 §3 for ENABLE_CONNECT_PROTOCOL).

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;
export type KnownFrameType = (typeof FrameType)[keyof typeof FrameType];

/** Frame flags; their meaning depends on the frame type (ACK and END_STREAM share a bit). */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes for RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

const ERROR_NAMES: string[] = [];
for (const [name, code] of Object.entries(ErrorCode)) ERROR_NAMES[code] = name;

/** The RFC name of an error code; unknown codes (which carry no special meaning, §7) as `UNKNOWN_0x…`. */
export function errorCodeName(code: number): string {
  return ERROR_NAMES[code] ?? `UNKNOWN_0x${(code >>> 0).toString(16)}`;
}

/** Setting identifiers (RFC 9113 §6.5.2, RFC 8441 §3). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
  ENABLE_CONNECT_PROTOCOL: 0x8,
} as const;

/** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", the first 24 octets a client sends (§3.4). Shared: do not mutate. */
export const CLIENT_PREFACE: Uint8Array = new Uint8Array([
  0x50, 0x52, 0x49, 0x20, 0x2a, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x32,
  0x2e, 0x30, 0x0d, 0x0a, 0x0d, 0x0a, 0x53, 0x4d, 0x0d, 0x0a, 0x0d, 0x0a,
]);

export const FRAME_HEADER_SIZE = 9;
/** Initial SETTINGS_MAX_FRAME_SIZE and the lowest value that may be advertised (§4.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** Largest frame payload the 24-bit length allows, 2^24-1. */
export const MAX_MAX_FRAME_SIZE = 0xffffff;
/** Largest flow-control window and largest stream id, 2^31-1. */
export const MAX_WINDOW = 0x7fffffff;
export const DEFAULT_INITIAL_WINDOW = 65535;
