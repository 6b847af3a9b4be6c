// TrafficTable: HTTPRoutes compiled per entry point (outbound by hostname, each service listener by parentRef),
// a default rule per service, and state (backends, rate-limit buckets) carried across config rebuilds.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MatchRequest } from "../../../core/routing/match.ts";
import { TrafficTable } from "../../../core/proxy/routes.ts";
import { MetricsStore } from "../../../core/telemetry/metrics.ts";
import { mulberry32 } from "../../support/prng.ts";
import { config } from "./helpers.ts";

const services = [
  { name: "web", hostnames: ["web", "web.ns.svc.cluster.local"], endpoints: ["127.0.0.1:9001"] },
  { name: "web-v2", hostnames: ["web-v2"], endpoints: ["127.0.0.1:9002"] },
  { name: "api", hostnames: ["api:8080"], endpoints: ["127.0.0.1:9003"] },
  { name: "sidecar", endpoints: ["127.0.0.1:9004"], listen: { port: 5000 } },
];

const prefix = (value: string) => ({ path: { type: "PathPrefix", value } });
const exact = (value: string) => ({ path: { type: "Exact", value } });
const to = (...names: string[]) => names.map((name) => ({ name }));

function table(raw: Record<string, unknown>, previous: TrafficTable | null = null, now = 0) {
  const metrics = new MetricsStore();
  return new TrafficTable(config({ services, ...raw }), previous, { random: mulberry32(1), now, metrics });
}

function req(authority: string, path = "/", extra: Partial<MatchRequest> = {}): MatchRequest {
  const q = path.indexOf("?");
  return { authority, method: "GET", path: q < 0 ? path : path.slice(0, q), query: q < 0 ? "" : path.slice(q + 1), headers: [], ...extra };
}

/** "route -> backend" for a request, or undefined when nothing routes it. */
function where(t: TrafficTable, service: string | null, r: MatchRequest): string | undefined {
  const hit = t.route(service, r);
  if (hit === undefined) return undefined;
  return `${hit.policy.routeName} -> ${hit.policy.pickBackend(() => 0.5) ?? "(none)"}`;
}

test("a route with parentRefs applies on every hostname of its parent, any case, with or without a port", () => {
  const t = table({ routes: [{ name: "canary", parentRefs: to("web"), rules: [{ matches: [prefix("/api")], backendRefs: to("web-v2") }] }] });
  assert.equal(where(t, null, req("web", "/api/users")), "canary -> web-v2");
  assert.equal(where(t, null, req("WEB.ns.svc.cluster.local", "/api")), "canary -> web-v2");
  assert.equal(where(t, null, req("web:80", "/api")), "canary -> web-v2");
  assert.equal(where(t, null, req("web", "/apix")), "default -> web", "PathPrefix matches whole segments");
  assert.equal(where(t, null, req("web-v2", "/api")), "default -> web-v2", "not on other services' hostnames");
});

test("a rule without backendRefs forwards to the route's parent", () => {
  const t = table({ routes: [{ name: "own", parentRefs: to("web"), rules: [{ matches: [prefix("/x")] }] }] });
  assert.equal(where(t, null, req("web", "/x")), "own -> web");
});

test("a route's own hostnames (exact and wildcard) route too, in addition to the parent's", () => {
  const t = table({
    routes: [
      { name: "named", parentRefs: to("web"), hostnames: ["shop.example.com", "*.shop.example.com"], rules: [{ backendRefs: to("web-v2") }] },
    ],
  });
  assert.equal(where(t, null, req("shop.example.com", "/")), "named -> web-v2");
  assert.equal(where(t, null, req("eu.shop.example.com:8080", "/a")), "named -> web-v2");
  assert.equal(where(t, null, req("web", "/a")), "named -> web-v2");
  assert.equal(where(t, null, req("example.com", "/")), undefined, "no route and no service for this authority");
});

