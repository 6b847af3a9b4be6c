// The traffic-policy part of the config file: service balancer / failureAccrual / retryBudget / maxPending and
// endpoint weights, routes[] (Gateway API HTTPRoute shape with timeouts, retry, fault, rateLimit), timeoutHeader
// and headerFaults: defaults, shorthands, every bad field by path, cross-checks, and "parses => compiles".
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { formatConfigIssues, loadYamlSupport, parseConfig, parseConfigText } from "../../../core/config/mod.ts";
import { errors, issueAt, ok } from "./helpers.ts";
import type { MeshletConfig, RouteConfig, ServiceConfig } from "../../../core/config/types.ts";
import { compileRoutes } from "../../../core/routing/match.ts";
import type { HttpRoute } from "../../../core/routing/types.ts";

await loadYamlSupport();


const SERVICES = [
  { name: "web", endpoints: ["127.0.0.1:9001"] },
  { name: "canary", endpoints: ["127.0.0.1:9002"] },
];

/** One service with extra keys. */
const service = (extra: Record<string, unknown>): ServiceConfig =>
  ok({ services: [{ name: "web", endpoints: [], ...extra }] }).services[0]!;

/** A config with one route (parent "web") whose only rule is `rule`; `route` overrides route keys. */
const withRoute = (rule: Record<string, unknown>, route: Record<string, unknown> = {}) => ({
  services: SERVICES,
  // A key given as undefined is left out.
  routes: [Object.fromEntries(Object.entries({ name: "r", parentRefs: [{ name: "web" }], rules: [rule], ...route }).filter(([, x]) => x !== undefined))],
});
const routeOf = (rule: Record<string, unknown>, route: Record<string, unknown> = {}): RouteConfig =>
  ok(withRoute(rule, route)).routes[0]!;
const ruleOf = (rule: Record<string, unknown>) => routeOf(rule).rules[0]!;

