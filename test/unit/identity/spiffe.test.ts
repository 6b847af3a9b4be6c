// SPIFFE IDs per spiffe/spiffe standards/SPIFFE-ID.md §2 (scheme, trust domain §2.1, path §2.2, length §2.3):
// table-driven valid and invalid IDs, every ASCII character in each part, length limits, workload IDs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MAX_SPIFFE_ID_LENGTH,
  isSpiffeId,
  parseSpiffeId,
  parseTrustDomain,
  parseWorkload,
  workloadId,
} from "../../../core/identity/spiffe.ts";

const VALID: [string, string, string][] = [
  // [id, trust domain, path]
  ["spiffe://trustdomain", "trustdomain", ""],
  ["spiffe://trustdomain/path", "trustdomain", "/path"],
  ["spiffe://trustdomain/path/element", "trustdomain", "/path/element"],
  ["spiffe://example.org/ns/default/sa/web", "example.org", "/ns/default/sa/web"],
  // The spec's own examples.
  ["spiffe://staging.example.com/payments/mysql", "staging.example.com", "/payments/mysql"],
  ["spiffe://k8s-west.example.com/ns/staging/sa/default", "k8s-west.example.com", "/ns/staging/sa/default"],
  ["spiffe://example.com/9eebccd2-12bf-40a6-b262-65fe0487d453", "example.com", "/9eebccd2-12bf-40a6-b262-65fe0487d453"],
  // Underscores are fine in trust domains (§2.1.1's "trust_domain_name.example.com"), so are IPv4-looking ones.
  ["spiffe://trust_domain_name.example.com/x", "trust_domain_name.example.com", "/x"],
  ["spiffe://1.2.3.4/x", "1.2.3.4", "/x"],
  ["spiffe://-.-_/x", "-.-_", "/x"],
  // Path segments are case-sensitive and may contain dots, as long as they are not exactly "." or "..".
  ["spiffe://td/Ns/DEFAULT/a.b/c_d/E-F", "td", "/Ns/DEFAULT/a.b/c_d/E-F"],
  ["spiffe://td/.../..a/.b/a..", "td", "/.../..a/.b/a.."],
];

const INVALID: [string, RegExp][] = [
  ["", /empty/],
  ["spiffe://", /trust domain is missing/],
  ["spiffe:///path", /trust domain is missing/],
  ["SPIFFE://td/x", /scheme must be "spiffe" in lower case/],
  ["Spiffe://td", /scheme must be "spiffe" in lower case/],
  ["https://td/x", /scheme must be "spiffe", not "https"/],
  ["spiffe:/td/x", /expected "spiffe:\/\/"/],
  ["spiffe:td", /expected "spiffe:\/\/"/],
  ["td/x", /missing the "spiffe:\/\/" scheme/],
  ["//td/x", /missing the "spiffe:\/\/" scheme/],
  ["spiffe://Example.org/x", /must be lower-case/],
  ["spiffe://td:8080/x", /may not have a port/],
  ["spiffe://td:/x", /may not have a port/],
  ["spiffe://user@td/x", /may not have userinfo/],
  ["spiffe://user:pw@td/x", /may not have a port|userinfo/],
  ["spiffe://t%41d/x", /trust domain may not be percent-encoded/],
  ["spiffe://[::1]/x", /invalid character "\["/],
  ["spiffe://td?x=1", /may not have a query/],
  ["spiffe://td#f", /may not have a fragment/],
  ["spiffe://td/x?q=1", /may not have a query/],
  ["spiffe://td/x#frag", /may not have a fragment/],
  ["spiffe://td/", /may not end with "\/"/],
  ["spiffe://td/x/", /may not end with "\/"/],
  ["spiffe://td//x", /empty segments/],
  ["spiffe://td/x//y", /empty segments/],
  ["spiffe://td/./x", /"\." segments/],
  ["spiffe://td/../x", /"\.\." segments/],
  ["spiffe://td/x/.", /"\." segments/],
  ["spiffe://td/x/..", /"\.\." segments/],
  ["spiffe://td/a%20b", /path may not be percent-encoded/],
  ["spiffe://td/a b", /invalid character " "/],
  ["spiffe://td/ü", /invalid character "ü"/],
  ["spiffe://tü/x", /invalid character "ü"/],
  ["spiffe://td/a:b", /invalid character ":"/],
  ["spiffe://td/*", /invalid character "\*"/],
  [" spiffe://td/x", /missing the "spiffe:\/\/" scheme/],
  ["spiffe://td/x ", /invalid character " "/],
];

