// Inbound authorization decisions: identity patterns (exact, "/*" prefixes, "*"), unauthenticated clients,
// networks (IPv4, IPv6, excepts, v4-mapped addresses), defaults, first-match rule names; IP and CIDR parsing;
// compile errors.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AuthzError,
  compileAuthz,
  formatCidr,
  parseCidr,
  parseIdentityPattern,
  parseIp,
  type AuthzPolicy,
  type AuthzRule,
  type ClientInfo,
} from "../../../core/identity/authz.ts";

const WEB = "spiffe://example.org/ns/web/sa/api";
const WEB2 = "spiffe://example.org/ns/web/sa/worker";
const DB = "spiffe://example.org/ns/db/sa/pg";
const OTHER_TD = "spiffe://other.org/ns/web/sa/api";

/** [client, expected rule name ("default" = no rule), allowed?] */
type Row = [ClientInfo, string, boolean];

function check(policy: AuthzPolicy, rows: Row[]): void {
  const authz = compileAuthz(policy);
  for (const [client, rule, allowed] of rows) {
    assert.deepEqual(authz.decide(client), { allowed, rule }, JSON.stringify(client));
  }
}

const deny = (...rules: AuthzRule[]): AuthzPolicy => ({ defaultAction: "deny", rules });
const c = (address: string, identity?: string): ClientInfo => (identity === undefined ? { address } : { address, identity });

describe("identities", () => {
  it("exact IDs", () => {
    check(deny({ name: "web", identities: [WEB, DB] }), [
      [c("10.0.0.1", WEB), "web", true],
      [c("10.0.0.1", DB), "web", true],
      [c("10.0.0.1", WEB2), "default", false],
      [c("10.0.0.1", `${WEB}/x`), "default", false],
      [c("10.0.0.1", OTHER_TD), "default", false],
      [c("10.0.0.1"), "default", false],
    ]);
  });

  it("prefix patterns: one or more further segments, never the prefix itself or a longer segment", () => {
    check(deny({ name: "ns-web", identities: ["spiffe://example.org/ns/web/*"] }), [
      [c("10.0.0.1", WEB), "ns-web", true],
      [c("10.0.0.1", WEB2), "ns-web", true],
      [c("10.0.0.1", "spiffe://example.org/ns/web/a/b/c"), "ns-web", true],
      [c("10.0.0.1", "spiffe://example.org/ns/web"), "default", false],
      [c("10.0.0.1", "spiffe://example.org/ns/webx/sa/api"), "default", false],
      [c("10.0.0.1", DB), "default", false],
      [c("10.0.0.1", OTHER_TD), "default", false],
      [c("10.0.0.1"), "default", false],
    ]);
  });

  it("a whole trust domain: spiffe://td/*", () => {
    check(deny({ name: "td", identities: ["spiffe://example.org/*"] }), [
      [c("1.2.3.4", WEB), "td", true],
      [c("1.2.3.4", DB), "td", true],
      [c("1.2.3.4", OTHER_TD), "default", false],
      [c("1.2.3.4", "spiffe://example.org.evil/ns/a/sa/b"), "default", false],
    ]);
  });

  it('"*": any authenticated client, never an unauthenticated one', () => {
    check(deny({ name: "any", identities: ["*"] }), [
      [c("1.2.3.4", WEB), "any", true],
      [c("1.2.3.4", OTHER_TD), "any", true],
      [c("1.2.3.4"), "default", false],
      [c("1.2.3.4", ""), "default", false],
    ]);
  });

  it("unauthenticated: true admits clients with and without an identity", () => {
    check(deny({ name: "all", unauthenticated: true }), [
      [c("1.2.3.4"), "all", true],
      [c("1.2.3.4", WEB), "all", true],
      [c("not an address"), "all", true],
    ]);
  });
});

