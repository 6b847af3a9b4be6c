// The routing table built from a config: authority -> service -> endpoints.

import { RoundRobin } from "../balance/round-robin.ts";
import type { ServiceConfig } from "../config/types.ts";
import type { Addr } from "../ports.ts";

export interface Endpoint {
  addr: Addr;
  /** "host:port" (IPv6 in brackets), the pool key and metric label. */
  key: string;
}

export function endpointKey(a: Addr): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export class Service {
  readonly name: string;
  readonly endpoints: Endpoint[];
  private readonly balancer: RoundRobin<Endpoint>;
  constructor(readonly config: ServiceConfig) {
    this.name = config.name;
    this.endpoints = config.endpoints.map((addr) => ({ addr, key: endpointKey(addr) }));
    this.balancer = new RoundRobin(this.endpoints);
  }
  pick(): Endpoint | undefined {
    return this.balancer.pick();
  }
}

export class RouteTable {
  private readonly byHost = new Map<string, Service>();
  private readonly byServiceName = new Map<string, Service>();
  constructor(services: readonly ServiceConfig[]) {
    for (const cfg of services) {
      const svc = new Service(cfg);
      this.byServiceName.set(cfg.name, svc);
      for (const h of cfg.hostnames) this.byHost.set(h.toLowerCase(), svc);
    }
  }
  /** Matches "host:port" exactly first, then "host" alone. */
  byAuthority(authority: string): Service | undefined {
    const a = authority.toLowerCase();
    const exact = this.byHost.get(a);
    if (exact) return exact;
    const colon = a.lastIndexOf(":");
    if (colon > 0 && a.indexOf("]") < colon) return this.byHost.get(a.slice(0, colon));
    return undefined;
  }
  byName(name: string): Service | undefined {
    return this.byServiceName.get(name);
  }
  /** Every endpoint key in the table, to let pools drop connections to endpoints that are gone. */
  endpointKeys(): Set<string> {
    const keys = new Set<string>();
    for (const s of this.byServiceName.values()) for (const e of s.endpoints) keys.add(e.key);
    return keys;
  }
}
