// One JSON line per request. Keys are written in a fixed order whatever the record's construction order;
// JSON escaping keeps every line a single line (control characters in paths or authorities are escaped).

import type { AccessLogRecord } from "./types.ts";

/** Milliseconds rounded to microseconds, which keeps lines short without losing useful precision. */
function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function formatAccessLog(rec: AccessLogRecord): string {
  const line = {
    time: rec.time,
    direction: rec.direction,
    method: rec.method,
    authority: rec.authority,
    path: rec.path,
    status: rec.status,
    duration_ms: roundMs(rec.duration_ms),
    endpoint: rec.endpoint,
    request_bytes: rec.request_bytes,
    response_bytes: rec.response_bytes,
    ...(rec.error !== undefined ? { error: rec.error } : {}),
    ...(rec.grpc_status !== undefined ? { grpc_status: rec.grpc_status } : {}),
    ...(rec.protocol !== undefined ? { protocol: rec.protocol } : {}),
    ...(rec.tls !== undefined ? { tls: rec.tls } : {}),
    ...(rec.client_id !== undefined ? { client_id: rec.client_id } : {}),
    ...(rec.server_id !== undefined ? { server_id: rec.server_id } : {}),
  };
  return JSON.stringify(line);
}