describe("networks", () => {
  it("IPv4 CIDRs with excepts", () => {
    check(deny({ name: "lan", unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", except: ["10.0.99.0/24", "10.1.2.3"] }, { cidr: "192.168.1.7" }] }), [
      [c("10.0.0.1"), "lan", true],
      [c("10.255.255.255"), "lan", true],
      [c("10.0.98.255"), "lan", true],
      [c("10.0.99.0"), "default", false],
      [c("10.0.99.255"), "default", false],
      [c("10.0.100.0"), "lan", true],
      [c("10.1.2.3"), "default", false],
      [c("10.1.2.4"), "lan", true],
      [c("11.0.0.0"), "default", false],
      [c("9.255.255.255"), "default", false],
      [c("192.168.1.7"), "lan", true],
      [c("192.168.1.8"), "default", false],
      // v4-mapped IPv6 addresses are their IPv4 address (RFC 4291 §2.5.5.2).
      [c("::ffff:10.0.0.1"), "lan", true],
      [c("::FFFF:10.0.99.1"), "default", false],
      [c("::ffff:a00:1"), "lan", true],
      [c("0:0:0:0:0:ffff:192.168.1.7"), "lan", true],
      // An IPv6 client is not in an IPv4 network; neither is the IPv4-compatible form.
      [c("::10.0.0.1"), "default", false],
      [c("fd00::1"), "default", false],
    ]);
  });

  it("IPv6 CIDRs with excepts, compressed and full forms, zones", () => {
    check(deny({ name: "v6", unauthenticated: true, networks: [{ cidr: "fd00::/8", except: ["fd00:0:0:99::/64"] }, { cidr: "2001:db8::1/128" }] }), [
      [c("fd00::1"), "v6", true],
      [c("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "v6", true],
      [c("FD12:3456::abcd"), "v6", true],
      [c("fd00:0:0:99::1"), "default", false],
      [c("fd00:0000:0000:0099:ffff:ffff:ffff:ffff"), "default", false],
      [c("fd00:0:0:98:ffff::"), "v6", true],
      [c("fe80::1%eth0"), "default", false],
      [c("fc00::1"), "default", false],
      [c("2001:db8::1"), "v6", true],
      [c("2001:db8:0:0:0:0:0:1"), "v6", true],
      [c("2001:db8::2"), "default", false],
      [c("10.0.0.1"), "default", false],
      [c("::ffff:10.0.0.1"), "default", false],
    ]);
  });

  it("0.0.0.0/0 is every IPv4 client, ::/0 every IPv6 client; a mapped CIDR is its IPv4 network", () => {
    check(deny({ name: "v4", unauthenticated: true, networks: [{ cidr: "0.0.0.0/0" }] }), [
      [c("1.2.3.4"), "v4", true],
      [c("::ffff:1.2.3.4"), "v4", true],
      [c("::1"), "default", false],
    ]);
    check(deny({ name: "v6", unauthenticated: true, networks: [{ cidr: "::/0" }] }), [
      [c("::1"), "v6", true],
      [c("::"), "v6", true],
      [c("1.2.3.4"), "default", false],
      [c("::ffff:1.2.3.4"), "default", false],
    ]);
    check(deny({ name: "mapped", unauthenticated: true, networks: [{ cidr: "::ffff:10.0.0.0/104" }] }), [
      [c("10.9.9.9"), "mapped", true],
      [c("::ffff:10.9.9.9"), "mapped", true],
      [c("11.0.0.0"), "default", false],
    ]);
  });

  it("an address that is not an IP matches no network, but rules without networks still apply", () => {
    check(
      deny({ name: "nets", unauthenticated: true, networks: [{ cidr: "0.0.0.0/0" }, { cidr: "::/0" }] }, { name: "ids", identities: ["*"] }),
      [
        [c("localhost"), "default", false],
        [c(""), "default", false],
        [c("[::1]"), "default", false],
        [c("localhost", WEB), "ids", true],
        [c("127.0.0.1"), "nets", true],
      ],
    );
  });

  it("identities and networks together: both must hold", () => {
    check(deny({ name: "web-from-lan", identities: ["spiffe://example.org/ns/web/*"], networks: [{ cidr: "10.0.0.0/8" }] }), [
      [c("10.0.0.1", WEB), "web-from-lan", true],
      [c("192.168.0.1", WEB), "default", false],
      [c("10.0.0.1", DB), "default", false],
      [c("10.0.0.1"), "default", false],
    ]);
  });
});

describe("defaults and rule order", () => {
  const rules: AuthzRule[] = [
    { name: "web", identities: [WEB] },
    { name: "ns-web", identities: ["spiffe://example.org/ns/web/*"] },
    { name: "any", identities: ["*"] },
    { name: "lan", unauthenticated: true, networks: [{ cidr: "10.0.0.0/8" }] },
  ];

  it("the first matching rule names the decision", () => {
    check({ defaultAction: "deny", rules }, [
      [c("10.0.0.1", WEB), "web", true],
      [c("10.0.0.1", WEB2), "ns-web", true],
      [c("10.0.0.1", DB), "any", true],
      [c("10.0.0.1"), "lan", true],
      [c("8.8.8.8"), "default", false],
    ]);
  });

  it("default allow: unmatched clients are allowed, under the name default", () => {
    check({ defaultAction: "allow", rules }, [
      [c("8.8.8.8"), "default", true],
      [c("8.8.8.8", WEB), "web", true],
    ]);
    check({ defaultAction: "allow", rules: [] }, [[c("1.2.3.4"), "default", true]]);
    check({ defaultAction: "deny", rules: [] }, [[c("1.2.3.4", WEB), "default", false]]);
  });

  it("decisions are stable objects and 100k decisions take well under a second", () => {
    const authz = compileAuthz({ defaultAction: "deny", rules });
    assert.equal(authz.decide(c("10.0.0.1", WEB)), authz.decide(c("10.0.0.2", WEB)));
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) authz.decide(c(i % 2 ? "10.0.0.1" : "fd00::1"));
    assert.ok(performance.now() - t0 < 1000);
  });
});

describe("parseIp", () => {
  const ok: [string, string][] = [
    ["0.0.0.0", "v4 0,0,0,0"],
    ["255.255.255.255", "v4 0,0,0,4294967295"],
    ["1.2.3.4", "v4 0,0,0,16909060"],
    ["::", "v6 0,0,0,0"],
    ["::1", "v6 0,0,0,1"],
    ["1::", "v6 65536,0,0,0"],
    ["1:2:3:4:5:6:7:8", "v6 65538,196612,327686,458760"],
    ["1:2:3:4:5:6:7::", "v6 65538,196612,327686,458752"],
    ["::2:3:4:5:6:7:8", "v6 2,196612,327686,458760"],
    ["1:2:3:4:5:6:1.2.3.4", "v6 65538,196612,327686,16909060"],
    ["::1.2.3.4", "v6 0,0,0,16909060"],
    ["::ffff:1.2.3.4", "v4 0,0,0,16909060"],
    ["::ffff:0102:0304", "v4 0,0,0,16909060"],
    ["ABCD:ef01::", "v6 2882400001,0,0,0"],
    ["fe80::1%eth0", "v6 4269801472,0,0,1"],
  ];
  for (const [text, want] of ok) {
    it(`parses ${text}`, () => {
      const a = parseIp(text);
      assert.ok(a);
      assert.equal(`${a.v4 ? "v4" : "v6"} ${a.w.join(",")}`, want);
    });
  }
  const bad = [
    "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.04", "1.2.3.-4", "1..3.4", " 1.2.3.4", "1.2.3.4 ",
    ":", ":::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1::2::3", ":1::", "1::2:", "12345::", "g::1", "1:2:3:4:5:6:7:8::",
    "::1.2.3", "::1.2.3.256", "1.2.3.4::", "::1.2.3.4:5", "[::1]", "localhost", "0x7f.0.0.1",
  ];
  for (const text of bad) it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseIp(text), undefined));
});

