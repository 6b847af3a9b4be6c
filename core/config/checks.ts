// Checks across fields: unique service names and hostnames, opaqueService naming a service, listeners not
// sharing a port, the inbound app not being the inbound listener, and the route checks (route-checks.ts). They run on the partially parsed file (even
// when other fields are bad, so every problem is listed at once) and look only at values of the right type.

import { routeChecks } from "./route-checks.ts";

export type PathKey = string | number;
export interface CrossIssue {
  path: PathKey[];
  message: string;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === "string" ? x : undefined);

export function crossChecks(root: unknown): CrossIssue[] {
  if (!isObj(root)) return [];
  const issues: CrossIssue[] = [];
  const services = Array.isArray(root.services) ? root.services : [];

  const nameAt = new Map<string, number>();
  const hostnameAt = new Map<string, { service: string; index: number }>();
  services.forEach((svc, i) => {
    if (!isObj(svc)) return;
    const name = str(svc.name);
    if (name !== undefined) {
      const first = nameAt.get(name);
      if (first === undefined) nameAt.set(name, i);
      else issues.push({ path: ["services", i, "name"], message: `duplicate service name "${name}" (also services[${first}])` });
    }
    if (!Array.isArray(svc.hostnames)) return;
    svc.hostnames.forEach((h, j) => {
      const hostname = str(h)?.trim().toLowerCase();
      if (hostname === undefined) return;
      const owner = hostnameAt.get(hostname);
      if (owner === undefined) hostnameAt.set(hostname, { service: name ?? `services[${i}]`, index: i });
      else {
        const where = owner.index === i ? "listed twice in this service" : `already routes to service "${owner.service}"`;
        issues.push({ path: ["services", i, "hostnames", j], message: `duplicate hostname "${hostname}" (${where})` });
      }
    });
  });

  if (isObj(root.outbound)) {
    const opaque = str(root.outbound.opaqueService);
    if (opaque !== undefined && !nameAt.has(opaque)) {
      const known = [...nameAt.keys()];
      issues.push({
        path: ["outbound", "opaqueService"],
        message: `expected the name of a configured service (${known.length ? known.map((n) => `"${n}"`).join(", ") : "none configured"}), received "${opaque}"`,
      });
    }
  }

  // Listeners must not share a port (port 0 means the OS picks one, so it never conflicts).
  const listeners: { label: string; path: PathKey[]; host: string; port: number }[] = [];
  const addListener = (label: string, path: PathKey[], l: unknown) => {
    if (isObj(l) && typeof l.host === "string" && typeof l.port === "number" && l.port !== 0) {
      listeners.push({ label, path, host: l.host, port: l.port });
    }
  };
  addListener("admin", ["admin"], root.admin);
  addListener("outbound", ["outbound"], root.outbound);
  addListener("inbound", ["inbound"], root.inbound);
  services.forEach((svc, i) => {
    if (isObj(svc)) addListener(`services[${i}].listen`, ["services", i, "listen"], svc.listen);
  });
  listeners.forEach((l, i) => {
    const clash = listeners.slice(0, i).find((o) => o.port === l.port && hostsOverlap(o.host, l.host));
    if (clash) {
      issues.push({
        path: [...l.path, "port"],
        message: `port ${l.port} on ${l.host} is already used by ${clash.label} (${fmtHostPort(clash.host, clash.port)})`,
      });
    }
  });

  // The inbound listener forwarding to itself would loop.
  const inbound = root.inbound;
  if (isObj(inbound) && isObj(inbound.app) && typeof inbound.port === "number" && typeof inbound.host === "string") {
    const app = inbound.app;
    if (app.port === inbound.port && typeof app.host === "string" && sameLocalSocket(inbound.host, app.host)) {
      issues.push({ path: ["inbound", "app"], message: `the app address is the inbound listener itself (a forwarding loop)` });
    }
  }

  // mTLS to a meshed endpoint needs the proxy's own identity (its client certificate and the trust anchors).
  if (root.identity === undefined) {
    services.forEach((svc, i) => {
      if (!isObj(svc) || !Array.isArray(svc.endpoints)) return;
      svc.endpoints.forEach((e, j) => {
        if (isObj(e) && e.identity !== undefined) {
          issues.push({
            path: ["services", i, "endpoints", j, "identity"],
            message: "a meshed endpoint (identity) needs the proxy's own identity: add the identity section (id, trustAnchorsFile, certificate)",
          });
        }
      });
    });
  }

  issues.push(...routeChecks(root, new Set(nameAt.keys())));
  return issues;
}

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);
const LOOPBACKS = new Set(["127.0.0.1", "::1", "localhost"]);

/** Two listeners on these hosts and the same port would collide (a wildcard overlaps every address). */
function hostsOverlap(a: string, b: string): boolean {
  return a === b || WILDCARDS.has(a) || WILDCARDS.has(b);
}

/** Connecting to `target` would reach a listener bound to `listenHost` (only the certain cases). */
function sameLocalSocket(listenHost: string, target: string): boolean {
  if (listenHost === target) return true;
  return LOOPBACKS.has(target) && (WILDCARDS.has(listenHost) || LOOPBACKS.has(listenHost));
}

function fmtHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