describe("parseSpiffeId", () => {
  for (const [text, trustDomain, path] of VALID) {
    it(`accepts ${text}`, () => {
      const r = parseSpiffeId(text);
      assert.ok(r.ok, r.ok ? "" : r.error);
      assert.equal(r.id.trustDomain, trustDomain);
      assert.equal(r.id.path, path);
      assert.equal(r.id.toString(), text);
      assert.equal(`${r.id}`, text);
      assert.ok(Object.isFrozen(r.id));
      assert.equal(isSpiffeId(text), true);
    });
  }

  for (const [text, error] of INVALID) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      const r = parseSpiffeId(text);
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, error);
      assert.equal(isSpiffeId(text), false);
    });
  }

  it("allows exactly [a-z0-9._-] in the trust domain, of all ASCII characters", () => {
    const allowed: string[] = [];
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      if (ch === "/") continue; // ends the trust domain
      if (parseSpiffeId(`spiffe://a${ch}b/x`).ok) allowed.push(ch);
    }
    assert.equal(allowed.join(""), "-.0123456789_abcdefghijklmnopqrstuvwxyz");
  });

  it("allows exactly [A-Za-z0-9._-] in path segments, of all ASCII characters", () => {
    const allowed: string[] = [];
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      if (ch === "/") continue; // separates segments
      if (parseSpiffeId(`spiffe://td/a${ch}b`).ok) allowed.push(ch);
    }
    assert.equal(allowed.join(""), "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");
  });

  it("accepts up to 2048 bytes (§2.3), and trust domains up to 255 bytes", () => {
    const prefix = "spiffe://example.org/";
    const longest = prefix + "a".repeat(MAX_SPIFFE_ID_LENGTH - prefix.length);
    assert.equal(longest.length, 2048);
    assert.ok(parseSpiffeId(longest).ok);
    const r = parseSpiffeId(`${longest}b`);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /2049 bytes long \(at most 2048\)/);
    assert.ok(parseSpiffeId(`spiffe://${"t".repeat(255)}/x`).ok);
    assert.match((parseSpiffeId(`spiffe://${"t".repeat(256)}/x`) as { error: string }).error, /trust domain is 256 bytes long/);
    // Many short segments are fine too.
    assert.ok(parseSpiffeId(`spiffe://td${"/a".repeat(1000)}`).ok);
  });

  it("rejects what is not a string without throwing", () => {
    assert.equal(parseSpiffeId(42 as unknown as string).ok, false);
  });
});

describe("parseTrustDomain", () => {
  it("takes the bare name, with the same rules as the ID's trust domain", () => {
    assert.deepEqual(parseTrustDomain("example.org"), { ok: true, trustDomain: "example.org" });
    assert.match((parseTrustDomain("spiffe://example.org") as { error: string }).error, /without "spiffe:\/\/"/);
    assert.match((parseTrustDomain("Example.org") as { error: string }).error, /lower-case/);
    assert.match((parseTrustDomain("") as { error: string }).error, /missing/);
    assert.match((parseTrustDomain("example.org/x") as { error: string }).error, /invalid character "\/"/);
    assert.match((parseTrustDomain("x".repeat(256)) as { error: string }).error, /256 bytes/);
  });
});

describe("workloadId and parseWorkload", () => {
  it("builds spiffe://TD/ns/NS/sa/SA", () => {
    assert.equal(workloadId("example.org", "default", "web"), "spiffe://example.org/ns/default/sa/web");
    assert.equal(workloadId("cluster.local", "kube-system", "coredns"), "spiffe://cluster.local/ns/kube-system/sa/coredns");
  });

  it("throws when the result would not be a valid SPIFFE ID", () => {
    assert.throws(() => workloadId("Example.org", "a", "b"), /lower-case/);
    assert.throws(() => workloadId("example.org", "", "b"), /empty segments/);
    assert.throws(() => workloadId("example.org", "a", ""), /may not end with/);
    assert.throws(() => workloadId("example.org", "a/b", "c"), /namespace "a\/b" may not contain "\/"/);
    assert.throws(() => workloadId("example.org", "a", "b c"), /invalid character/);
    assert.throws(() => workloadId("example.org", "..", "b"), /"\.\." segments/);
  });

  it("reads the namespace and service account back, from text or a parsed ID", () => {
    assert.deepEqual(parseWorkload("spiffe://example.org/ns/default/sa/web"), { namespace: "default", serviceAccount: "web" });
    const r = parseSpiffeId("spiffe://td/ns/a.b/sa/C-d");
    assert.ok(r.ok);
    assert.deepEqual(parseWorkload(r.id), { namespace: "a.b", serviceAccount: "C-d" });
    const id = workloadId("td", "n", "s");
    assert.deepEqual(parseWorkload(id), { namespace: "n", serviceAccount: "s" });
  });

  it("is undefined for other shapes and invalid IDs", () => {
    for (const text of [
      "spiffe://td",
      "spiffe://td/ns/a/sa",
      "spiffe://td/ns/a/sa/b/c",
      "spiffe://td/x/ns/a/sa/b",
      "spiffe://td/sa/a/ns/b",
      "spiffe://td/NS/a/SA/b",
      "spiffe://td/ns/a/sa/b/",
      "spiffe://TD/ns/a/sa/b",
      "https://td/ns/a/sa/b",
    ]) {
      assert.equal(parseWorkload(text), undefined, text);
    }
  });
});
