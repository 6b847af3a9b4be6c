// The grpc-timeout header (gRPC over HTTP/2: "TimeoutValue TimeoutUnit", at most 8 digits, units H M S m u n).

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** Milliseconds, or undefined when malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const v = value.trim();
  if (v.length < 2 || v.length > 9) return undefined;
  const unit = UNIT_MS[v[v.length - 1]!];
  const digits = v.slice(0, -1);
  if (unit === undefined || !/^[0-9]{1,8}$/.test(digits)) return undefined;
  return Number(digits) * unit;
}

/** A grpc-timeout value for `ms` (rounded up, in the finest unit that fits 8 digits). */
export function formatGrpcTimeout(ms: number): string {
  const m = Math.max(0, ms);
  const micros = Math.ceil(m * 1000);
  if (micros < 1e8) return `${micros}u`;
  const millis = Math.ceil(m);
  if (millis < 1e8) return `${millis}m`;
  const secs = Math.ceil(m / 1000);
  if (secs < 1e8) return `${secs}S`;
  return `${Math.min(99_999_999, Math.ceil(m / 60_000))}M`;
}