describe("parseCidr", () => {
  it("normalizes what it accepts", () => {
    const norm = (s: string) => {
      const r = parseCidr(s);
      assert.ok(r.ok, r.ok ? "" : r.message);
      return formatCidr(r.value);
    };
    assert.equal(norm("10.0.0.0/8"), "10.0.0.0/8");
    assert.equal(norm("0.0.0.0/0"), "0.0.0.0/0");
    assert.equal(norm("1.2.3.4"), "1.2.3.4/32");
    assert.equal(norm("1.2.3.4/32"), "1.2.3.4/32");
    assert.equal(norm("::/0"), "::/0");
    assert.equal(norm("::1"), "::1/128");
    assert.equal(norm("FD00:0:0:0::/8"), "fd00::/8");
    assert.equal(norm("2001:db8:0:0:1:0:0:0/80"), "2001:db8:0:0:1::/80");
    assert.equal(norm("::ffff:10.0.0.0/104"), "10.0.0.0/8");
    assert.equal(norm("::ffff:0:0/96"), "0.0.0.0/0");
  });

  const bad: [string, RegExp][] = [
    ["10.0.0.0/33", /prefix length must be 0\.\.32/],
    ["::/129", /prefix length must be 0\.\.128/],
    ["10.0.0.0/", /prefix length/],
    ["10.0.0.0/08", /prefix length/],
    ["10.0.0.0/-1", /prefix length/],
    ["10.0.0.0/8/8", /prefix length/],
    ["10.0.0.0/ 8", /prefix length/],
    ["10.1.2.3/8", /host bits are set; the network is 10\.0\.0\.0\/8/],
    ["fd00::1/8", /host bits are set; the network is fd00::\/8/],
    ["10.0.0/8", /not an IP address/],
    ["fe80::%eth0/64", /no zone/],
    ["::ffff:10.0.0.0/80", /at least 96/],
    ["", /not an IP address/],
  ];
  for (const [text, error] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const r = parseCidr(text);
      assert.equal(r.ok, false);
      assert.match((r as { message: string }).message, /^expected a CIDR such as "10\.0\.0\.0\/8" or "fd00::\/8", or a single IP address, received /);
      assert.match((r as { message: string }).message, error);
    });
  }
  it("rejects what is not a string", () => assert.match((parseCidr(8) as { message: string }).message, /received 8$/));
});

