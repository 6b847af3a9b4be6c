#!/usr/bin/env node
// Writes the "many routes, many endpoints" meshlet config of bench/routing.sh (issue 3, item 10).
// Usage: node bench/write-routing-config.mjs LISTEN UPSTREAMS OUT [--routes N] [--endpoints M] [--services S]
//   LISTEN     host:port of the outbound listener (the harness's {LISTEN}, 127.0.0.1:18080)
//   UPSTREAMS  the harness's {UPSTREAMS} (127.0.0.1:18081,127.0.0.1:18082): their ports are reused
//   OUT        the JSON file to write
//   --routes N     HTTPRoutes in all (default 100; at least 3 = the measured service's own routes; 0 = none, the
//                  request then takes bench's default rule as in the single-service config)
//   --endpoints M  endpoints of every service (default 50)
//   --services S   services (default 10): "bench" (the measured one) and S-1 others
//   --balancer K   the measured service's balancer (default: none given = the default, peak-ewma); the others
//                  cycle through peak-ewma, round-robin, least-request, hash and weighted-round-robin
// With --routes 0 --services 1 and no --balancer, the file is also valid for the foundation (before issue 3).
//
// Endpoints: endpoint i is 127.0.0.(1 + floor(i / P)) on upstream port i mod P (P = number of upstream ports,
// 2 in the harness), so 50 endpoints are 127.0.0.1..127.0.0.25 x 2 ports. bench/routing.sh makes the harness's
// backend nginx listen on exactly these addresses (`listen` lines added to its own copy of the harness config),
// so every endpoint is a real, answering upstream. With M <= P the endpoints are the UPSTREAMS themselves.
// All services share the same M addresses (their pools are keyed by address, so they share connections too).
//
// The measured request is `GET /hello` with `Host: 127.0.0.1:18080` (wrk's). It selects, by host, the bucket of
// the routes attached to "bench" (hostnames 127.0.0.1[:port], localhost[:port]); the other routes carry distinct
// hostnames of their own (app-NNN.example.internal, a few *.tenant-N.example.internal wildcards) and their parent
// services' hostnames. In the bench bucket, the Gateway API precedence order puts 10 match entries ahead of the
// one that wins (an Exact path, a RegularExpression, four longer prefixes, /hello with a method match and /hello
// with two kinds of header match), so the request does the path, method, header and regex tests a real
// route table makes it do before `PathPrefix /hello` sends it to "bench" (PeakEWMA, the default balancer).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const argv = process.argv.slice(2);
const pos = [];
const opt = { routes: 100, endpoints: 50, services: 10, balancer: "" };
const min = { routes: 0, endpoints: 1, services: 1 };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const b = /^--balancer(?:=(.*))?$/.exec(a);
  const m = /^--(routes|endpoints|services)(?:=(.*))?$/.exec(a);
  if (b) opt.balancer = b[1] ?? argv[++i];
  else if (m) {
    const v = m[2] ?? argv[++i];
    opt[m[1]] = Number(v);
    if (!Number.isInteger(opt[m[1]]) || opt[m[1]] < min[m[1]]) die(`--${m[1]} wants an integer >= ${min[m[1]]}, got ${JSON.stringify(v)}`);
  } else pos.push(a);
}
const [listen, upstreams, out] = pos;
if (!listen || !upstreams || !out) {
  process.stderr.write("usage: node bench/write-routing-config.mjs LISTEN UPSTREAMS OUT [--routes N] [--endpoints M] [--services S]\n");
  process.exit(2);
}
if (opt.routes !== 0 && opt.routes < 3) die("--routes must be 0 (no routes: the services' default rules) or at least 3");
if (opt.routes > 0 && opt.services < 2) die("--services must be at least 2 with routes");

function die(msg) {
  process.stderr.write(`write-routing-config: ${msg}\n`);
  process.exit(2);
}
function split(addr) {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) die(`bad address ${JSON.stringify(addr)} (want host:port)`);
  return { host: addr.slice(0, i), port };
}

const { host, port } = split(listen);
const ups = upstreams.split(",").map((s) => s.trim()).filter(Boolean).map(split);
if (ups.length === 0) die("no upstreams");
const ports = ups.map((u) => u.port);

/** Endpoint i: 127.0.0.(1 + floor(i / P)) : ports[i mod P]; the first P are the harness's own upstreams. */
function endpointList(n) {
  const list = [];
  for (let i = 0; i < n; i++) {
    const a = Math.floor(i / ports.length) + 1;
    if (a > 254) die("too many endpoints for 127.0.0.0/24 and the upstream ports");
    list.push(`127.0.0.${a}:${ports[i % ports.length]}`);
  }
  return list;
}
const endpoints = endpointList(opt.endpoints);

// ---- services: "bench" (measured, default balancer = PeakEWMA) and svc-01.. with a mix of balancers
const balancers = [undefined, "round-robin", "least-request", { kind: "hash", hashOn: { header: "x-user" } }, "weighted-round-robin"];
const others = [];
for (let s = 1; s < opt.services; s++) others.push(`svc-${String(s).padStart(2, "0")}`);
const services = [
  {
    name: "bench",
    hostnames: [`127.0.0.1:${port}`, "127.0.0.1", `localhost:${port}`, "localhost"],
    endpoints,
    ...(opt.balancer ? { balancer: opt.balancer } : {}),
  },
  ...others.map((name, i) => {
    const svc = { name, hostnames: [`${name}.apps.svc.cluster.local`, `${name}.apps`], endpoints };
    const b = balancers[i % balancers.length];
    if (b !== undefined) svc.balancer = b;
    return svc;
  }),
];
const other = (k) => others[k % others.length];

