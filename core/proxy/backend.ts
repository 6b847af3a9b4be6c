// A service as the engine balances it: its endpoints behind the configured balancer, a failure-accrual breaker
// per endpoint, the service's retry budget and its max-pending bound. Ejected endpoints leave the balancer; when
// an ejected endpoint's probation ends, the next request goes to it as the probe, and a success readmits it.
// State (load estimates, breakers, the budget) survives config updates for the endpoints that stay.

import { createBalancer } from "../balance/factory.ts";
import type { Balancer } from "../balance/types.ts";
import type { BalancerConfig, FailureAccrualConfig, ServiceConfig } from "../config/types.ts";
import type { Addr } from "../ports.ts";
import { FailureAccrual, type FailureAccrualOptions } from "../resilience/failure-accrual.ts";
import { LoadShed } from "../resilience/load-shed.ts";
import { RetryBudget } from "../resilience/retry-budget.ts";
import type { EndpointGauge, ServiceMetrics } from "../telemetry/types.ts";

export interface Endpoint {
  readonly addr: Addr;
  /** "host:port" (IPv6 in brackets), the pool key and metric label. */
  readonly key: string;
  readonly weight?: number;
  /** A meshed endpoint's SPIFFE ID: reached over mTLS and required to present exactly this identity. */
  readonly identity?: string;
  /** What pooled connections are keyed by: the key, and the identity they were verified for. */
  readonly pool: string;
}

export function endpointKey(a: Addr): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** What a pick returned when it returned no endpoint. */
export const NO_ENDPOINTS = 0;
export const FAIL_FAST = 1;
export type PickFailure = typeof NO_ENDPOINTS | typeof FAIL_FAST;

export class Backend {
  readonly name: string;
  config: ServiceConfig;
  endpoints: Endpoint[] = [];
  readonly budget: RetryBudget;
  readonly shed: LoadShed;
  private balancer!: Balancer<Endpoint>;
  private breakers = new Map<string, FailureAccrual>();
  /** Endpoints whose breaker is not closed. */
  private ejected = 0;
  /** The earliest time an ejected endpoint's probe is due (Infinity: none). */
  private nextProbeAt = Number.POSITIVE_INFINITY;

  constructor(
    config: ServiceConfig,
    private readonly random: () => number,
    now: number,
    readonly metrics: ServiceMetrics,
  ) {
    this.name = config.name;
    this.config = config;
    this.budget = new RetryBudget(config.retryBudget);
    this.shed = new LoadShed(config.maxPending);
    this.apply(config, now, true, true);
  }

  get balancerKind(): string {
    return this.config.balancer.kind;
  }

  /** Applies a new config of the same service, keeping what was learned about endpoints that stay. */
  update(config: ServiceConfig, now: number): void {
    const newBalancer = !sameJson(config.balancer, this.config.balancer);
    const newBreakers = !sameJson(config.failureAccrual, this.config.failureAccrual);
    if (!sameJson(config.retryBudget, this.config.retryBudget)) this.budget.reconfigure(config.retryBudget);
    this.shed.setMaxPending(config.maxPending);
    this.config = config;
    this.apply(config, now, newBalancer, newBreakers);
  }

  /**
   * An endpoint for one request: the probe of an ejected endpoint whose probation is over, else the balancer's
   * choice. NO_ENDPOINTS when the service has none, FAIL_FAST when every one is ejected. Traffic that will not
   * report its outcome with onTryEnd (opaque TCP, CONNECT tunnels) must not take a probe: `probe` false.
   */
  pick(now: number, hashKey: string | undefined, probe = true): Endpoint | PickFailure {
    if (probe && now >= this.nextProbeAt) {
      const probe = this.takeProbe(now);
      if (probe !== undefined) return probe;
    }
    const e = this.balancer.pick(hashKey === undefined ? { now } : { now, hashKey });
    if (e !== undefined) return e;
    return this.endpoints.length === 0 ? NO_ENDPOINTS : FAIL_FAST;
  }

  onTryStart(e: Endpoint, now: number): void {
    this.balancer.onStart(e, now);
  }

