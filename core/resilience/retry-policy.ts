// Which outcomes a route retries: the policy half of "mechanism apart from policy" (linkerd's
// `Policy { is_retryable }`). Pure: it classifies, the retry loop acts (with a backoff and a budget).

import type { ErrorCode } from "../errors.ts";

export type RetryCondition = "5xx" | "gateway-error" | "connect-failure" | "reset";

/**
 * What one try ended with. Failures without a response count under the status the proxy would answer with
 * (as in Envoy): connect failure 503, reset 502, per-try timeout 504, so "5xx" and "gateway-error" cover them.
 */
export type TryOutcome =
  | { readonly kind: "response"; readonly status: number }
  /** A gRPC response that ended in its head (trailers-only) with a non-OK grpc-status. */
  | { readonly kind: "grpc"; readonly code: number }
  | { readonly kind: "connect-failure" }
  | { readonly kind: "reset" }
  | { readonly kind: "timeout" }
  | { readonly kind: "error" };

export interface RetryPolicyOptions {
  readonly conditions: readonly RetryCondition[];
  /** Further statuses that are retried (e.g. 429, 409). */
  readonly statusCodes: readonly number[];
  /** Methods that may be retried; upper case. */
  readonly methods: readonly string[];
  /** gRPC status codes retried. */
  readonly grpcCodes: readonly number[];
  /** Retries after the first try (0 turns retries off). */
  readonly maxRetries: number;
  /** Largest request body that is buffered so it can be replayed, in bytes. */
  readonly maxBufferedBody: number;
}

export const IDEMPOTENT_METHODS: readonly string[] = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];

export const DEFAULT_RETRY_POLICY: RetryPolicyOptions = {
  conditions: ["5xx", "connect-failure", "reset"],
  statusCodes: [],
  methods: IDEMPOTENT_METHODS,
  grpcCodes: [14],
  maxRetries: 1,
  maxBufferedBody: 64 * 1024,
};

const GATEWAY_ERRORS = new Set([502, 503, 504]);

/** Maps a MeshletError code to the outcome of a try. */
export function outcomeOfError(code: ErrorCode): TryOutcome {
  switch (code) {
    case "CONNECT_REFUSED":
    case "CONNECT_TIMEOUT":
    case "CONNECT_RESET":
    case "CONNECT_FAILED":
    case "TLS_FAILED":
    case "TLS_IDENTITY_MISMATCH":
      return { kind: "connect-failure" };
    case "UPSTREAM_RESET":
      return { kind: "reset" };
    case "RESPONSE_TIMEOUT":
      return { kind: "timeout" };
    default:
      return { kind: "error" };
  }
}

export interface RetryRequest {
  readonly method: string;
  /** Body bytes: the content-length, or what has been buffered; `undefined` = unknown (a stream not buffered). */
  readonly bodyBytes: number | undefined;
}

export class RetryPolicy {
  readonly options: RetryPolicyOptions;
  private readonly conditions: ReadonlySet<RetryCondition>;
  private readonly statuses: ReadonlySet<number>;
  private readonly methods: ReadonlySet<string>;
  private readonly grpcCodes: ReadonlySet<number>;

  constructor(opts: Partial<RetryPolicyOptions> = {}) {
    const o = { ...DEFAULT_RETRY_POLICY, ...opts };
    if (!(Number.isInteger(o.maxRetries) && o.maxRetries >= 0)) throw new RangeError(`maxRetries ${o.maxRetries}`);
    if (!(o.maxBufferedBody >= 0)) throw new RangeError(`maxBufferedBody ${o.maxBufferedBody}`);
    this.options = o;
    this.conditions = new Set(o.conditions);
    this.statuses = new Set(o.statusCodes);
    this.methods = new Set(o.methods.map((m) => m.toUpperCase()));
    this.grpcCodes = new Set(o.grpcCodes);
  }

  isRetryableMethod(method: string): boolean {
    return this.methods.has(method.toUpperCase());
  }

  /** Whether a body of `bytes` may be buffered for replay. Unknown length: buffer and ask again as it grows. */
  bodyFits(bytes: number | undefined): boolean {
    return bytes !== undefined && bytes <= this.options.maxBufferedBody;
  }

  /** Whether the outcome matches a condition; says nothing about method, body or count. */
  isRetryableOutcome(outcome: TryOutcome): boolean {
    const c = this.conditions;
    switch (outcome.kind) {
      case "response": {
        const s = outcome.status;
        if (this.statuses.has(s)) return true;
        if (c.has("5xx") && s >= 500 && s <= 599) return true;
        return c.has("gateway-error") && GATEWAY_ERRORS.has(s);
      }
      case "grpc":
        return this.grpcCodes.has(outcome.code);
      case "connect-failure":
        return c.has("connect-failure") || c.has("5xx") || c.has("gateway-error"); // answered as 502/503
      case "reset":
        return c.has("reset") || c.has("5xx") || c.has("gateway-error"); // answered as 502
      case "timeout":
        return c.has("5xx") || c.has("gateway-error"); // answered as 504
      case "error":
        return false;
    }
  }

  /** Whether to try again after `retriesDone` retries ended in `outcome`. The budget is asked after this. */
  shouldRetry(req: RetryRequest, outcome: TryOutcome, retriesDone: number): boolean {
    return (
      retriesDone < this.options.maxRetries &&
      this.isRetryableMethod(req.method) &&
      this.bodyFits(req.bodyBytes) &&
      this.isRetryableOutcome(outcome)
    );
  }
}
