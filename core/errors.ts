// One error class with stable codes; classify by code, never by message.

export type ErrorCode =
  | "CONNECT_REFUSED"
  | "CONNECT_TIMEOUT"
  | "CONNECT_RESET"
  | "CONNECT_FAILED"
  | "UPSTREAM_RESET"
  | "UPSTREAM_MALFORMED"
  | "RESPONSE_TIMEOUT"
  | "NO_ENDPOINTS"
  | "NO_ROUTE"
  | "DETECT_TIMEOUT"
  | "PROTOCOL_UNSUPPORTED"
  | "CONFIG_INVALID"
  | "TLS_FAILED"
  | "TLS_IDENTITY_MISMATCH"
  | "SHUTTING_DOWN";

export class MeshletError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "MeshletError";
  }
}

export function isMeshletError(e: unknown, code?: ErrorCode): e is MeshletError {
  return e instanceof MeshletError && (code === undefined || e.code === code);
}
