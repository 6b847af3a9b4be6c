// The identity / authorization / meshed-endpoint schemas (core/config/identity-schema.ts), through valibot
// directly since they are not wired into the config file yet: outputs, defaults, every error at its path,
// and "parses => compileAuthz accepts".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as v from "valibot";
import { Authorization, Identity, MeshedEndpoint, SpiffeIdString, TrustDomain } from "../../../core/config/identity-schema.ts";
import { formatPath } from "../../../core/config/mod.ts";
import { compileAuthz } from "../../../core/identity/authz.ts";

interface Issue {
  path: string;
  message: string;
}

function issues(schema: v.GenericSchema, input: unknown): Issue[] {
  const r = v.safeParse(schema, input);
  if (r.success) assert.fail(`expected errors, got ${JSON.stringify(r.output)}`);
  return r.issues.map((i) => ({
    path: formatPath((i.path ?? []).map((p) => p.key).filter((k): k is string | number => typeof k === "string" || typeof k === "number")),
    message: i.message,
  }));
}

function ok<T>(schema: v.GenericSchema<unknown, T>, input: unknown): T {
  const r = v.safeParse(schema, input);
  if (!r.success) assert.fail(`expected success, got ${JSON.stringify(issues(schema, input))}`);
  return r.output;
}

/** The single issue at `path`, whose message matches. */
function issueAt(list: Issue[], path: string, message: RegExp): void {
  const found = list.filter((i) => i.path === path);
  assert.equal(found.length, 1, `one issue at ${path}, got: ${JSON.stringify(list, null, 1)}`);
  assert.match(found[0]!.message, message);
}