describe("parseIdentityPattern", () => {
  it("classifies patterns", () => {
    assert.deepEqual(parseIdentityPattern("*"), { ok: true, value: { kind: "any" } });
    assert.deepEqual(parseIdentityPattern(WEB), { ok: true, value: { kind: "exact", id: WEB } });
    assert.deepEqual(parseIdentityPattern("spiffe://example.org/ns/web/*"), { ok: true, value: { kind: "prefix", prefix: "spiffe://example.org/ns/web/" } });
    assert.deepEqual(parseIdentityPattern("spiffe://example.org/*"), { ok: true, value: { kind: "prefix", prefix: "spiffe://example.org/" } });
  });
  const bad: [unknown, RegExp][] = [
    ["spiffe://example.org", /always has a path; for the whole trust domain write "spiffe:\/\/example.org\/\*"/],
    ["spiffe://example.org/ns/*/sa/web", /may only stand alone or as the whole last segment/],
    ["spiffe://example.org/ns/web*", /may only stand alone/],
    ["spiffe://*.example.org/*", /may only stand alone/],
    ["**", /may only stand alone/],
    ["spiffe://example.org/ns/web/", /may not end with "\/"/],
    ["spiffe://example.org//*", /may not end with "\/"/],
    ["spiffe://Example.org/*", /lower-case/],
    ["web", /missing the "spiffe:\/\/" scheme/],
    ["", /empty/],
    [null, /received null \(not a string\)/],
  ];
  for (const [input, error] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      const r = parseIdentityPattern(input);
      assert.equal(r.ok, false);
      assert.match((r as { message: string }).message, /^expected an identity: a SPIFFE ID/);
      assert.match((r as { message: string }).message, error);
    });
  }
});

describe("compileAuthz errors", () => {
  const bad: [AuthzPolicy, RegExp][] = [
    [deny({ name: "r", identities: ["spiffe://x/ns/*/sa/y"] }), /^rule "r" \(rules\[0\]\): identities\[0\]: expected an identity/],
    [deny({ name: "ok", unauthenticated: true }, { name: "r", unauthenticated: true, networks: [{ cidr: "10.0.0.0/33" }] }), /^rule "r" \(rules\[1\]\): networks\[0\]\.cidr: expected a CIDR/],
    [deny({ name: "r", unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", except: ["10.0.0.0/8", "11.0.0.0/24"] }] }), /networks\[0\]\.except\[1\]: "11\.0\.0\.0\/24" is not inside the network "10\.0\.0\.0\/8"/],
    [deny({ name: "r", unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", except: ["::/0"] }] }), /except\[0\]: "::\/0" is not inside/],
    [deny({ name: "r", unauthenticated: true, networks: [{ cidr: "10.0.0.0/16", except: ["10.0.0.0/8"] }] }), /except\[0\]: "10\.0\.0\.0\/8" is not inside/],
    [deny({ name: "r", unauthenticated: true, networks: [{ cidr: "10.0.0.0/8", except: ["bad"] }] }), /except\[0\]: expected a CIDR/],
    [deny({ name: "r" }), /needs identities or unauthenticated: true/],
    [deny({ name: "r", networks: [{ cidr: "10.0.0.0/8" }] }), /needs identities or unauthenticated: true/],
    [deny({ name: "r", identities: ["*"], unauthenticated: true }), /exclude each other/],
    [deny({ name: "r", identities: [] }), /identities is empty/],
    [deny({ name: "r", unauthenticated: true, networks: [] }), /networks is empty/],
    [deny({ name: "r", unauthenticated: true }, { name: "r", identities: ["*"] }), /rule name "r" is used twice \(rules\[0\] and rules\[1\]\)/],
    [{ defaultAction: "maybe" as "allow", rules: [] }, /defaultAction must be "allow" or "deny"/],
  ];
  for (const [policy, error] of bad) {
    it(`throws ${error}`, () => assert.throws(() => compileAuthz(policy), (e: unknown) => e instanceof AuthzError && error.test(e.message)));
  }

  it("unauthenticated: false alongside identities is fine", () => {
    check(deny({ name: "r", identities: ["*"], unauthenticated: false }), [[c("1.1.1.1"), "default", false], [c("1.1.1.1", WEB), "r", true]]);
  });
});