// ---- the measured service's routes (no hostnames of their own: they take bench's)
const benchRoutes = [
  {
    name: "bench-api",
    parentRefs: [{ name: "bench" }],
    rules: [
      { matches: [{ path: { type: "Exact", value: "/healthz" } }], backendRefs: [{ name: other(0) }] },
      {
        matches: [{ path: { type: "PathPrefix", value: "/api/v2" }, headers: [{ name: "x-canary", value: "true" }] }],
        backendRefs: [{ name: other(1) }],
      },
      {
        matches: [{ path: { type: "PathPrefix", value: "/api/v2" } }, { path: { type: "PathPrefix", value: "/api/v1" }, method: "GET" }],
        backendRefs: [{ name: other(2), weight: 90 }, { name: other(3), weight: 10 }],
        retry: { attempts: 2 },
        timeouts: { request: "5s" },
      },
      { matches: [{ path: { type: "RegularExpression", value: "/hello/[0-9]+" } }], backendRefs: [{ name: other(4) }] },
    ],
  },
  {
    name: "bench-hello",
    parentRefs: [{ name: "bench" }],
    rules: [
      {
        matches: [{ path: { type: "PathPrefix", value: "/hello" }, headers: [{ name: "x-tenant", value: "gold" }] }],
        backendRefs: [{ name: other(5) }],
      },
      { matches: [{ path: { type: "PathPrefix", value: "/hello" }, method: "POST" }], backendRefs: [{ name: other(6) }] },
      {
        matches: [{ path: { type: "PathPrefix", value: "/hello" }, headers: [{ name: "x-debug", type: "RegularExpression", value: "on|1|true" }] }],
        backendRefs: [{ name: other(7) }],
      },
      // the measured request's rule: no backendRefs = the parent, "bench"
      { matches: [{ path: { type: "PathPrefix", value: "/hello" } }] },
    ],
  },
  {
    name: "bench-default",
    parentRefs: [{ name: "bench" }],
    rules: [
      { matches: [{ path: { type: "PathPrefix", value: "/static" } }], backendRefs: [{ name: other(8) }] },
      { matches: [{ path: { type: "PathPrefix", value: "/assets" } }, { path: { type: "PathPrefix", value: "/img" } }], backendRefs: [{ name: other(9) }] },
      {}, // PathPrefix "/" (e.g. the harness's /16k check): the parent
    ],
  },
];

// ---- the other routes: one distinct hostname each (every 10th is a wildcard), varied matches and policy
const resources = ["users", "orders", "carts", "search", "catalog", "payments", "inventory", "reviews"];
const routes = opt.routes === 0 ? [] : [...benchRoutes];
for (let i = benchRoutes.length; i < opt.routes; i++) {
  const n = String(i).padStart(3, "0");
  const parent = others[i % others.length];
  const res = resources[i % resources.length];
  const hostnames = i % 10 === 0 ? [`*.tenant-${n}.example.internal`] : [`app-${n}.example.internal`];
  const rules = [];
  rules.push({
    matches: [{ path: { type: "PathPrefix", value: `/api/v${1 + (i % 3)}/${res}` } }],
    ...(i % 4 === 0 ? { retry: { attempts: 1, codes: [503] } } : {}),
    ...(i % 6 === 0 ? { timeouts: { request: "2s", backendRequest: "500ms" } } : {}),
  });
  if (i % 3 === 0) {
    rules.push({
      matches: [{ path: { type: "PathPrefix", value: `/api/v1/${res}` }, headers: [{ name: "x-canary", value: "true" }] }],
      backendRefs: [{ name: parent, weight: 90 }, { name: other(i + 1), weight: 10 }],
    });
  }
  if (i % 5 === 0) rules.push({ matches: [{ path: { type: "Exact", value: `/${res}/health` } }], backendRefs: [{ name: other(i + 2) }] });
  if (i % 7 === 0) {
    rules.push({
      matches: [{ path: { type: "RegularExpression", value: `/${res}/[a-z0-9-]+/items` }, method: "GET" }],
      filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-route", value: `r${n}` }] } }],
    });
  }
  if (i % 11 === 0) rules.push({ matches: [{ path: { type: "PathPrefix", value: "/limited" } }], rateLimit: { requestsPerSecond: 100 } });
  if (i % 2 === 0) rules.push({ matches: [{ path: { type: "PathPrefix", value: "/" } }] });
  routes.push({ name: `route-${n}`, parentRefs: [{ name: parent }], hostnames, rules });
}

const config = {
  admin: { port: 0 },
  outbound: { host, port },
  services,
  // no "routes" key at all without routes: the foundation's schema (before issue 3) rejects it
  ...(routes.length > 0 ? { routes } : {}),
  accessLog: { enabled: false },
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(config, null, 2) + "\n");
