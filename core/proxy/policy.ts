// A route rule compiled for the engine: where its requests go (a weighted split over services), what it does
// to them on the way (filters, faults, rate limit) and how hard it tries (timeouts, retries with backoff).

import type { FaultConfig, RateLimitConfig, RouteRuleConfig, RouteTimeoutsConfig } from "../config/types.ts";
import { FaultInjector } from "../fault/fault.ts";
import { FullJitterBackoff } from "../resilience/backoff.ts";
import { KeyedRateLimiter, TokenBucket, type TakeResult } from "../resilience/rate-limit.ts";
import { RetryPolicy } from "../resilience/retry-policy.ts";
import { WeightedSplit } from "../routing/split.ts";
import type { HeaderModifier, RequestRedirect, UrlRewrite } from "../routing/types.ts";
import type { Direction, ProxyMetrics, RouteMetrics } from "../telemetry/types.ts";

export const NO_TIMEOUTS: RouteTimeoutsConfig = { requestMs: 0, backendRequestMs: 0, idleMs: 0 };

export class RateLimit {
  private readonly shared: TokenBucket | null;
  private readonly keyed: KeyedRateLimiter | null;
  constructor(readonly config: RateLimitConfig) {
    const opts = { ratePerSec: config.requestsPerSecond, burst: config.burst };
    this.shared = config.perClient === "none" ? new TokenBucket(opts) : null;
    this.keyed = config.perClient === "none" ? null : new KeyedRateLimiter({ ...opts, maxKeys: config.maxClients });
  }
  /** `client` is the client's identity or address, as the config asks. */
  take(now: number, client: string): TakeResult {
    return this.shared !== null ? this.shared.tryTake(now) : this.keyed!.tryTake(client, now);
  }
}

export class RulePolicy {
  readonly requestHeaders: HeaderModifier | undefined;
  readonly responseHeaders: HeaderModifier | undefined;
  readonly redirect: RequestRedirect | undefined;
  readonly rewrite: UrlRewrite | undefined;
  readonly retry: RetryPolicy | null;
  readonly backoff: FullJitterBackoff;
  readonly fault: FaultInjector | null;
  /** One backend (no random draw), or a split. */
  private readonly single: string | undefined;
  private readonly split: WeightedSplit | null;
  private readonly metricsByService = new Map<string, RouteMetrics>();

  constructor(
    readonly routeName: string,
    backends: readonly { name: string; weight: number }[],
    filters: RouteRuleConfig["filters"],
    readonly timeouts: RouteTimeoutsConfig,
    retry: RouteRuleConfig["retry"],
    fault: FaultConfig | null,
    readonly rateLimit: RateLimit | null,
    private readonly metrics: ProxyMetrics,
    private readonly direction: Direction,
  ) {
    let reqH: HeaderModifier | undefined;
    let resH: HeaderModifier | undefined;
    let redirect: RequestRedirect | undefined;
    let rewrite: UrlRewrite | undefined;
    for (const f of filters ?? []) {
      if (f.type === "RequestHeaderModifier") reqH = f.requestHeaderModifier;
      else if (f.type === "ResponseHeaderModifier") resH = f.responseHeaderModifier;
      else if (f.type === "RequestRedirect") redirect = f.requestRedirect;
      else rewrite = f.urlRewrite;
    }
    this.requestHeaders = reqH;
    this.responseHeaders = resH;
    this.redirect = redirect;
    this.rewrite = rewrite;
    const positive = backends.filter((b) => b.weight > 0);
    this.single = positive.length === 1 ? positive[0]!.name : undefined;
    this.split = positive.length > 1 ? new WeightedSplit(positive) : null;
    this.retry = retry === null || retry.attempts === 0 ? null : new RetryPolicy({
      conditions: retry.conditions,
      statusCodes: retry.codes,
      methods: retry.methods,
      grpcCodes: retry.grpcCodes,
      maxRetries: retry.attempts,
      maxBufferedBody: retry.bufferLimitBytes,
    });
    this.backoff = new FullJitterBackoff(retry === null ? {} : retry.backoff);
    this.fault = fault === null ? null : new FaultInjector(fault);
  }

  /** The service this request goes to; undefined when no backend has a positive weight (answered with 500). */
  pickBackend(random: () => number): string | undefined {
    return this.single ?? this.split?.pick(random);
  }

  metricsFor(service: string): RouteMetrics {
    let m = this.metricsByService.get(service);
    if (m === undefined) {
      m = this.metrics.route(this.direction, this.routeName, service);
      this.metricsByService.set(service, m);
    }
    return m;
  }
}