describe("services: traffic policy", () => {
  it("defaults: peak-ewma (30ms, 10s), Linkerd's failure accrual and retry budget, maxPending 100000", () => {
    const s = service({});
    assert.deepEqual(s.balancer, { kind: "peak-ewma", defaultRttMs: 30, decayMs: 10_000 });
    assert.deepEqual(s.failureAccrual, { consecutiveFailures: 7, minBackoffMs: 1000, maxBackoffMs: 60_000, jitter: 0.5 });
    assert.deepEqual(s.retryBudget, { retryRatio: 0.2, minRetriesPerSec: 10, ttlMs: 10_000 });
    assert.equal(s.maxPending, 100_000);
  });

  it("endpoint weight: only in the mapping form, and only set when given", () => {
    const eps = service({ endpoints: ["a:1", { host: "b", port: 2 }, { host: "c", port: 3, weight: 10_000 }, { host: "d", port: 4, weight: 1 }] }).endpoints;
    assert.deepEqual(eps, [
      { host: "a", port: 1 },
      { host: "b", port: 2 },
      { host: "c", port: 3, weight: 10_000 },
      { host: "d", port: 4, weight: 1 },
    ]);
    assert.equal("weight" in eps[1]!, false);
    // The inbound app is an address, not an endpoint: no weight there.
    assert.match(issueAt(errors({ inbound: { app: { host: "a", port: 1, weight: 2 } } }), "inbound.app.weight").message, /unknown key "weight"/);
  });

  it("balancer shorthands: a kind name", () => {
    assert.deepEqual(service({ balancer: "peak-ewma" }).balancer, { kind: "peak-ewma", defaultRttMs: 30, decayMs: 10_000 });
    for (const kind of ["round-robin", "weighted-round-robin", "least-request"]) {
      assert.deepEqual(service({ balancer: kind }).balancer, { kind });
      assert.deepEqual(service({ balancer: { kind } }).balancer, { kind });
    }
  });

  it("balancer mappings: peak-ewma options, hash on a header (lower-cased), a cookie or the client address", () => {
    assert.deepEqual(service({ balancer: { kind: "peak-ewma", defaultRtt: "5ms", decay: 2000 } }).balancer, {
      kind: "peak-ewma",
      defaultRttMs: 5,
      decayMs: 2000,
    });
    assert.deepEqual(service({ balancer: { kind: "peak-ewma", decay: "1s" } }).balancer, { kind: "peak-ewma", defaultRttMs: 30, decayMs: 1000 });
    assert.deepEqual(service({ balancer: { kind: "hash", hashOn: { header: "X-User" } } }).balancer, { kind: "hash", hashOn: { header: "x-user" } });
    assert.deepEqual(service({ balancer: { kind: "hash", hashOn: { cookie: "Session" } } }).balancer, { kind: "hash", hashOn: { cookie: "Session" } });
    assert.deepEqual(service({ balancer: { kind: "hash", hashOn: { clientAddress: true } } }).balancer, {
      kind: "hash",
      hashOn: { clientAddress: true },
    });
  });

  it("failureAccrual: false turns it off (null), true or a partial mapping fill in the defaults", () => {
    assert.equal(service({ failureAccrual: false }).failureAccrual, null);
    assert.deepEqual(service({ failureAccrual: true }).failureAccrual, service({}).failureAccrual);
    assert.deepEqual(service({ failureAccrual: { consecutiveFailures: 3, maxBackoff: "5m", jitter: 0 } }).failureAccrual, {
      consecutiveFailures: 3,
      minBackoffMs: 1000,
      maxBackoffMs: 300_000,
      jitter: 0,
    });
    assert.deepEqual(service({ failureAccrual: { minBackoff: "2s", maxBackoff: "2s" } }).failureAccrual?.minBackoffMs, 2000);
  });

  it("retryBudget and maxPending", () => {
    assert.deepEqual(service({ retryBudget: { retryRatio: 0, minRetriesPerSecond: 0.5, ttl: "1h" } }).retryBudget, {
      retryRatio: 0,
      minRetriesPerSec: 0.5,
      ttlMs: 3_600_000,
    });
    assert.deepEqual(service({ retryBudget: { retryRatio: 1000, ttl: 1000 } }).retryBudget, { retryRatio: 1000, minRetriesPerSec: 10, ttlMs: 1000 });
    assert.equal(service({ maxPending: 1 }).maxPending, 1);
    assert.equal(service({ maxPending: 10_000_000 }).maxPending, 10_000_000);
  });

  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ["weight 0", { endpoints: [{ host: "a", port: 1, weight: 0 }] }, "services[0].endpoints[0].weight", /^expected an endpoint weight \(an integer 1\.\.10000\), received 0$/],
    ["weight 10001", { endpoints: [{ host: "a", port: 1, weight: 10_001 }] }, "services[0].endpoints[0].weight", /received 10001$/],
    ["weight 1.5", { endpoints: [{ host: "a", port: 1, weight: 1.5 }] }, "services[0].endpoints[0].weight", /received 1\.5$/],
    ["unknown balancer", { balancer: "random" }, "services[0].balancer", /^expected "peak-ewma", "round-robin", "weighted-round-robin", "least-request" or "hash" \(or a mapping \{kind, \.\.\.\}\), received "random"$/],
    ["hash without hashOn (string)", { balancer: "hash" }, "services[0].balancer", /^expected a hash balancer as a mapping: \{kind: hash, hashOn: \{header: NAME\}\}/],
    ["hash without hashOn (mapping)", { balancer: { kind: "hash" } }, "services[0].balancer.hashOn", /^missing required key "hashOn"$/],
    ["hashOn with two keys", { balancer: { kind: "hash", hashOn: { header: "a", cookie: "b" } } }, "services[0].balancer.hashOn", /^expected exactly one of header, cookie or clientAddress, received header and cookie$/],
    ["hashOn empty", { balancer: { kind: "hash", hashOn: {} } }, "services[0].balancer.hashOn", /received none$/],
    ["hashOn clientAddress false", { balancer: { kind: "hash", hashOn: { clientAddress: false } } }, "services[0].balancer.hashOn.clientAddress", /^expected true, received false$/],
    ["hashOn bad header", { balancer: { kind: "hash", hashOn: { header: "x user" } } }, "services[0].balancer.hashOn.header", /^expected a header name/],
    ["hashOn bad cookie", { balancer: { kind: "hash", hashOn: { cookie: "a;b" } } }, "services[0].balancer.hashOn.cookie", /^expected a cookie name/],
    ["balancer kind missing", { balancer: { decay: "1s" } }, "services[0].balancer.kind", /^missing required key "kind" \("peak-ewma", /],
    ["balancer kind unknown", { balancer: { kind: "p2c" } }, "services[0].balancer.kind", /received "p2c"$/],
    ["option of another kind", { balancer: { kind: "round-robin", decay: "1s" } }, "services[0].balancer.decay", /^unknown key "decay" \(expected one of: kind\)$/],
    ["peak-ewma decay 0", { balancer: { kind: "peak-ewma", decay: 0 } }, "services[0].balancer.decay", /^expected a duration of at least 1ms, received 0$/],
    ["peak-ewma typo", { balancer: { kind: "peak-ewma", defaultRTT: "1ms" } }, "services[0].balancer.defaultRTT", /did you mean "defaultRtt"\?$/],
    ["balancer a number", { balancer: 1 }, "services[0].balancer", /^expected a balancer: "peak-ewma", .* or a mapping \{kind, \.\.\.\}, received 1$/],
    ["failureAccrual a string", { failureAccrual: "off" }, "services[0].failureAccrual", /^expected the failure accrual settings \(a mapping\), or false to turn it off, received "off"$/],
    ["consecutiveFailures 0", { failureAccrual: { consecutiveFailures: 0 } }, "services[0].failureAccrual.consecutiveFailures", /^expected a failure count \(an integer 1\.\.1000000\), received 0$/],
    ["jitter 101", { failureAccrual: { jitter: 101 } }, "services[0].failureAccrual.jitter", /^expected a jitter fraction \(a number 0\.\.100\), received 101$/],
    ["minBackoff > maxBackoff", { failureAccrual: { minBackoff: "2m" } }, "services[0].failureAccrual.minBackoff", /^failure accrual backoff: minBackoff \(120s\) must not exceed maxBackoff \(60s\)$/],
    ["minBackoff 0", { failureAccrual: { minBackoff: 0 } }, "services[0].failureAccrual.minBackoff", /at least 1ms/],
    ["retryRatio 1001", { retryBudget: { retryRatio: 1001 } }, "services[0].retryBudget.retryRatio", /^expected a ratio of retries to requests \(a number 0\.\.1000\), received 1001$/],
    ["minRetriesPerSecond -1", { retryBudget: { minRetriesPerSecond: -1 } }, "services[0].retryBudget.minRetriesPerSecond", /received -1$/],
    ["ttl 999ms", { retryBudget: { ttl: "999ms" } }, "services[0].retryBudget.ttl", /^expected a duration of at least 1000ms, received "999ms"$/],
    ["ttl 2h", { retryBudget: { ttl: "2h" } }, "services[0].retryBudget.ttl", /^expected a duration of at most 1h, received "2h"$/],
    ["retryBudget typo", { retryBudget: { minRetriesPerSec: 1 } }, "services[0].retryBudget.minRetriesPerSec", /did you mean "minRetriesPerSecond"\?$/],
    ["maxPending 0", { maxPending: 0 }, "services[0].maxPending", /^expected a request count \(an integer 1\.\.10000000\), received 0$/],
    ["maxPending too big", { maxPending: 10_000_001 }, "services[0].maxPending", /received 10000001$/],
  ];
  for (const [name, extra, path, message] of bad) {
    it(`rejects ${name} at ${path}`, () => {
      const issues = errors({ services: [{ name: "web", endpoints: [], ...extra }] });
      assert.match(issueAt(issues, path).message, message);
      assert.equal(issues.length, 1, JSON.stringify(issues));
    });
  }
});

