// What an HTTP/1 server connection needs from the proxy around it.

import type { RequestHead } from "../http1/types.ts";
import type { Clock, Net } from "../ports.ts";
import type { AccessLogRecord, Direction, ProxyMetrics } from "../telemetry/types.ts";
import type { Pools } from "./pool.ts";
import type { Endpoint, Service } from "./routes.ts";

/** Where a request goes: a balanced service, a fixed endpoint (the inbound app), or a proxy-made error. */
export type Resolution =
  | { kind: "service"; service: Service }
  | { kind: "endpoint"; endpoint: Endpoint }
  | { kind: "error"; status: number; code: string; message: string };

export interface HttpContext {
  readonly direction: Direction;
  readonly clock: Clock;
  readonly net: Net;
  readonly metrics: ProxyMetrics;
  readonly pools: Pools;
  /** Routes a request by its authority (already taken from the absolute-form target or Host). */
  resolve(authority: string, head: RequestHead): Resolution;
  /** 0 disables the response timeout. */
  responseTimeoutMs(): number;
  /** Append x-forwarded-for / x-forwarded-proto (inbound). */
  forwardedHeaders(): boolean;
  connectTimeoutMs(): number;
  /** null when the access log is off. */
  accessLog(): ((rec: AccessLogRecord) => void) | null;
  /** True once shutdown began: finish the current exchange, then close. */
  draining(): boolean;
  /** Registers an open client connection so shutdown can wait for it; returns the unregister function. */
  track(c: { drain(): void; destroy(): void }): () => void;
}
