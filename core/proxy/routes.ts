// The routing state built from a config: HTTPRoutes compiled per entry point (the outbound listener by
// hostname, each service listener by parentRef), a default rule per service, and the services' backends.
// A new table takes over the backends, breakers, budgets and rate-limit buckets of the one it replaces.

import type { MeshletConfig, RouteConfig } from "../config/types.ts";
import { compileRoutes, hostOf, type MatchRequest, type RouteTable } from "../routing/match.ts";
import type { EndpointGauge, ProxyMetrics } from "../telemetry/types.ts";
import { Backend } from "./backend.ts";
import { NO_TIMEOUTS, RateLimit, RulePolicy } from "./policy.ts";

export { endpointKey, type Endpoint } from "./backend.ts";

export interface RouteHit {
  readonly policy: RulePolicy;
  /** The PathPrefix that matched, for URLRewrite/RequestRedirect ReplacePrefixMatch. */
  readonly matchedPrefix: string | undefined;
}

export interface TrafficDeps {
  random: () => number;
  now: number;
  metrics: ProxyMetrics;
}

export const DEFAULT_ROUTE = "default";

export class TrafficTable {
  readonly backends = new Map<string, Backend>();
  private readonly byHost = new Map<string, Backend>();
  private readonly outbound: RouteTable | null;
  private readonly perService = new Map<string, RouteTable>();
  private readonly defaults = new Map<string, RouteHit>();
  private readonly policies = new Map<object, RulePolicy>();
  private readonly rateLimits = new Map<string, RateLimit>();

  constructor(config: MeshletConfig, previous: TrafficTable | null, deps: TrafficDeps) {
    for (const cfg of config.services) {
      const old = previous?.backends.get(cfg.name);
      let b: Backend;
      if (old !== undefined) {
        old.update(cfg, deps.now);
        b = old;
      } else b = new Backend(cfg, deps.random, deps.now, deps.metrics.service("outbound", cfg.name));
      this.backends.set(cfg.name, b);
      for (const h of cfg.hostnames) this.byHost.set(h.toLowerCase(), b);
      const policy = new RulePolicy(DEFAULT_ROUTE, [{ name: cfg.name, weight: 1 }], undefined, NO_TIMEOUTS, null, null, null,
        deps.metrics, "outbound");
      this.defaults.set(cfg.name, { policy, matchedPrefix: undefined });
    }

    for (const route of config.routes) {
      route.rules.forEach((rule, i) => {
        let limit: RateLimit | null = null;
        if (rule.rateLimit !== null) {
          const key = `${route.name}#${i}#${JSON.stringify(rule.rateLimit)}`;
          limit = previous?.rateLimits.get(key) ?? new RateLimit(rule.rateLimit);
          this.rateLimits.set(key, limit);
        }
        const backends = rule.backendRefs.length > 0 || route.parentRefs.length !== 1
          ? rule.backendRefs
          : [{ name: route.parentRefs[0]!, weight: 1 }];
        this.policies.set(rule, new RulePolicy(route.name, backends, rule.filters, rule.timeouts, rule.retry, rule.fault,
          limit, deps.metrics, "outbound"));
      });
    }

    // The outbound listener matches routes by hostname: the route's own and its parents'. A route attached to
    // services without hostnames applies only on those services' listeners.
    const outboundRoutes: RouteConfig[] = [];
    for (const r of config.routes) {
      const hosts = new Set(r.hostnames);
      // Route hostnames carry no port: a parent's "api:8080" applies as "api".
      for (const p of r.parentRefs) for (const h of this.backends.get(p)?.config.hostnames ?? []) hosts.add(hostOf(h));
      if (hosts.size === 0 && r.parentRefs.length > 0) continue;
      outboundRoutes.push({ ...r, hostnames: [...hosts] });
    }
    this.outbound = outboundRoutes.length > 0 ? compileRoutes(outboundRoutes) : null;
    for (const svc of config.services) {
      if (svc.listen === undefined) continue;
      const attached = config.routes.filter((r) => r.parentRefs.includes(svc.name)).map((r) => ({ ...r, hostnames: [] }));
      if (attached.length > 0) this.perService.set(svc.name, compileRoutes(attached));
    }
  }

  /**
   * The rule for a request: a matching route, else the default rule of the service the authority (outbound) or
   * the listener (`service`) names; undefined when nothing routes it.
   */
  route(service: string | null, req: MatchRequest): RouteHit | undefined {
    const table = service === null ? this.outbound : this.perService.get(service);
    if (table !== null && table !== undefined) {
      const hit = table.match(req);
      if (hit !== undefined) return { policy: this.policies.get(hit.rule)!, matchedPrefix: hit.matchedPrefix };
    }
    const b = service === null ? this.byAuthority(req.authority) : this.backends.get(service);
    if (b === undefined) return undefined;
    return this.defaults.get(b.name);
  }

  /** Matches "host:port" exactly first, then "host" alone. */
  byAuthority(authority: string): Backend | undefined {
    const a = authority.toLowerCase();
    const exact = this.byHost.get(a);
    if (exact) return exact;
    const colon = a.lastIndexOf(":");
    if (colon > 0 && a.indexOf("]") < colon) return this.byHost.get(a.slice(0, colon));
    return undefined;
  }

  byName(name: string): Backend | undefined {
    return this.backends.get(name);
  }

  /** Every endpoint key in the table, to let pools drop connections to endpoints that are gone. */
  /** The pool keys (Endpoint.pool) of every configured endpoint. */
  endpointKeys(): Set<string> {
    const keys = new Set<string>();
    for (const b of this.backends.values()) for (const e of b.endpoints) keys.add(e.pool);
    return keys;
  }

  *gauges(): IterableIterator<EndpointGauge> {
    for (const b of this.backends.values()) yield* b.gauges();
  }
}