  /** A try ended; `ok` false for connect failures, resets, timeouts and 5xx responses. */
  onTryEnd(e: Endpoint, now: number, ok: boolean, rttMs: number | undefined): void {
    this.balancer.onEnd(e, now, rttMs === undefined ? { ok } : { ok, rttMs });
    const b = this.breakers.get(e.key);
    if (b === undefined) return;
    const before = b.state;
    if (ok) {
      b.onSuccess(now);
      if (before === "half-open" && b.state === "closed") this.refresh(now);
    } else if (b.onFailure(now)) {
      this.metrics.ejected(e.key);
      this.refresh(now);
    }
  }

  /** A try the proxy cut short (the client left): neither a success nor a failure of the endpoint. */
  onTryCancel(e: Endpoint, now: number): void {
    this.balancer.onEnd(e, now, { ok: true });
    const b = this.breakers.get(e.key);
    if (b !== undefined && b.state === "half-open") {
      b.cancelProbe(now);
      this.refresh(now);
    }
  }

  /** The breaker state of every endpoint, for the metrics gauges. */
  *gauges(): IterableIterator<EndpointGauge> {
    for (const e of this.endpoints) {
      yield { service: this.name, balancer: this.config.balancer.kind, endpoint: e.key, breaker: this.breakers.get(e.key)?.state ?? "closed" };
    }
  }

  private takeProbe(now: number): Endpoint | undefined {
    for (const e of this.endpoints) {
      const b = this.breakers.get(e.key);
      if (b !== undefined && b.tryProbe(now)) {
        this.refresh(now);
        return e;
      }
    }
    this.refresh(now);
    return undefined;
  }

  private apply(config: ServiceConfig, now: number, newBalancer: boolean, newBreakers: boolean): void {
    this.endpoints = config.endpoints.map((a) => {
      const key = endpointKey(a);
      const e: { addr: Addr; key: string; pool: string; weight?: number; identity?: string } = {
        addr: { host: a.host, port: a.port },
        key,
        pool: a.identity === undefined ? key : `${key} ${a.identity}`,
      };
      if (a.weight !== undefined) e.weight = a.weight;
      if (a.identity !== undefined) e.identity = a.identity;
      return e;
    });
    const fa = config.failureAccrual;
    const next = new Map<string, FailureAccrual>();
    if (fa !== null) {
      for (const e of this.endpoints) {
        next.set(e.key, (!newBreakers && this.breakers.get(e.key)) || new FailureAccrual(this.random, accrualOptions(fa)));
      }
    }
    this.breakers = next;
    if (newBalancer) {
      const ready = this.endpoints.filter((e) => next.get(e.key)?.state !== "open" && next.get(e.key)?.state !== "half-open");
      this.balancer = createBalancer(config.balancer.kind, ready, balancerOptions(config.balancer, this.random, now));
    }
    this.refresh(now);
  }

  /** Puts the endpoints with a closed breaker into the balancer and finds the next probe time. */
  private refresh(_now: number): void {
    const ready: Endpoint[] = [];
    let next = Number.POSITIVE_INFINITY;
    let ejected = 0;
    for (const e of this.endpoints) {
      const b = this.breakers.get(e.key);
      if (b === undefined || b.state === "closed") {
        ready.push(e);
        continue;
      }
      ejected++;
      const at = b.probeAt;
      if (at !== undefined && at < next) next = at;
    }
    this.ejected = ejected;
    this.nextProbeAt = next;
    this.balancer.update(ready);
  }

  get ejectedCount(): number {
    return this.ejected;
  }
}

function accrualOptions(fa: FailureAccrualConfig): FailureAccrualOptions {
  return { maxFailures: fa.consecutiveFailures, minBackoffMs: fa.minBackoffMs, maxBackoffMs: fa.maxBackoffMs, jitter: fa.jitter };
}

function balancerOptions(b: BalancerConfig, random: () => number, now: number) {
  return b.kind === "peak-ewma" ? { random, now, ewma: { defaultRttMs: b.defaultRttMs, decayMs: b.decayMs } } : { random, now };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
