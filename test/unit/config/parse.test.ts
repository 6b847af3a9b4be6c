import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatConfigIssues, loadYamlSupport, parseConfig, parseConfigText } from "../../../core/config/mod.ts";
import { errors, issueAt, ok } from "./helpers.ts";

await loadYamlSupport();
import type { MeshletConfig } from "../../../core/config/types.ts";

const MINIMAL = `admin: { port: 4191 }
outbound: { port: 4140 }
inbound: { port: 4143, app: "127.0.0.1:8080" }
services:
  - name: web
    hostnames: [web, web.default.svc.cluster.local]
    endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"]
`;

/** What every service gets when it says nothing about its traffic policy (Linkerd's defaults). */
const SERVICE_POLICY_DEFAULTS = {
  balancer: { kind: "peak-ewma", defaultRttMs: 30, decayMs: 10000 },
  failureAccrual: { consecutiveFailures: 7, minBackoffMs: 1000, maxBackoffMs: 60000, jitter: 0.5 },
  retryBudget: { retryRatio: 0.2, minRetriesPerSec: 10, ttlMs: 10000 },
  maxPending: 100000,
  protocol: "auto",
} as const;


describe("parseConfig: the minimal file and defaults", () => {
  it("parses the minimal form with Linkerd's defaults", () => {
    assert.deepEqual(ok(MINIMAL), {
      admin: { host: "127.0.0.1", port: 4191 },
      outbound: { host: "127.0.0.1", port: 4140, protocol: "detect" },
      inbound: { host: "0.0.0.0", port: 4143, app: { host: "127.0.0.1", port: 8080 }, protocol: "detect", appProtocol: "auto",
        authorization: { defaultAction: "allow", rules: [], routes: [] } },
      services: [
        {
          name: "web",
          hostnames: ["web", "web.default.svc.cluster.local"],
          endpoints: [
            { host: "127.0.0.1", port: 9001 },
            { host: "127.0.0.1", port: 9002 },
          ],
          ...SERVICE_POLICY_DEFAULTS,
        },
      ],
      pool: { maxIdlePerEndpoint: 64, idleTimeoutMs: 3000, connectTimeoutMs: 1000 },
      http2: {
        maxConcurrentStreams: 100, initialWindowSize: 65536, connectionWindowSize: 1048576, maxFrameSize: 16384,
        maxHeaderListSize: 65536, keepAliveIntervalMs: 0, keepAliveTimeoutMs: 20000,
      },
      detect: { timeoutMs: 10000, maxBytes: 1024 },
      responseTimeoutMs: 0,
      shutdownGraceMs: 120000,
      accessLog: { enabled: true },
      forwardedHeaders: true,
      routes: [],
      timeoutHeader: { name: "x-meshlet-timeout", outbound: true, inbound: false },
      clientTimeouts: { headerMs: 10_000, idleMs: 3_600_000 },
      clientHalfClose: false,
      headerFaults: { enabled: false, delayHeader: "x-meshlet-fault-delay", abortHeader: "x-meshlet-fault-abort", maxDelayMs: 60000 },
    });
  });

  it("an empty mapping is a valid config: no inbound, no services", () => {
    const c = ok({});
    assert.equal(c.inbound, undefined);
    assert.deepEqual(c.services, []);
    assert.deepEqual(c.admin, { host: "127.0.0.1", port: 4191 });
    assert.deepEqual(c.outbound, { host: "127.0.0.1", port: 4140, protocol: "detect" });
    assert.equal("opaqueService" in c.outbound, false);
  });

  it("accepts JSON text", () => {
    const c = ok(JSON.stringify({ outbound: { port: 1 }, services: [{ name: "a", endpoints: ["h:1"] }] }, null, "\t"));
    assert.equal(c.outbound.port, 1);
    assert.deepEqual(c.services[0]!.endpoints, [{ host: "h", port: 1 }]);
  });

  it("takes every optional key", () => {
    const c = ok({
      admin: { host: "0.0.0.0", port: 9990 },
      outbound: { host: "::1", port: 0, protocol: "opaque", opaqueService: "db" },
      inbound: { host: "10.0.0.1", port: 4143, app: { host: "localhost", port: 80 }, protocol: "opaque" },
      services: [{ name: "db", endpoints: [], listen: { port: 15432 } }],
      pool: { maxIdlePerEndpoint: 0, idleTimeout: "10s", connectTimeout: 250 },
      detect: { timeout: "1s", maxBytes: 4096 },
      responseTimeout: "30s",
      shutdownGrace: "5s",
      accessLog: false,
      forwardedHeaders: false,
    });
    assert.deepEqual(c.outbound, { host: "::1", port: 0, protocol: "opaque", opaqueService: "db" });
    assert.deepEqual(c.services[0], {
      name: "db",
      hostnames: [],
      endpoints: [],
      listen: { host: "127.0.0.1", port: 15432, protocol: "detect" },
      ...SERVICE_POLICY_DEFAULTS,
    });
    assert.deepEqual(c.pool, { maxIdlePerEndpoint: 0, idleTimeoutMs: 10000, connectTimeoutMs: 250 });
    assert.deepEqual(c.detect, { timeoutMs: 1000, maxBytes: 4096 });
    assert.equal(c.responseTimeoutMs, 30000);
    assert.equal(c.shutdownGraceMs, 5000);
    assert.deepEqual(c.accessLog, { enabled: false });
    assert.equal(c.forwardedHeaders, false);
  });

  it("accessLog takes a boolean or {enabled}", () => {
    assert.deepEqual(ok({ accessLog: { enabled: false } }).accessLog, { enabled: false });
    assert.deepEqual(ok({ accessLog: {} }).accessLog, { enabled: true });
    assert.deepEqual(ok({ accessLog: true }).accessLog, { enabled: true });
  });
});