describe("routes: normalization and defaults", () => {
  it("the smallest route: one rule, no backendRefs (the parent), zero timeouts, no policies", () => {
    const c = ok({ services: SERVICES, routes: [{ name: "r", parentRefs: [{ name: "web" }], rules: [{}] }] });
    assert.deepEqual(c.routes, [
      {
        name: "r",
        parentRefs: ["web"],
        hostnames: [],
        rules: [{ backendRefs: [], timeouts: { requestMs: 0, backendRequestMs: 0, idleMs: 0 }, retry: null, fault: null, rateLimit: null }],
        createdAt: 0,
      },
    ]);
    const rule = c.routes[0]!.rules[0]!;
    assert.equal("matches" in rule, false);
    assert.equal("filters" in rule, false);
  });

  it("no routes by default; createdAt is the index in the file", () => {
    assert.deepEqual(ok({}).routes, []);
    const c = ok({
      services: SERVICES,
      routes: [
        { name: "b", parentRefs: [{ name: "web" }], rules: [{}] },
        { name: "a", parentRefs: [{ name: "canary" }], rules: [{}] },
      ],
    });
    assert.deepEqual(
      c.routes.map((r) => [r.name, r.createdAt]),
      [
        ["b", 0],
        ["a", 1],
      ],
    );
  });

  it("hostnames are lower-cased; wildcards allowed", () => {
    assert.deepEqual(routeOf({}, { hostnames: ["Web.Example.COM", "*.Example.com", "10.0.0.1"] }).hostnames, [
      "web.example.com",
      "*.example.com",
      "10.0.0.1",
    ]);
  });

  it("matches are kept as given, methods upper-cased, absent keys left out; path defaults to PathPrefix /", () => {
    const r = ruleOf({
      matches: [
        { path: { type: "Exact", value: "/a" }, method: "post" },
        { path: { value: "/b" } },
        { path: {} },
        { headers: [{ name: "X-A", value: "1" }, { name: "x-b", value: "^v[0-9]$", type: "RegularExpression" }] },
        { queryParams: [{ name: "Q", value: "", type: "Exact" }] },
        {},
      ],
    });
    assert.deepEqual(r.matches, [
      { path: { type: "Exact", value: "/a" }, method: "POST" },
      { path: { type: "PathPrefix", value: "/b" } },
      { path: { type: "PathPrefix", value: "/" } },
      { headers: [{ name: "X-A", value: "1" }, { name: "x-b", value: "^v[0-9]$", type: "RegularExpression" }] },
      { queryParams: [{ name: "Q", value: "", type: "Exact" }] },
      {},
    ]);
    assert.deepEqual(ruleOf({ matches: [] }).matches, []);
  });

  it("filters: the four Gateway API kinds, kept as given (hostnames lower-cased)", () => {
    const filters = [
      { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "X-A", value: "1" }], add: [{ name: "x-b", value: "2\t3" }], remove: ["x-c"] } },
      { type: "ResponseHeaderModifier", responseHeaderModifier: { remove: ["server"] } },
      { type: "URLRewrite", urlRewrite: { hostname: "Internal.Example.com", path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } } },
    ];
    const r = ruleOf({ matches: [{ path: { type: "PathPrefix", value: "/api" } }], filters });
    assert.deepEqual(r.filters, [
      filters[0],
      filters[1],
      { type: "URLRewrite", urlRewrite: { hostname: "internal.example.com", path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } } },
    ]);
    const redirect = { scheme: "https", hostname: "example.com", port: 8443, path: { type: "ReplaceFullPath", replaceFullPath: "/new" }, statusCode: 301 };
    assert.deepEqual(ruleOf({ filters: [{ type: "RequestRedirect", requestRedirect: redirect }] }).filters, [{ type: "RequestRedirect", requestRedirect: redirect }]);
    assert.deepEqual(ruleOf({ filters: [{ type: "RequestRedirect", requestRedirect: {} }] }).filters, [{ type: "RequestRedirect", requestRedirect: {} }]);
    // ReplacePrefixMatch with no matches: the rule's match is PathPrefix "/".
    ok(withRoute({ filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } }] }));
  });

  it("backendRefs: weight defaults to 1, 0 allowed; absent or empty means the parent", () => {
    assert.deepEqual(ruleOf({ backendRefs: [{ name: "web", weight: 90 }, { name: "canary" }, { name: "web", weight: 0 }] }).backendRefs, [
      { name: "web", weight: 90 },
      { name: "canary", weight: 1 },
      { name: "web", weight: 0 },
    ]);
    assert.deepEqual(ruleOf({ backendRefs: [] }).backendRefs, []);
  });

  it("timeouts: durations, 0 = none", () => {
    assert.deepEqual(ruleOf({ timeouts: { request: "10s", backendRequest: "2s", idle: 500 } }).timeouts, {
      requestMs: 10_000,
      backendRequestMs: 2000,
      idleMs: 500,
    });
    assert.deepEqual(ruleOf({ timeouts: { backendRequest: "2s" } }).timeouts, { requestMs: 0, backendRequestMs: 2000, idleMs: 0 });
    assert.deepEqual(ruleOf({ timeouts: { request: "2s", backendRequest: "2s" } }).timeouts.backendRequestMs, 2000);
  });

  it("retry: {} takes every default; fields override one by one", () => {
    assert.deepEqual(ruleOf({ retry: {} }).retry, {
      attempts: 2,
      conditions: ["gateway-error", "connect-failure", "reset"],
      codes: [],
      methods: ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"],
      grpcCodes: [14],
      backoff: { baseMs: 25, maxMs: 250 },
      bufferLimitBytes: 65536,
    });
    assert.deepEqual(
      ruleOf({ retry: { attempts: 0, conditions: ["5xx"], codes: [429, 409], methods: ["post", "Get"], grpcCodes: ["resource-exhausted", 4, "UNAVAILABLE"], backoff: { max: "1s" }, bufferLimit: 0 } }).retry,
      { attempts: 0, conditions: ["5xx"], codes: [429, 409], methods: ["POST", "GET"], grpcCodes: [8, 4, 14], backoff: { baseMs: 25, maxMs: 1000 }, bufferLimitBytes: 0 },
    );
    assert.deepEqual(ruleOf({ retry: { conditions: [], backoff: { base: 0, max: 0 }, bufferLimit: 16 * 1024 * 1024 } }).retry?.backoff, { baseMs: 0, maxMs: 0 });
  });

  it("fault: delay and/or abort, percentage defaults to 100, fractions allowed", () => {
    assert.deepEqual(ruleOf({ fault: { delay: { duration: "100ms", percentage: 0.5 } } }).fault, { delay: { durationMs: 100, percentage: 0.5 } });
    assert.deepEqual(ruleOf({ fault: { abort: { httpStatus: 503 } } }).fault, { abort: { httpStatus: 503, percentage: 100 } });
    assert.deepEqual(ruleOf({ fault: { delay: { duration: 0, percentage: 0 }, abort: { httpStatus: 200, percentage: 100 } } }).fault, {
      delay: { durationMs: 0, percentage: 0 },
      abort: { httpStatus: 200, percentage: 100 },
    });
  });

  it("rateLimit: burst defaults to max(1, ceil(requestsPerSecond)); perClient none; maxClients 10000", () => {
    assert.deepEqual(ruleOf({ rateLimit: { requestsPerSecond: 100 } }).rateLimit, { requestsPerSecond: 100, burst: 100, perClient: "none", maxClients: 10_000 });
    assert.equal(ruleOf({ rateLimit: { requestsPerSecond: 2.5 } }).rateLimit?.burst, 3);
    assert.equal(ruleOf({ rateLimit: { requestsPerSecond: 0.1 } }).rateLimit?.burst, 1);
    assert.deepEqual(ruleOf({ rateLimit: { requestsPerSecond: 0.5, burst: 7, perClient: "identity", maxClients: 1 } }).rateLimit, {
      requestsPerSecond: 0.5,
      burst: 7,
      perClient: "identity",
      maxClients: 1,
    });
    assert.equal(ruleOf({ rateLimit: { requestsPerSecond: 1, perClient: "address" } }).rateLimit?.perClient, "address");
  });
});