describe("Identity", () => {
  const base = { id: "spiffe://example.org/ns/web/sa/api", trustAnchorsFile: "/etc/mesh/ca.pem" };
  const files = { ...base, certFile: "cert.pem", keyFile: "key.pem" };
  const issuer = { certFile: "ca.pem", keyFile: "ca.key" };

  it("accepts a certificate from files, or an issuer (lifetime defaulted, key optionally written out)", () => {
    assert.deepEqual(ok(Identity, files), files);
    assert.deepEqual(ok(Identity, { ...base, issuer }), { ...base, issuer: { ...issuer, lifetimeMs: 86_400_000 } });
    assert.deepEqual(ok(Identity, { ...base, issuer: { ...issuer, lifetime: "30s" }, keyOutFile: "/run/key.pem" }), {
      ...base,
      issuer: { ...issuer, lifetimeMs: 30_000 },
      keyOutFile: "/run/key.pem",
    });
    assert.equal("issuer" in ok(Identity, files), false);
  });

  const bad: [unknown, string, RegExp][] = [
    [{ trustAnchorsFile: "a", certFile: "c", keyFile: "k" }, "id", /missing required key/],
    [{ ...files, id: "spiffe://Example.org/ns/a/sa/b" }, "id", /expected a SPIFFE ID .*received "spiffe:\/\/Example.org\/ns\/a\/sa\/b"/],
    [{ ...files, id: "spiffe://example.org" }, "id", /a workload's SPIFFE ID has a path/],
    [{ ...files, id: 7 }, "id", /received 7$/],
    [{ id: base.id, certFile: "c", keyFile: "k" }, "trustAnchorsFile", /missing required key/],
    [{ ...files, trustAnchorsFile: "" }, "trustAnchorsFile", /expected a file path \(a non-empty string\), received ""/],
    [{ ...files, certFile: ["a"] }, "certFile", /expected a file path .*received a list/],
    [{ ...base, certFile: "c.pem" }, "keyFile", /missing keyFile: certFile needs the private key/],
    [{ ...base, keyFile: "k.pem" }, "certFile", /missing certFile/],
    [{ ...base }, "", /expected certFile and keyFile .* or issuer .*received neither/],
    [{ ...files, issuer }, "issuer", /issuer and certFile\/keyFile exclude each other/],
    [{ ...base, issuer: { certFile: "ca.pem" } }, "issuer.keyFile", /missing required key/],
    [{ ...base, issuer: { ...issuer, lifetime: "10ms" } }, "issuer.lifetime", /duration/],
    [{ ...files, keyOutFile: "o.pem" }, "keyOutFile", /it needs issuer/],
    [{ ...base, issuer, keyOutFile: "/etc/mesh/ca.pem" }, "keyOutFile", /would overwrite trustAnchorsFile/],
    [{ ...base, issuer, keyOutfile: "x" }, "keyOutfile", /unknown key "keyOutfile" .*did you mean "keyOutFile"\?/],
    [{ ...files, ids: "x" }, "ids", /unknown key .*did you mean "id"\?/],
  ];
  for (const [input, path, message] of bad) {
    it(`reports ${path || "(identity)"}: ${message.source.slice(0, 50)}`, () => issueAt(issues(Identity, input), path, message));
  }

  it("reports every problem at once", () => {
    const list = issues(Identity, { id: "", certFile: "c", bogus: 1 });
    assert.deepEqual(list.map((i) => i.path).sort(), ["bogus", "id", "keyFile", "trustAnchorsFile"]);
  });

  it("is a mapping", () => assert.match(issues(Identity, ["x"])[0]!.message, /expected the identity settings \(a mapping\), received a list/));
});

describe("Authorization", () => {
  it('defaults to allow with no rules', () => {
    assert.deepEqual(ok(Authorization, {}), { defaultAction: "allow", rules: [], routes: [] });
    assert.deepEqual(ok(Authorization, { default: "deny" }), { defaultAction: "deny", rules: [], routes: [] });
  });

  it("transforms to the AuthzPolicy, leaving absent keys out, and compiles", () => {
    const input = {
      default: "deny",
      rules: [
        { name: "web", identities: ["spiffe://example.org/ns/web/*", "spiffe://example.org/ns/a/sa/b", "*"] },
        { name: "probes", unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", except: ["10.0.99.0/24"] }, { cidr: "fd00::/8" }] },
        { name: "both", identities: ["*"], unauthenticated: false, networks: [{ cidr: "::ffff:192.168.0.0/112" }] },
      ],
    };
    const policy = ok(Authorization, input);
    assert.deepEqual(policy, {
      defaultAction: "deny",
      rules: [
        { name: "web", identities: ["spiffe://example.org/ns/web/*", "spiffe://example.org/ns/a/sa/b", "*"] },
        { name: "probes", unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", except: ["10.0.99.0/24"] }, { cidr: "fd00::/8" }] },
        { name: "both", identities: ["*"], unauthenticated: false, networks: [{ cidr: "::ffff:192.168.0.0/112" }] },
      ],
      routes: [],
    });
    const authz = compileAuthz(policy);
    assert.deepEqual(authz.decide({ address: "10.0.0.1" }), { allowed: true, rule: "probes" });
    assert.deepEqual(authz.decide({ address: "10.0.99.1" }), { allowed: false, rule: "default" });
    assert.deepEqual(authz.decide({ address: "192.168.3.4", identity: "spiffe://other.org/x" }), { allowed: true, rule: "web" });
  });

  it("takes route policies with their matches, denying by default", () => {
    const policy = ok(Authorization, {
      routes: [{ name: "admin", matches: [{ path: { type: "PathPrefix", value: "/admin" } }], rules: [{ name: "ops", identities: ["spiffe://example.org/ns/ops/*"] }] }],
    });
    assert.deepEqual(policy.routes, [{
      name: "admin",
      matches: [{ path: { type: "PathPrefix", value: "/admin" } }],
      defaultAction: "deny",
      rules: [{ name: "ops", identities: ["spiffe://example.org/ns/ops/*"] }],
    }]);
    assert.equal(policy.defaultAction, "allow");
  });

  it("reports bad route policies at their paths", () => {
    issueAt(issues(Authorization, { routes: [{ name: "a" }] }), "routes[0].matches", /missing required key/);
    issueAt(issues(Authorization, { routes: [{ name: "a", matches: [] }] }), "routes[0].matches", /at least one item/);
    issueAt(issues(Authorization, { routes: [{ name: "a", matches: [{ paht: {} }] }] }), "routes[0].matches[0].paht", /did you mean "path"/);
    const m = [{ method: "GET" }];
    issueAt(issues(Authorization, { routes: [{ name: "a", matches: m }, { name: "a", matches: m }] }), "routes[1].name", /route name "a" is used twice \(also routes\[0\]\)/);
    issueAt(
      issues(Authorization, { routes: [{ name: "a", matches: m, rules: [{ name: "r", unauthenticated: true }, { name: "r", unauthenticated: true }] }] }),
      "routes[0].rules[1].name",
      /rule name "r" is used twice/,
    );
  });

  const rule = (r: Record<string, unknown>) => ({ rules: [{ name: "r", ...r }] });
  const bad: [unknown, string, RegExp][] = [
    [{ default: "Deny" }, "default", /expected "allow" or "deny", received "Deny"/],
    [{ rules: {} }, "rules", /expected a list of authorization rules, received a mapping/],
    [{ rules: [{ identities: ["*"] }] }, "rules[0].name", /missing required key/],
    [{ rules: [{ name: "bad name", identities: ["*"] }] }, "rules[0].name", /expected a rule name/],
    [rule({ identities: ["spiffe://x/ns/*/sa/y"] }), "rules[0].identities[0]", /expected an identity: .*received "spiffe:\/\/x\/ns\/\*\/sa\/y" \("\*" may only stand alone/],
    [rule({ identities: ["spiffe://Example.org/*"] }), "rules[0].identities[0]", /lower-case/],
    [rule({ identities: ["spiffe://example.org"] }), "rules[0].identities[0]", /always has a path/],
    [rule({ identities: [] }), "rules[0].identities", /at least one item/],
    [rule({ identities: "*" }), "rules[0].identities", /expected a list of identities, received "\*"/],
    [rule({ unauthenticated: true, networks: [{ cidr: "10.0.0.0/33" }] }), "rules[0].networks[0].cidr", /prefix length must be 0\.\.32/],
    [rule({ unauthenticated: true, networks: [{ cidr: "10.1.2.3/8" }] }), "rules[0].networks[0].cidr", /host bits are set; the network is 10\.0\.0\.0\/8/],
    [rule({ unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", except: ["10.0.0.0/24", "11.0.0.0/8"] }] }), "rules[0].networks[0].except[1]", /"11\.0\.0\.0\/8" is not inside the network "10\.0\.0\.0\/8"/],
    [rule({ unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", except: ["nope"] }] }), "rules[0].networks[0].except[0]", /expected a CIDR/],
    [rule({ unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", exclude: [] }] }), "rules[0].networks[0].exclude", /unknown key "exclude"/],
    [rule({ unauthenticated: true, networks: [] }), "rules[0].networks", /at least one item/],
    [rule({ unauthenticated: true, networks: ["10.0.0.0/8"] }), "rules[0].networks[0]", /expected a network \(a mapping\)/],
    [rule({ unauthenticated: "yes" }), "rules[0].unauthenticated", /expected true or false, received "yes"/],
    [rule({ identities: ["*"], unauthenticated: true }), "rules[0].unauthenticated", /exclude each other/],
    [rule({}), "rules[0]", /expected identities .* or unauthenticated: true .*, received neither/],
    [rule({ networks: [{ cidr: "10.0.0.0/8" }] }), "rules[0]", /received neither/],
    [rule({ unauthenticated: false }), "rules[0]", /received neither/],
    [rule({ identity: ["*"] }), "rules[0].identity", /unknown key "identity" \(expected one of: name, identities, networks, unauthenticated\)/],
    [{ rules: [{ name: "a", identities: ["*"] }, { name: "b", identities: ["*"] }, { name: "a", unauthenticated: true }] }, "rules[2].name", /rule name "a" is used twice \(also rules\[0\]\)/],
    [{ rule: [] }, "rule", /did you mean "rules"\?/],
  ];
  for (const [input, path, message] of bad) {
    it(`reports ${path}: ${message.source.slice(0, 60)}`, () => issueAt(issues(Authorization, input), path, message));
  }

  it("reports problems in several rules at once", () => {
    const list = issues(Authorization, {
      rules: [
        { name: "a", identities: ["bad"] },
        { name: "a", unauthenticated: true, networks: [{ cidr: "x" }] },
      ],
    });
    assert.deepEqual(list.map((i) => i.path).sort(), ["rules[0].identities[0]", "rules[1].name", "rules[1].networks[0].cidr"]);
  });
});

describe("SpiffeIdString, TrustDomain and MeshedEndpoint", () => {
  it("SpiffeIdString: a workload's SPIFFE ID", () => {
    assert.equal(ok(SpiffeIdString, "spiffe://example.org/ns/default/sa/web"), "spiffe://example.org/ns/default/sa/web");
    issueAt(issues(SpiffeIdString, "spiffe://example.org"), "", /received "spiffe:\/\/example.org" \(a workload's SPIFFE ID has a path/);
    issueAt(issues(SpiffeIdString, "spiffe://example.org/ns/"), "", /may not end with "\/"/);
    issueAt(issues(SpiffeIdString, "https://example.org/x"), "", /^expected a SPIFFE ID such as "spiffe:\/\/example.org\/ns\/default\/sa\/web", received "https:\/\/example.org\/x" \(the scheme must be "spiffe"/);
    issueAt(issues(SpiffeIdString, 1), "", /received 1$/);
  });

  it("TrustDomain", () => {
    assert.equal(ok(TrustDomain, "cluster.local"), "cluster.local");
    issueAt(issues(TrustDomain, ""), "", /trust domain is missing/);
  });

  it("MeshedEndpoint: host:port, or a mapping with an optional identity", () => {
    assert.deepEqual(ok(MeshedEndpoint, "10.0.0.1:8080"), { host: "10.0.0.1", port: 8080 });
    assert.deepEqual(ok(MeshedEndpoint, { host: "web", port: 80 }), { host: "web", port: 80 });
    assert.deepEqual(ok(MeshedEndpoint, { host: "web", port: 80, weight: 3, identity: "spiffe://example.org/ns/default/sa/web" }), {
      host: "web",
      port: 80,
      weight: 3,
      identity: "spiffe://example.org/ns/default/sa/web",
    });
    issueAt(issues(MeshedEndpoint, { host: "web", port: 80, identity: "spiffe://example.org/" }), "identity", /expected a SPIFFE ID .*may not end with "\/"/);
    issueAt(issues(MeshedEndpoint, { host: "web", port: 0, identity: "spiffe://td/x" }), "port", /expected a port/);
    issueAt(issues(MeshedEndpoint, { host: "web", port: 1, idenity: "x" }), "idenity", /did you mean "identity"\?/);
    issueAt(issues(MeshedEndpoint, 5), "", /expected an address "host:port"/);
  });
});