describe("parseConfig: durations", () => {
  const table: [unknown, number][] = [
    [0, 0],
    [250, 250],
    [1.5, 1.5],
    ["0", 0],
    ["500ms", 500],
    ["10s", 10_000],
    ["1.5s", 1500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1m30s", 90_000],
    [" 3s ", 3000],
  ];
  for (const [input, ms] of table) {
    it(`${JSON.stringify(input)} -> ${ms} ms`, () => assert.equal(ok({ responseTimeout: input }).responseTimeoutMs, ms));
  }
  const bad: unknown[] = ["10", "10 s", "10sec", "1d", "-1s", -1, "", true, null, [], Number.POSITIVE_INFINITY, "30d"];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input) ?? String(input)}`, () => {
      const issue = issueAt(errors({ responseTimeout: input }), "responseTimeout");
      assert.match(issue.message, /^expected (a|a non-negative) duration/);
      assert.match(issue.message, /received /);
    });
  }
  it("timeouts that must be positive reject 0", () => {
    const issues = errors({ pool: { connectTimeout: 0 }, detect: { timeout: "0ms" } });
    assert.match(issueAt(issues, "pool.connectTimeout").message, /at least 1ms, received 0/);
    assert.match(issueAt(issues, "detect.timeout").message, /at least 1ms, received "0ms"/);
  });
  it("caps durations at the timer limit (about 24.8 days)", () => {
    assert.equal(ok({ shutdownGrace: 2_147_483_647 }).shutdownGraceMs, 2_147_483_647);
    assert.match(issueAt(errors({ shutdownGrace: "600h" }), "shutdownGrace").message, /at most 2147483647ms/);
  });
});

describe("parseConfig: addresses", () => {
  const endpoints = (eps: unknown[]) => ok({ services: [{ name: "s", endpoints: eps }] }).services[0]!.endpoints;

  it("host:port, IPv6 in brackets, and {host, port}", () => {
    assert.deepEqual(
      endpoints(["10.0.0.1:80", "Web.Local:8080", "[::1]:9000", "[2001:DB8::1]:443", { host: "::1", port: 1 }, { host: "[fe80::1]", port: 2 }, { host: "a", port: 65535 }]),
      [
        { host: "10.0.0.1", port: 80 },
        { host: "web.local", port: 8080 },
        { host: "::1", port: 9000 },
        { host: "2001:db8::1", port: 443 },
        { host: "::1", port: 1 },
        { host: "fe80::1", port: 2 },
        { host: "a", port: 65535 },
      ],
    );
  });

  const bad: [unknown, RegExp][] = [
    ["127.0.0.1", /missing :port/],
    ["::1:80", /IPv6 addresses need brackets/],
    ["[::1]80", /missing :port/],
    ["[::1:80", /missing \]/],
    ["host:0", /1\.\.65535/],
    ["host:65536", /1\.\.65535/],
    ["host:http", /1\.\.65535/],
    ["bad host:80", /bad host/],
    [":80", /bad host/],
    [8080, /received 8080$/],
    [null, /received null$/],
  ];
  for (const [input, detail] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      const issue = issueAt(errors({ services: [{ name: "s", endpoints: [input] }] }), "services[0].endpoints[0]");
      assert.match(issue.message, /^expected an address "host:port"/);
      assert.match(issue.message, detail);
    });
  }

  it("object addresses are checked field by field", () => {
    const issues = errors({ services: [{ name: "s", endpoints: [{ host: "a", port: 0 }, { host: "a b", port: 1 }, { port: 1, extra: 1 }] }] });
    assert.match(issueAt(issues, "services[0].endpoints[0].port").message, /expected a port \(an integer 1\.\.65535\), received 0/);
    assert.match(issueAt(issues, "services[0].endpoints[1].host").message, /expected a host .*received "a b"/);
    assert.match(issueAt(issues, "services[0].endpoints[2].host").message, /missing required key "host"/);
    assert.match(issueAt(issues, "services[0].endpoints[2].extra").message, /unknown key "extra"/);
  });

  it("listener ports may be 0 (OS-chosen), endpoint ports may not", () => {
    assert.equal(ok({ outbound: { port: 0 }, admin: { port: 0 } }).outbound.port, 0);
    assert.match(issueAt(errors({ inbound: { app: "127.0.0.1:0" } }), "inbound.app").message, /1\.\.65535/);
    assert.match(issueAt(errors({ admin: { port: 65536 } }), "admin.port").message, /integer 0\.\.65535\), received 65536/);
    assert.match(issueAt(errors({ admin: { port: 1.5 } }), "admin.port").message, /received 1\.5/);
    assert.match(issueAt(errors({ admin: { port: "4191" } }), "admin.port").message, /received "4191"/);
  });

  it("listener hosts: IPv6 loses its brackets, names are lower-cased", () => {
    assert.equal(ok({ outbound: { host: "[::]" } }).outbound.host, "::");
    assert.equal(ok({ outbound: { host: "LocalHost" } }).outbound.host, "localhost");
  });
});

describe("parseConfig: services and hostnames", () => {
  it("hostnames are lower-cased and may carry a port", () => {
    const c = ok({ services: [{ name: "s", hostnames: ["Web.Example.COM", "web:8080", "[::1]:80", "10.0.0.1"], endpoints: [] }] });
    assert.deepEqual(c.services[0]!.hostnames, ["web.example.com", "web:8080", "[::1]:80", "10.0.0.1"]);
  });

  it("rejects bad hostnames and names", () => {
    const issues = errors({
      services: [{ name: "-bad", hostnames: ["a b", "web:0", "web:x", "", "a..b", 5], endpoints: [] }, { name: 7, endpoints: [] }],
    });
    assert.match(issueAt(issues, "services[0].name").message, /expected a service name .*received "-bad"/);
    for (const i of [0, 1, 2, 3, 4, 5]) assert.match(issueAt(issues, `services[0].hostnames[${i}]`).message, /^expected a hostname/);
    assert.match(issueAt(issues, "services[1].name").message, /received 7/);
  });

  it("duplicate service names and hostnames (across and within services, case-insensitively)", () => {
    const issues = errors({
      services: [
        { name: "web", hostnames: ["web", "www"], endpoints: [] },
        { name: "api", hostnames: ["API", "WEB"], endpoints: [] },
        { name: "web", hostnames: ["api", "x", "x"], endpoints: [] },
      ],
    });
    assert.equal(issueAt(issues, "services[2].name").message, 'duplicate service name "web" (also services[0])');
    assert.equal(issueAt(issues, "services[1].hostnames[1]").message, 'duplicate hostname "web" (already routes to service "web")');
    assert.equal(issueAt(issues, "services[2].hostnames[0]").message, 'duplicate hostname "api" (already routes to service "api")');
    assert.equal(issueAt(issues, "services[2].hostnames[2]").message, 'duplicate hostname "x" (listed twice in this service)');
    assert.equal(issues.length, 4);
  });

  it("outbound.opaqueService must name a service", () => {
    const issues = errors({ outbound: { opaqueService: "db" }, services: [{ name: "web", endpoints: [] }] });
    assert.equal(issueAt(issues, "outbound.opaqueService").message, 'expected the name of a configured service ("web"), received "db"');
    assert.equal(ok({ outbound: { opaqueService: "web" }, services: [{ name: "web", endpoints: [] }] }).outbound.opaqueService, "web");
  });

  it("endpoints are required (an empty list is fine: 503 no endpoints)", () => {
    assert.match(issueAt(errors({ services: [{ name: "web" }] }), "services[0].endpoints").message, /missing required key "endpoints"/);
    assert.deepEqual(ok({ services: [{ name: "web", endpoints: [] }] }).services[0]!.endpoints, []);
  });

  it("listeners may not share a port; wildcards overlap; port 0 never clashes", () => {
    const issues = errors({
      admin: { port: 4140 },
      inbound: { host: "0.0.0.0", port: 15000, app: "127.0.0.1:8080" },
      services: [{ name: "a", endpoints: [], listen: { port: 15000 } }],
    });
    assert.match(issueAt(issues, "outbound.port").message, /port 4140 on 127\.0\.0\.1 is already used by admin \(127\.0\.0\.1:4140\)/);
    assert.match(issueAt(issues, "services[0].listen.port").message, /already used by inbound \(0\.0\.0\.0:15000\)/);
    ok({ admin: { port: 0 }, outbound: { port: 0 }, services: [{ name: "a", endpoints: [], listen: { port: 0 } }] });
    ok({ admin: { host: "127.0.0.2", port: 4140 } });
  });

  it("the inbound app may not be the inbound listener itself", () => {
    assert.match(issueAt(errors({ inbound: { app: "127.0.0.1:4143" } }), "inbound.app").message, /forwarding loop/);
    ok({ inbound: { app: "10.1.2.3:4143" } });
  });
});

describe("parseConfig: errors", () => {
  it("lists every bad field of one file, with paths, expected and received", () => {
    const issues = errors(`admin: { port: 99999, hots: x }
outbound: { port: 4140, opaqueService: db, protocl: opaque }
inbound: { port: 4143 }
services:
  - name: web
    hostnames: [web, "a b"]
    endpoints: ["127.0.0.1", 5, {host: x}]
  - name: web
    hostname: [web]
    endpoints: []
    listen: {port: 4140}
pool: { idleTimeout: "10 sec", connectTimeout: 0, maxIdlePerEndpoint: -1 }
detect: []
accessLog: yes
responseTimeout: 40d
forwardedHeaders: "true"
`);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    assert.deepEqual(
      issues.map((i) => i.path),
      [
        "admin.port",
        "admin.hots",
        "outbound.opaqueService",
        "outbound.protocl",
        "inbound.app",
        "services[0].hostnames[1]",
        "services[0].endpoints[0]",
        "services[0].endpoints[1]",
        "services[0].endpoints[2].port",
        "services[1].name",
        "services[1].hostname",
        "services[1].listen.port",
        "pool.idleTimeout",
        "pool.connectTimeout",
        "pool.maxIdlePerEndpoint",
        "detect",
        "accessLog",
        "responseTimeout",
        "forwardedHeaders",
      ],
    );
    assert.equal(byPath["admin.port"]!.message, "expected a port (an integer 0..65535), received 99999");
    assert.deepEqual([byPath["admin.port"]!.line, byPath["admin.port"]!.column], [1, 16]);
    assert.deepEqual([byPath["services[0].endpoints[1]"]!.line, byPath["services[0].endpoints[1]"]!.column], [7, 30]);
    assert.equal(byPath["inbound.app"]!.message, 'missing required key "app"');
    assert.equal(byPath["detect"]!.message, "expected the protocol detection settings (a mapping), received a list (0 items)");
    assert.equal(byPath["accessLog"]!.message, 'expected true, false or a mapping {enabled}, received "yes"');
    assert.equal(byPath["forwardedHeaders"]!.message, 'expected true or false, received "true"');
    for (const i of issues) assert.ok(i.line !== undefined && i.column !== undefined, `${i.path} has a position`);
  });

  it("unknown keys are reported by path, every one of them, with a suggestion", () => {
    const issues = errors({ servics: [], outbound: { prot: 1, Port: 1 }, pool: { idle_timeout: "1s" }, services: [{ name: "a", endpoints: [], hostname: [] }] });
    assert.match(issueAt(issues, "servics").message, /^unknown key "servics" \(expected one of: admin, outbound, .*\); did you mean "services"\?$/);
    assert.match(issueAt(issues, "outbound.prot").message, /unknown key "prot"/);
    assert.match(issueAt(issues, "outbound.Port").message, /did you mean "port"\?/);
    assert.match(issueAt(issues, "pool.idle_timeout").message, /did you mean "idleTimeout"\?/);
    assert.match(issueAt(issues, "services[0].hostname").message, /did you mean "hostnames"\?/);
    assert.equal(issues.length, 5);
  });

  it("wrong types at every level", () => {
    assert.deepEqual(parseConfig(null), { ok: false, errors: [{ path: "", message: "expected the configuration (a mapping), received null" }] });
    assert.equal(issueAt(errors([1]), "").message, "expected the configuration (a mapping), received a list (1 item)");
    assert.equal(issueAt(errors({ services: {} }), "services").message, "expected a list of services, received a mapping");
    assert.equal(issueAt(errors({ services: [1] }), "services[0]").message, "expected a service (a mapping), received 1");
    assert.equal(issueAt(errors({ services: [{ name: "a", endpoints: "x:1" }] }), "services[0].endpoints").message, 'expected a list of endpoint addresses, received "x:1"');
    assert.equal(issueAt(errors({ outbound: { protocol: "http" } }), "outbound.protocol").message, 'expected "detect" or "opaque", received "http"');
    assert.equal(issueAt(errors({ detect: { maxBytes: 8 } }), "detect.maxBytes").message, "expected a byte count (an integer 24..65536), received 8");
  });

  it("keys that are not identifiers are quoted in paths", () => {
    assert.equal(errors({ "a b": 1 })[0]!.path, '["a b"]');
  });
});

describe("parseConfigText: syntax errors and positions", () => {
  it("a YAML syntax error comes back with line and column", () => {
    const issues = errors("outbound: { port: 4140 }\nservices: [1, 2\nadmin: {}\n");
    assert.equal(issues.length >= 1, true);
    assert.equal(issues[0]!.path, "");
    assert.match(issues[0]!.message, /^YAML syntax error: /);
    assert.equal(issues[0]!.line, 3);
    assert.equal(typeof issues[0]!.column, "number");
  });

  it("duplicate keys are syntax errors (the later one would silently win otherwise)", () => {
    const issues = errors("outbound: { port: 1 }\noutbound: { port: 2 }\n");
    assert.match(issues[0]!.message, /Map keys must be unique/);
    assert.equal(issues[0]!.line, 2);
  });

  it("JSON syntax errors are labelled JSON", () => {
    const r = parseConfigText('{"outbound": {"port": 1,}', "meshlet.json");
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.errors[0]!.message, /^JSON syntax error: /);
      assert.equal(r.errors[0]!.line, 1);
    }
  });

  it("an empty file is an error", () => {
    assert.equal(errors("")[0]!.message, "expected the configuration (a mapping), received an empty document");
    assert.equal(errors("# only a comment\n")[0]!.message, "expected the configuration (a mapping), received an empty document");
  });

  it("formatConfigIssues reads like a compiler", () => {
    const r = parseConfigText("admin:\n  port: -1\n", "m.yaml");
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(formatConfigIssues(r.errors, "m.yaml"), "m.yaml:2:9: admin.port: expected a port (an integer 0..65535), received -1");
    assert.equal(formatConfigIssues([{ path: "", message: "m" }, { path: "a", message: "n" }]), "(top level): m\na: n");
  });
});