describe("timeoutHeader and headerFaults", () => {
  it("defaults", () => {
    const c = ok({});
    assert.deepEqual(c.timeoutHeader, { name: "x-meshlet-timeout", outbound: true, inbound: false });
    assert.deepEqual(c.headerFaults, { enabled: false, delayHeader: "x-meshlet-fault-delay", abortHeader: "x-meshlet-fault-abort", maxDelayMs: 60_000 });
  });

  it("every key, header names lower-cased", () => {
    const c = ok({
      timeoutHeader: { name: "X-Deadline", outbound: false, inbound: true },
      headerFaults: { enabled: true, delayHeader: "X-Delay", abortHeader: "x-abort", maxDelay: "5s" },
    });
    assert.deepEqual(c.timeoutHeader, { name: "x-deadline", outbound: false, inbound: true });
    assert.deepEqual(c.headerFaults, { enabled: true, delayHeader: "x-delay", abortHeader: "x-abort", maxDelayMs: 5000 });
  });

  const bad: [Record<string, unknown>, string, RegExp][] = [
    [{ timeoutHeader: { name: "a b" } }, "timeoutHeader.name", /^expected a header name .*received "a b"$/],
    [{ timeoutHeader: { outbound: "yes" } }, "timeoutHeader.outbound", /^expected true or false, received "yes"$/],
    [{ timeoutHeader: true }, "timeoutHeader", /^expected the timeout header settings \(a mapping\), received true$/],
    [{ timeoutHeader: { enabled: true } }, "timeoutHeader.enabled", /^unknown key "enabled" \(expected one of: name, outbound, inbound\)$/],
    [{ headerFaults: { enabled: 1 } }, "headerFaults.enabled", /^expected true or false, received 1$/],
    [{ headerFaults: { maxDelay: "1 minute" } }, "headerFaults.maxDelay", /^expected a duration/],
    [{ headerFaults: { abortHeader: "X-Meshlet-Fault-Delay" } }, "headerFaults.abortHeader", /^abortHeader and delayHeader must differ \(both "x-meshlet-fault-delay"\)$/],
    [{ headerFaults: { delayHeadr: "x" } }, "headerFaults.delayHeadr", /did you mean "delayHeader"\?$/],
  ];
  for (const [input, path, message] of bad) {
    it(`rejects ${JSON.stringify(input)} at ${path}`, () => {
      const issues = errors(input);
      assert.match(issueAt(issues, path).message, message);
      assert.equal(issues.length, 1, JSON.stringify(issues));
    });
  }
});