test("precedence: Exact over PathPrefix, the longer prefix first, whatever the route order", () => {
  const t = table({
    routes: [
      { name: "root", parentRefs: to("web"), rules: [{ matches: [prefix("/")], backendRefs: to("web") }] },
      { name: "short", parentRefs: to("web"), rules: [{ matches: [prefix("/a")], backendRefs: to("web-v2") }] },
      { name: "long", parentRefs: to("web"), rules: [{ matches: [prefix("/a/b")], backendRefs: to("api") }] },
      { name: "exact", parentRefs: to("web"), rules: [{ matches: [exact("/a/b")], backendRefs: to("sidecar") }] },
    ],
  });
  assert.equal(where(t, null, req("web", "/a/b")), "exact -> sidecar");
  assert.equal(where(t, null, req("web", "/a/b/c")), "long -> api");
  assert.equal(where(t, null, req("web", "/a/x")), "short -> web-v2");
  assert.equal(where(t, null, req("web", "/z")), "root -> web");
  assert.equal(t.route(null, req("web", "/a/b/c"))!.matchedPrefix, "/a/b");
  assert.equal(t.route(null, req("web", "/a/b"))!.matchedPrefix, undefined, "an Exact match has no prefix");
});

test("precedence: a method match beats none; equal matches go to the older route", () => {
  const t = table({
    routes: [
      { name: "first", parentRefs: to("web"), rules: [{ matches: [prefix("/p")], backendRefs: to("web") }] },
      { name: "second", parentRefs: to("web"), rules: [{ matches: [prefix("/p")], backendRefs: to("web-v2") }] },
      { name: "posts", parentRefs: to("web"), rules: [{ matches: [{ ...prefix("/p"), method: "POST" }], backendRefs: to("api") }] },
    ],
  });
  assert.equal(where(t, null, req("web", "/p")), "first -> web");
  assert.equal(where(t, null, req("web", "/p", { method: "POST" })), "posts -> api");
});

test("header and query matches select a rule", () => {
  const t = table({
    routes: [{
      name: "r",
      parentRefs: to("web"),
      rules: [
        { matches: [{ headers: [{ name: "x-canary", value: "1" }] }], backendRefs: to("web-v2") },
        { matches: [{ queryParams: [{ name: "v", value: "api" }] }], backendRefs: to("api") },
      ],
    }],
  });
  assert.equal(where(t, null, req("web", "/", { headers: ["X-Canary", "1"] })), "r -> web-v2");
  assert.equal(where(t, null, req("web", "/?v=api")), "r -> api");
  assert.equal(where(t, null, req("web", "/?v=other")), "default -> web");
});

test("the default rule of the authority's service applies when no route matches", () => {
  const t = table({ routes: [{ name: "r", parentRefs: to("web"), rules: [{ matches: [exact("/only")], backendRefs: to("web-v2") }] }] });
  const hit = t.route(null, req("web", "/else"))!;
  assert.equal(hit.policy.routeName, "default");
  assert.equal(hit.policy.pickBackend(() => 0.99), "web");
  assert.equal(hit.policy.retry, null, "the default rule does not retry");
  assert.deepEqual(hit.policy.timeouts, { requestMs: 0, backendRequestMs: 0, idleMs: 0 });
  assert.equal(hit.policy.rateLimit, null);
  assert.equal(hit.policy.fault, null);
  assert.equal(where(t, null, req("web-v2", "/only")), "default -> web-v2");
  // Without any routes at all.
  assert.equal(where(table({}), null, req("web.ns.svc.cluster.local", "/")), "default -> web");
});

test("an unknown authority routes nowhere", () => {
  const t = table({ routes: [{ name: "r", parentRefs: to("web"), rules: [{ backendRefs: to("web-v2") }] }] });
  assert.equal(t.route(null, req("nowhere", "/")), undefined);
  assert.equal(t.route(null, req("", "/")), undefined);
  assert.equal(t.route(null, req("webx", "/")), undefined);
});

test("byAuthority: host:port exactly first, then the host alone", () => {
  const t = table({});
  assert.equal(t.byAuthority("api:8080")?.name, "api");
  assert.equal(t.byAuthority("API:8080")?.name, "api");
  assert.equal(t.byAuthority("api:9090"), undefined, "a hostname with a port only matches that port");
  assert.equal(t.byAuthority("api"), undefined);
  assert.equal(t.byAuthority("web:1234")?.name, "web");
});

