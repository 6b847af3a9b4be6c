// The inbound port's authorization: per-route policies (matched with the HTTPRoute rules and precedence) take
// precedence over the port's policy for the requests they match; opaque TCP is decided by the port's policy.

import type { PortAuthzPolicy } from "../config/types.ts";
import { compileAuthz, type AuthzDecision, type CompiledAuthz } from "../identity/authz.ts";
import { compileRoutes, type MatchRequest, type RouteTable } from "../routing/match.ts";
import type { ClientPeer } from "./peer.ts";

export interface AuthzOutcome {
  readonly allowed: boolean;
  /** The route policy that applied, or "" for the port's. */
  readonly route: string;
  /** The rule that allowed the client, or "default". */
  readonly rule: string;
}

export interface InboundAuthz {
  http(req: MatchRequest, peer: ClientPeer): AuthzOutcome;
  tcp(peer: ClientPeer): AuthzOutcome;
}

export function compileInboundAuthz(p: PortAuthzPolicy): InboundAuthz {
  const port = withRoute(compileAuthz(p), "");
  const routes = new Map<string, ReturnType<typeof withRoute>>();
  for (const r of p.routes) routes.set(r.name, withRoute(compileAuthz(r), r.name));
  const table: RouteTable | null = p.routes.length === 0
    ? null
    : compileRoutes(p.routes.map((r, i) => ({ name: r.name, hostnames: [], rules: [{ matches: r.matches }], createdAt: i })));
  return {
    http(req, peer) {
      const hit = table?.match(req);
      return (hit === undefined ? port : routes.get(hit.route.name)!)(peer);
    },
    tcp: port,
  };
}

/** Decisions of one policy with the route added; compileAuthz returns one frozen decision per rule, reused here. */
function withRoute(authz: CompiledAuthz, route: string): (peer: ClientPeer) => AuthzOutcome {
  const outcomes = new Map<AuthzDecision, AuthzOutcome>();
  return (peer) => {
    const d = authz.decide(peer);
    let o = outcomes.get(d);
    if (o === undefined) outcomes.set(d, (o = { allowed: d.allowed, route, rule: d.rule }));
    return o;
  };
}