describe("routes: each bad field, by path", () => {
  const R = "routes[0]";
  const RULE = "routes[0].rules[0]";
  /** [what, the rule (or [rule, route overrides]), path, message, issues in all (default 1)]. */
  const table: [string, Record<string, unknown> | [Record<string, unknown>, Record<string, unknown>], string, RegExp, number?][] = [
    // route
    ["route name", [{}, { name: "-r" }], `${R}.name`, /^expected a route name \(1-63 letters, .*received "-r"$/],
    ["missing name", [{}, { name: undefined }], `${R}.name`, /^missing required key "name"$/],
    ["missing parentRefs", [{}, { parentRefs: undefined }], `${R}.parentRefs`, /^missing required key "parentRefs"$/],
    ["empty parentRefs", [{}, { parentRefs: [] }], `${R}.parentRefs`, /^expected a list of parent references \(services\) with at least one item, received an empty list$/],
    ["parentRef a string", [{}, { parentRefs: ["web"] }], `${R}.parentRefs[0]`, /^expected a parent reference \(a mapping\), received "web"$/],
    ["parentRef extra key", [{}, { parentRefs: [{ name: "web", kind: "Service" }] }], `${R}.parentRefs[0].kind`, /^unknown key "kind" \(expected one of: name\)$/],
    ["hostname with port", [{}, { hostnames: ["web:80"] }], `${R}.hostnames[0]`, /^expected a hostname such as "web\.example\.com" or "\*\.example\.com" \(no port\), received "web:80"$/],
    ["bare wildcard", [{}, { hostnames: ["*"] }], `${R}.hostnames[0]`, /received "\*"$/],
    ["inner wildcard", [{}, { hostnames: ["a.*.com"] }], `${R}.hostnames[0]`, /received "a\.\*\.com"$/],
    ["empty hostname", [{}, { hostnames: [""] }], `${R}.hostnames[0]`, /received ""$/],
    ["no rules", [{}, { rules: [] }], `${R}.rules`, /^expected a list of rules with at least one item, received an empty list$/],
    ["rules a mapping", [{}, { rules: {} }], `${R}.rules`, /^expected a list of rules, received a mapping$/],
    ["route typo", [{}, { parentRef: [] }], `${R}.parentRef`, /did you mean "parentRefs"\?$/],
    // matches
    ["rule typo", { match: [] }, `${RULE}.match`, /did you mean "matches"\?$/],
    ["path type", { matches: [{ path: { type: "Prefix", value: "/" } }] }, `${RULE}.matches[0].path.type`, /^expected "Exact", "PathPrefix" or "RegularExpression", received "Prefix"$/],
    ["Exact without /", { matches: [{ path: { type: "Exact", value: "api" } }] }, `${RULE}.matches[0].path.value`, /^expected a path starting with "\/" .*received "api"$/],
    ["PathPrefix without /", { matches: [{ path: { value: "api" } }] }, `${RULE}.matches[0].path.value`, /received "api"$/],
    ["path with ?", { matches: [{ path: { type: "Exact", value: "/a?b=1" } }] }, `${RULE}.matches[0].path.value`, /no spaces, "\?" or "#"/],
    ["path with space", { matches: [{ path: { type: "Exact", value: "/a b" } }] }, `${RULE}.matches[0].path.value`, /received "\/a b"$/],
    ["Exact without value", { matches: [{ path: { type: "Exact" } }] }, `${RULE}.matches[0].path.value`, /^missing required key "value"$/],
    ["empty regex", { matches: [{ path: { type: "RegularExpression", value: "" } }] }, `${RULE}.matches[0].path.value`, /^expected a regular expression \(a non-empty string\), received ""$/],
    ["bad path regex", { matches: [{ path: { type: "RegularExpression", value: "/a(b" } }] }, `${RULE}.matches[0].path.value`, /^expected a regular expression, received "\/a\(b" \(Invalid regular expression: .*Unterminated group\)$/],
    ["regex escaping the anchors", { matches: [{ path: { type: "RegularExpression", value: "/a)|(/b" } }] }, `${RULE}.matches[0].path.value`, /^expected a regular expression, received/],
    ["bad header regex", { matches: [{ headers: [{ name: "x", value: "[", type: "RegularExpression" }] }] }, `${RULE}.matches[0].headers[0].value`, /Unterminated character class\)$/],
    ["bad query regex", { matches: [{}, { queryParams: [{ name: "q", value: "*", type: "RegularExpression" }] }] }, `${RULE}.matches[1].queryParams[0].value`, /^expected a regular expression, received "\*" \(Invalid regular expression/],
    ["header match type", { matches: [{ headers: [{ name: "x", value: "1", type: "Prefix" }] }] }, `${RULE}.matches[0].headers[0].type`, /^expected "Exact" or "RegularExpression", received "Prefix"$/],
    ["header match name", { matches: [{ headers: [{ name: "x:y", value: "1" }] }] }, `${RULE}.matches[0].headers[0].name`, /^expected a header name/],
    ["header match value", { matches: [{ headers: [{ name: "x", value: 1 }] }] }, `${RULE}.matches[0].headers[0].value`, /^expected a header value \(a string\), received 1$/],
    ["query name", { matches: [{ queryParams: [{ name: "", value: "1" }] }] }, `${RULE}.matches[0].queryParams[0].name`, /^expected a query parameter name \(a non-empty string\), received ""$/],
    ["method", { matches: [{ method: "GET /" }] }, `${RULE}.matches[0].method`, /^expected an HTTP method such as "GET", received "GET \/"$/],
    ["match typo", { matches: [{ queryParam: [] }] }, `${RULE}.matches[0].queryParam`, /did you mean "queryParams"\?$/],
    // filters
    ["filter without type", { filters: [{ urlRewrite: {} }] }, `${RULE}.filters[0].type`, /^missing required key "type" \("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect" or "URLRewrite"\)$/],
    ["unsupported filter", { filters: [{ type: "RequestMirror", requestMirror: {} }] }, `${RULE}.filters[0].type`, /^type "RequestMirror" is not supported by meshlet \(supported: /],
    ["unknown filter", { filters: [{ type: "Rewrite" }] }, `${RULE}.filters[0].type`, /received "Rewrite"$/],
    ["filter body missing", { filters: [{ type: "URLRewrite" }] }, `${RULE}.filters[0].urlRewrite`, /^missing required key "urlRewrite"$/],
    ["filter body of another type", { filters: [{ type: "URLRewrite", urlRewrite: {}, requestRedirect: {} }] }, `${RULE}.filters[0].requestRedirect`, /^unknown key "requestRedirect"/],
    ["modifier header name", { filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "a b", value: "1" }] } }] }, `${RULE}.filters[0].requestHeaderModifier.set[0].name`, /^expected a header name/],
    ["modifier header value with LF", { filters: [{ type: "ResponseHeaderModifier", responseHeaderModifier: { add: [{ name: "a", value: "1\r\nb: 2" }] } }] }, `${RULE}.filters[0].responseHeaderModifier.add[0].value`, /^expected a header value \(printable ASCII, spaces and tabs\)/],
    ["modifier framing header", { filters: [{ type: "ResponseHeaderModifier", responseHeaderModifier: { remove: ["Transfer-Encoding"] } }] }, `${RULE}.filters[0].responseHeaderModifier.remove[0]`, /^header "Transfer-Encoding" cannot be modified: it frames the message or belongs to the connection$/],
    ["request modifier host", { filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "Host", value: "x" }] } }] }, `${RULE}.filters[0].requestHeaderModifier.set[0].name`, /use a URLRewrite filter's hostname$/],
    ["modifier duplicate", { filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-a", value: "1" }, { name: "X-A", value: "2" }] } }] }, `${RULE}.filters[0].requestHeaderModifier.set[1]`, /^header "X-A" is listed twice in set \(also set\[0\]\)$/],
    ["modifier typo", { filters: [{ type: "RequestHeaderModifier", requestHeaderModifier: { delete: ["x"] } }] }, `${RULE}.filters[0].requestHeaderModifier.delete`, /^unknown key "delete" \(expected one of: set, add, remove\)$/],
    ["redirect scheme", { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "ftp" } }] }, `${RULE}.filters[0].requestRedirect.scheme`, /^expected "http" or "https", received "ftp"$/],
    ["redirect status", { filters: [{ type: "RequestRedirect", requestRedirect: { statusCode: 307 } }] }, `${RULE}.filters[0].requestRedirect.statusCode`, /^expected 301 or 302, received 307$/],
    ["redirect port", { filters: [{ type: "RequestRedirect", requestRedirect: { port: 0 } }] }, `${RULE}.filters[0].requestRedirect.port`, /^expected a port \(an integer 1\.\.65535\), received 0$/],
    ["redirect wildcard hostname", { filters: [{ type: "RequestRedirect", requestRedirect: { hostname: "*.example.com" } }] }, `${RULE}.filters[0].requestRedirect.hostname`, /^expected a hostname such as "web\.example\.com" \(no wildcard, no port\)/],
    ["rewrite hostname with port", { filters: [{ type: "URLRewrite", urlRewrite: { hostname: "a:80" } }] }, `${RULE}.filters[0].urlRewrite.hostname`, /received "a:80"$/],
    ["path modifier type", { filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefix", replacePrefixMatch: "/" } } }] }, `${RULE}.filters[0].urlRewrite.path.type`, /^expected "ReplaceFullPath" or "ReplacePrefixMatch", received "ReplacePrefix"$/],
    ["path modifier wrong key", { filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplaceFullPath", replacePrefixMatch: "/" } } }] }, `${RULE}.filters[0].urlRewrite.path.replaceFullPath`, /^missing required key "replaceFullPath"$/, 2],
    ["path modifier value", { filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplaceFullPath", replaceFullPath: "new" } } }] }, `${RULE}.filters[0].urlRewrite.path.replaceFullPath`, /^expected a path starting with "\/"/],
    // backendRefs
    ["backend weight", { backendRefs: [{ name: "web", weight: -1 }] }, `${RULE}.backendRefs[0].weight`, /^expected a weight \(an integer 0\.\.1000000\), received -1$/],
    ["backend weight too big", { backendRefs: [{ name: "web", weight: 1_000_001 }] }, `${RULE}.backendRefs[0].weight`, /received 1000001$/],
    ["backend port", { backendRefs: [{ name: "web", port: 80 }] }, `${RULE}.backendRefs[0].port`, /^unknown key "port" \(expected one of: name, weight\)$/],
    ["backend name", { backendRefs: [{ weight: 1 }] }, `${RULE}.backendRefs[0].name`, /^missing required key "name"$/],
    // timeouts
    ["timeout duration", { timeouts: { request: "1 s" } }, `${RULE}.timeouts.request`, /^expected a duration/],
    ["timeout negative", { timeouts: { idle: -1 } }, `${RULE}.timeouts.idle`, /^expected a non-negative duration, received -1$/],
    ["backendRequest > request", { timeouts: { request: "1s", backendRequest: "2s" } }, `${RULE}.timeouts.backendRequest`, /^backendRequest \(2s\) must not exceed request \(1s\), which covers every try$/],
    ["timeouts typo", { timeouts: { backend: 1 } }, `${RULE}.timeouts.backend`, /did you mean "backendRequest"\?$/],
    // retry
    ["retry attempts", { retry: { attempts: 11 } }, `${RULE}.retry.attempts`, /^expected a retry count \(an integer 0\.\.10\), received 11$/],
    ["retry condition", { retry: { conditions: ["5xx", "timeout"] } }, `${RULE}.retry.conditions[1]`, /^expected "5xx", "gateway-error", "connect-failure" or "reset", received "timeout"$/],
    ["retry code", { retry: { codes: [600] } }, `${RULE}.retry.codes[0]`, /^expected an HTTP status \(an integer 100\.\.599\), received 600$/],
    ["retry method", { retry: { methods: ["GET", 1] } }, `${RULE}.retry.methods[1]`, /^expected an HTTP method such as "GET", received 1$/],
    ["retry backoff base > max", { retry: { backoff: { base: "1s" } } }, `${RULE}.retry.backoff.base`, /^backoff base \(1s\) must not exceed max \(250ms\)$/],
    ["retry backoff duration", { retry: { backoff: { max: "x" } } }, `${RULE}.retry.backoff.max`, /^expected a duration/],
    ["retry bufferLimit", { retry: { bufferLimit: 16 * 1024 * 1024 + 1 } }, `${RULE}.retry.bufferLimit`, /^expected a byte count \(an integer 0\.\.16777216\), received 16777217$/],
    ["retry a boolean", { retry: true }, `${RULE}.retry`, /^expected the retry policy \(a mapping\), received true$/],
    ["retry typo", { retry: { retries: 1 } }, `${RULE}.retry.retries`, /^unknown key "retries"/],
    // fault
    ["empty fault", { fault: {} }, `${RULE}.fault`, /^expected a delay, an abort or both, received neither$/],
    ["fault delay without duration", { fault: { delay: { percentage: 1 } } }, `${RULE}.fault.delay.duration`, /^missing required key "duration"$/],
    ["fault percentage", { fault: { delay: { duration: 1, percentage: 101 } } }, `${RULE}.fault.delay.percentage`, /^expected a percentage \(a number 0\.\.100\), received 101$/],
    ["fault abort status", { fault: { abort: { httpStatus: 199 } } }, `${RULE}.fault.abort.httpStatus`, /^expected an HTTP status \(an integer 200\.\.599\), received 199$/],
    ["fault typo", { fault: { abort: { status: 503 } } }, `${RULE}.fault.abort.status`, /^unknown key "status" \(expected one of: httpStatus, percentage\); did you mean "httpStatus"\?$/, 2],
    // rateLimit
    ["rateLimit without rate", { rateLimit: { burst: 1 } }, `${RULE}.rateLimit.requestsPerSecond`, /^missing required key "requestsPerSecond"$/],
    ["rateLimit 0", { rateLimit: { requestsPerSecond: 0 } }, `${RULE}.rateLimit.requestsPerSecond`, /^expected a rate \(a number greater than 0, at most 1000000000\), received 0$/],
    ["rateLimit burst", { rateLimit: { requestsPerSecond: 1, burst: 0.5 } }, `${RULE}.rateLimit.burst`, /^expected a request count \(an integer 1\.\.1000000000\), received 0\.5$/],
    ["rateLimit perClient", { rateLimit: { requestsPerSecond: 1, perClient: "ip" } }, `${RULE}.rateLimit.perClient`, /^expected "none", "address" or "identity", received "ip"$/],
    ["rateLimit maxClients", { rateLimit: { requestsPerSecond: 1, maxClients: 0 } }, `${RULE}.rateLimit.maxClients`, /^expected a client count \(an integer 1\.\.10000000\), received 0$/],
  ];
  for (const [name, spec, path, message, count = 1] of table) {
    it(`${name}: ${path}`, () => {
      const [rule, route] = Array.isArray(spec) ? spec : [spec, {}];
      const issues = errors(withRoute(rule, route));
      assert.match(issueAt(issues, path).message, message);
      assert.equal(issues.length, count, JSON.stringify(issues, null, 1));
    });
  }
});

describe("routes: cross-checks", () => {
  it("route names are unique", () => {
    const issues = errors({
      services: SERVICES,
      routes: [0, 1, 2].map((i) => ({ name: i === 1 ? "b" : "a", parentRefs: [{ name: "web" }], rules: [{}] })),
    });
    assert.equal(issueAt(issues, "routes[2].name").message, 'duplicate route name "a" (also routes[0])');
    assert.equal(issues.length, 1);
  });

  it("parentRefs and backendRefs name configured services; a parent is listed once", () => {
    const issues = errors({
      services: SERVICES,
      routes: [{ name: "r", parentRefs: [{ name: "web" }, { name: "api" }, { name: "web" }], rules: [{ backendRefs: [{ name: "canary" }, { name: "db" }] }] }],
    });
    assert.equal(issueAt(issues, "routes[0].parentRefs[1].name").message, 'expected the name of a configured service ("web", "canary"), received "api"');
    assert.equal(issueAt(issues, "routes[0].parentRefs[2].name").message, 'parent "web" is listed twice (also parentRefs[0])');
    assert.equal(issueAt(issues, "routes[0].rules[0].backendRefs[1].name").message, 'expected the name of a configured service ("web", "canary"), received "db"');
    assert.equal(issues.length, 3);
    assert.match(issueAt(errors({ routes: [{ name: "r", parentRefs: [{ name: "web" }], rules: [{}] }] }), "routes[0].parentRefs[0].name").message, /\(none configured\), received "web"$/);
  });

  it("a rule without backendRefs needs a route with exactly one parent, unless it redirects", () => {
    const two = { parentRefs: [{ name: "web" }, { name: "canary" }] };
    const issues = errors(withRoute({}, two));
    assert.equal(
      issueAt(issues, "routes[0].rules[0].backendRefs").message,
      "a rule without backendRefs forwards to the route's parent service, so the route needs exactly one parentRef (it has 2)",
    );
    assert.equal(issues.length, 1);
    ok(withRoute({ backendRefs: [{ name: "web" }] }, two));
    ok(withRoute({ filters: [{ type: "RequestRedirect", requestRedirect: { hostname: "example.com" } }] }, two));
  });

  it("RequestRedirect excludes URLRewrite and backendRefs; each filter type once per rule", () => {
    const redirect = { type: "RequestRedirect", requestRedirect: {} };
    const rewrite = { type: "URLRewrite", urlRewrite: {} };
    const mod = { type: "ResponseHeaderModifier", responseHeaderModifier: {} };
    let issues = errors(withRoute({ filters: [redirect, rewrite] }));
    assert.equal(issueAt(issues, "routes[0].rules[0].filters[1].type").message, "a rule cannot have both RequestRedirect (filters[0]) and URLRewrite");
    assert.equal(issues.length, 1);
    issues = errors(withRoute({ filters: [rewrite, redirect] }));
    assert.equal(issueAt(issues, "routes[0].rules[0].filters[1].type").message, "a rule cannot have both URLRewrite (filters[0]) and RequestRedirect");
    issues = errors(withRoute({ filters: [redirect], backendRefs: [{ name: "web" }] }));
    assert.equal(
      issueAt(issues, "routes[0].rules[0].backendRefs").message,
      "a rule with a RequestRedirect filter answers the redirect itself; it cannot have backendRefs",
    );
    issues = errors(withRoute({ filters: [mod, rewrite, mod] }));
    assert.equal(issueAt(issues, "routes[0].rules[0].filters[2].type").message, "a rule may have one ResponseHeaderModifier filter (also filters[0])");
    assert.equal(issues.length, 1);
    ok(withRoute({ filters: [mod, { type: "RequestHeaderModifier", requestHeaderModifier: {} }, rewrite] }));
  });

  it("ReplacePrefixMatch needs every match of its rule to be a PathPrefix match", () => {
    const rewrite = { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } } };
    const redirect = { type: "RequestRedirect", requestRedirect: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } } };
    for (const [filter, key] of [
      [rewrite, "urlRewrite"],
      [redirect, "requestRedirect"],
    ] as const) {
      const issues = errors(withRoute({ matches: [{ path: { value: "/a" } }, { path: { type: "Exact", value: "/b" } }], filters: [filter] }));
      assert.equal(
        issueAt(issues, `routes[0].rules[0].filters[0].${key}.path.type`).message,
        "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match (matches[1] is Exact)",
      );
      assert.equal(issues.length, 1);
      ok(withRoute({ matches: [{ path: { value: "/a" } }, { headers: [{ name: "x", value: "1" }] }, {}], filters: [filter] }));
    }
    // ReplaceFullPath is fine with any match.
    ok(withRoute({ matches: [{ path: { type: "RegularExpression", value: "/a.*" } }], filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplaceFullPath", replaceFullPath: "/" } } }] }));
  });

  it("every problem of a file is listed at once, schema and cross-checks, with YAML positions", () => {
    const issues = errors(`services:
  - name: web
    endpoints: ["127.0.0.1:9001"]
    balancer: fastest
routes:
  - name: r
    parentRefs: [{ name: web }, { name: nope }]
    rules:
      - matches: [{ path: { type: RegularExpression, value: "(" } }]
        retry: { attempts: 99 }
  - name: r
    parentRefs: [{ name: web }]
    rules: [{ backendRefs: [{ name: gone }] }]
`);
    assert.deepEqual(
      issues.map((i) => [i.path, i.line]),
      [
        ["services[0].balancer", 4],
        ["routes[0].parentRefs[1].name", 7],
        // Two parents and no backendRefs: positioned at the rule, as backendRefs is absent.
        ["routes[0].rules[0].backendRefs", 9],
        ["routes[0].rules[0].matches[0].path.value", 9],
        ["routes[0].rules[0].retry.attempts", 10],
        ["routes[1].name", 11],
        ["routes[1].rules[0].backendRefs[0].name", 13],
      ],
    );
  });
});

describe("parses => compiles", () => {
  /** Every candidate pattern: the schema accepts it only if compileRoutes does (here, compiling never throws). */
  const patterns = ["/a.*", "a(b", "/a)|(/b", "[", "[a-z]+", "(?<n>x)\\k<n>", "\\", "x{2,1}", "(?=a)", ".*", "*", "a**", "\\p{L}", "(?<a>x)(?<a>y)"];
  for (const src of patterns) {
    it(`regex ${JSON.stringify(src)}`, () => {
      const rule = {
        matches: [
          { path: { type: "RegularExpression", value: src } },
          { headers: [{ name: "x", value: src, type: "RegularExpression" }], queryParams: [{ name: "q", value: src, type: "RegularExpression" }] },
        ],
      };
      const r = parseConfig(withRoute(rule));
      let compiles = true;
      try {
        compileRoutes([{ name: "r", hostnames: [], rules: [rule] } as unknown as HttpRoute]);
      } catch {
        compiles = false;
      }
      if (r.ok) assert.doesNotThrow(() => compileRoutes(r.config.routes));
      if (!compiles) assert.equal(r.ok, false, "the schema must reject what compileRoutes rejects");
    });
  }

  it("every valid route shape of this file compiles, and a big mixed config does too", () => {
    const c = ok({
      services: SERVICES,
      routes: [
        {
          name: "a",
          parentRefs: [{ name: "web" }],
          hostnames: ["*.example.com", "web.example.com"],
          rules: [
            { matches: [{ path: { type: "PathPrefix", value: "/api/" } }], filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/" } } }] },
            { matches: [{ path: { type: "RegularExpression", value: "/v[0-9]+/.*" }, method: "delete" }], backendRefs: [{ name: "canary", weight: 0 }] },
          ],
        },
        { name: "b", parentRefs: [{ name: "canary" }, { name: "web" }], rules: [{ backendRefs: [{ name: "canary" }] }] },
      ],
    });
    const table = compileRoutes(c.routes);
    const hit = table.match({ authority: "x.example.com", method: "GET", path: "/api/users", query: "", headers: [] });
    assert.equal(hit?.route.name, "a");
    assert.equal(hit?.matchedPrefix, "/api");
  });
});

describe("examples/meshlet.yaml", () => {
  const text = readFileSync(fileURLToPath(new URL("../../../examples/meshlet.yaml", import.meta.url)), "utf8");

  it("parses as shipped: the service policy values shown are the defaults", () => {
    const c = ok(parseConfigTextOk(text));
    const web = c.services.find((s) => s.name === "web")!;
    const db = c.services.find((s) => s.name === "db")!;
    for (const key of ["balancer", "failureAccrual", "retryBudget", "maxPending"] as const) assert.deepEqual(web[key], db[key], key);
    assert.deepEqual(web.endpoints[1], { host: "127.0.0.1", port: 9002, weight: 1 });
    assert.deepEqual(c.routes, []);
    const defaults = ok({});
    assert.deepEqual(c.timeoutHeader, defaults.timeoutHeader);
    assert.deepEqual(c.headerFaults, defaults.headerFaults);
  });

  it('parses with its "#|" example enabled, and the routes compile', () => {
    const enabled = text.replace(/^#\| /gm, "");
    assert.notEqual(enabled, text);
    const c = ok(parseConfigTextOk(enabled));
    assert.deepEqual(
      c.services.map((s) => s.name),
      ["web", "db", "web-v2"],
    );
    assert.equal(c.identity?.id, "spiffe://cluster.local/ns/default/sa/web");
    assert.equal(c.services[2]!.endpoints[0]!.identity, "spiffe://cluster.local/ns/default/sa/web-v2");
    assert.deepEqual(c.inbound?.authorization.rules.map((r) => r.name), ["mesh", "node-probes"]);
    assert.equal(c.inbound?.authorization.routes[0]?.defaultAction, "deny");
    const [route] = c.routes;
    assert.equal(route?.name, "web-canary");
    assert.deepEqual(route?.parentRefs, ["web"]);
    assert.equal(route?.rules.length, 2);
    const [first, second] = route!.rules;
    assert.deepEqual(first!.backendRefs, [
      { name: "web", weight: 90 },
      { name: "web-v2", weight: 10 },
    ]);
    // The retry block shows the defaults: it equals retry: {}.
    assert.deepEqual(first!.retry, ruleOf({ retry: {} }).retry);
    assert.deepEqual(first!.rateLimit, { requestsPerSecond: 100, burst: 100, perClient: "none", maxClients: 10_000 });
    assert.deepEqual(second!.backendRefs, []);
    assert.equal(second!.filters?.[0]?.type, "RequestRedirect");
    compileRoutes(c.routes);
  });
});

/** The config text, checked to parse (so a failure shows the issues), for ok(). */
function parseConfigTextOk(text: string): string {
  const r = parseConfigText(text, "meshlet.yaml");
  if (!r.ok) assert.fail(formatConfigIssues(r.errors, "meshlet.yaml"));
  return text;
}
