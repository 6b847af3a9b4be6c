// gRPC status codes (grpc/doc/statuscodes.md) and the mapping of HTTP statuses to them (grpc/doc/http-grpc-status-mapping.md).

export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GrpcStatus;

const NAMES = Object.keys(GrpcStatus) as GrpcStatusName[];

/** "UNAVAILABLE" for 14; undefined outside 0..16. */
export function grpcStatusName(code: number): GrpcStatusName | undefined {
  return NAMES[code];
}

/** A code from its name, any case, with "-" or "_" ("unavailable", "deadline-exceeded"). */
export function grpcStatusFromName(name: string): number | undefined {
  const key = name.toUpperCase().replaceAll("-", "_");
  return key in GrpcStatus ? GrpcStatus[key as GrpcStatusName] : undefined;
}

/** The gRPC status a client derives from a non-200 HTTP status (the spec's table). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** Whether a request is gRPC: its content-type is application/grpc or application/grpc+FORMAT / ;params. */
export function isGrpcContentType(value: string | undefined): boolean {
  if (value === undefined || value.length < 16) return false;
  if (value.slice(0, 16).toLowerCase() !== "application/grpc") return false;
  if (value.length === 16) return true;
  const c = value.charCodeAt(16);
  return c === 0x2b /* + */ || c === 0x3b /* ; */;
}