test("a route attached to a service whose hostname has a port applies on that authority", () => {
  const t = table({ routes: [{ name: "r", parentRefs: to("api"), rules: [{ matches: [prefix("/v2")], backendRefs: to("web-v2") }] }] });
  assert.equal(where(t, null, req("api:8080", "/v2/x")), "r -> web-v2");
});

test("per-service listener tables: routes attached to the service match any authority there", () => {
  const t = table({
    routes: [
      { name: "side", parentRefs: to("sidecar"), rules: [{ matches: [prefix("/v2")], backendRefs: to("web-v2") }] },
      { name: "webonly", parentRefs: to("web"), rules: [{ matches: [prefix("/w")], backendRefs: to("api") }] },
    ],
  });
  assert.equal(where(t, "sidecar", req("whatever.example", "/v2/x")), "side -> web-v2");
  assert.equal(where(t, "sidecar", req("", "/v2")), "side -> web-v2", "even without an authority");
  assert.equal(where(t, "sidecar", req("web", "/w")), "default -> sidecar", "routes of other services do not apply");
  assert.equal(where(t, "sidecar", req("web", "/other")), "default -> sidecar");
  // The sidecar service has no hostnames: its route is not on the outbound listener.
  assert.equal(t.route(null, req("whatever.example", "/v2")), undefined);
  assert.equal(t.route("gone", req("web", "/")), undefined, "an unknown listener service");
});

test("a route attached to two parents applies on both services' hostnames and listeners", () => {
  const t = table({
    routes: [{ name: "both", parentRefs: to("web", "sidecar"), rules: [{ matches: [prefix("/b")], backendRefs: to("api") }] }],
  });
  assert.equal(where(t, null, req("web", "/b")), "both -> api");
  assert.equal(where(t, "sidecar", req("x", "/b")), "both -> api");
});

test("weighted backendRefs split; all-zero weights pick nothing", () => {
  const t = table({
    routes: [
      { name: "split", parentRefs: to("web"), rules: [{ matches: [prefix("/s")], backendRefs: [{ name: "web", weight: 3 }, { name: "web-v2", weight: 1 }] }] },
      { name: "zero", parentRefs: to("web"), rules: [{ matches: [prefix("/z")], backendRefs: [{ name: "web", weight: 0 }, { name: "web-v2", weight: 0 }] }] },
      { name: "one", parentRefs: to("web"), rules: [{ matches: [prefix("/o")], backendRefs: [{ name: "web", weight: 0 }, { name: "web-v2", weight: 5 }] }] },
    ],
  });
  const split = t.route(null, req("web", "/s"))!.policy;
  assert.equal(split.pickBackend(() => 0), "web");
  assert.equal(split.pickBackend(() => 0.74), "web");
  assert.equal(split.pickBackend(() => 0.75), "web-v2");
  assert.equal(t.route(null, req("web", "/z"))!.policy.pickBackend(() => 0.5), undefined);
  let draws = 0;
  assert.equal(t.route(null, req("web", "/o"))!.policy.pickBackend(() => (draws++, 0.5)), "web-v2");
  assert.equal(draws, 0, "a single positive backend needs no random draw");
});

test("a rebuilt table takes over the backends; removed services are gone", () => {
  const t1 = table({});
  const web = t1.byName("web")!;
  const t2 = table({ services: services.filter((s) => s.name !== "api") }, t1);
  assert.equal(t2.byName("web"), web, "the same Backend, with its breakers and budget");
  assert.equal(t2.byName("api"), undefined);
  assert.equal(t2.byAuthority("api:8080"), undefined);
  assert.ok(!t2.endpointKeys().has("127.0.0.1:9003"));
  assert.ok(t2.endpointKeys().has("127.0.0.1:9001"));
});

const limited = (rps: number) => ({
  routes: [{ name: "rl", parentRefs: to("web"), rules: [{ matches: [prefix("/rl")], rateLimit: { requestsPerSecond: rps, burst: 1 } }] }],
});

test("rate-limit buckets are carried across a rebuild when the rule's limit is unchanged", () => {
  const t1 = table(limited(1));
  const rl1 = t1.route(null, req("web", "/rl"))!.policy.rateLimit!;
  assert.ok(rl1.take(0, "c").ok);
  assert.ok(!rl1.take(0, "c").ok, "the bucket of one is empty");
  // An unrelated change (a new service) rebuilds the table.
  const t2 = table({ ...limited(1), services: [...services, { name: "extra", hostnames: ["extra"], endpoints: ["127.0.0.1:9005"] }] }, t1);
  const rl2 = t2.route(null, req("web", "/rl"))!.policy.rateLimit!;
  assert.equal(rl2, rl1);
  assert.ok(!rl2.take(10, "c").ok, "still empty after the rebuild");
});

test("a changed rate limit starts with a fresh bucket", () => {
  const t1 = table(limited(1));
  const rl1 = t1.route(null, req("web", "/rl"))!.policy.rateLimit!;
  assert.ok(rl1.take(0, "c").ok);
  const t2 = table(limited(2), t1);
  const rl2 = t2.route(null, req("web", "/rl"))!.policy.rateLimit!;
  assert.notEqual(rl2, rl1);
  assert.equal(rl2.config.requestsPerSecond, 2);
  assert.ok(rl2.take(0, "c").ok, "a new bucket starts full");
  // And a table rebuilt from one without the limit starts afresh too.
  const t3 = table({}, t2);
  const t4 = table(limited(2), t3);
  assert.notEqual(t4.route(null, req("web", "/rl"))!.policy.rateLimit, rl2);
});

test("compiled policies carry the rule's retry, timeouts, filters and fault", () => {
  const t = table({
    routes: [{
      name: "p",
      parentRefs: to("web"),
      rules: [{
        matches: [prefix("/p")],
        timeouts: { request: "2s", backendRequest: "500ms", idle: "1s" },
        retry: { attempts: 3, conditions: ["5xx"], codes: [429], backoff: { base: "10ms", max: "40ms" }, bufferLimit: 100 },
        fault: { abort: { httpStatus: 503, percentage: 10 } },
        filters: [
          { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-a", value: "1" }] } },
          { type: "URLRewrite", urlRewrite: { hostname: "internal" } },
        ],
      }],
    }],
  });
  const p = t.route(null, req("web", "/p"))!.policy;
  assert.deepEqual(p.timeouts, { requestMs: 2000, backendRequestMs: 500, idleMs: 1000 });
  assert.equal(p.retry!.options.maxRetries, 3);
  assert.equal(p.retry!.options.maxBufferedBody, 100);
  assert.ok(p.retry!.isRetryableOutcome({ kind: "response", status: 429 }));
  assert.ok(p.retry!.isRetryableOutcome({ kind: "response", status: 500 }));
  assert.deepEqual([p.backoff.baseMs, p.backoff.maxMs], [10, 40]);
  assert.deepEqual(p.fault!.policy, { abort: { httpStatus: 503, percentage: 10 } });
  assert.deepEqual(p.requestHeaders, { set: [{ name: "x-a", value: "1" }] });
  assert.deepEqual(p.rewrite, { hostname: "internal" });
  assert.equal(p.redirect, undefined);
  // retry: {attempts: 0} means no retries.
  const none = table({ routes: [{ name: "n", parentRefs: to("web"), rules: [{ retry: { attempts: 0 } }] }] });
  assert.equal(none.route(null, req("web", "/"))!.policy.retry, null);
});

test("gauges cover every service's endpoints", () => {
  const t = table({});
  assert.deepEqual([...t.gauges()].map((g) => `${g.service} ${g.endpoint} ${g.breaker}`), [
    "web 127.0.0.1:9001 closed",
    "web-v2 127.0.0.1:9002 closed",
    "api 127.0.0.1:9003 closed",
    "sidecar 127.0.0.1:9004 closed",
  ]);
});
