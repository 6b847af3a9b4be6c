// Inbound authorization: who may talk to the local app, by verified SPIFFE identity and by client address.
//
// The model is Linkerd's ServerAuthorization `client` (linkerd.io reference/authorization-policy): a rule names
// either identities (meshTLS: exact IDs, "spiffe://td/ns/a/*" prefixes, or "*" for any authenticated client) or
// `unauthenticated: true` (any client, with or without an identity) — exactly one of them — and optionally
// `networks` that further limit the client addresses (each a CIDR minus its `except` CIDRs, as in Linkerd's
// NetworkAuthentication and Kubernetes' ipBlock). A rule matches when all its criteria hold; the first matching
// rule allows the client; when none matches, the default action decides.
//
// Everything is compiled up front: identities into a Set and prefix strings, CIDRs into 32-bit words; a decision
// parses the client address once (by hand, no regular expressions) and compares words.

import { describe, type ValueResult } from "../config/values.ts";
import { parseSpiffeId } from "./spiffe.ts";

export interface ClientInfo {
  /** The client's IP address, IPv4 or IPv6 (an IPv4-mapped IPv6 address counts as its IPv4 address). */
  address: string;
  /** The client's verified SPIFFE ID (peerSpiffeId), absent for plaintext or when no client certificate was sent. */
  identity?: string;
}

export interface AuthzNetwork {
  /** "10.0.0.0/8", "fd00::/8", or a single address ("10.1.2.3" = "10.1.2.3/32"). */
  cidr: string;
  /** Sub-networks of `cidr` that are excluded. */
  except?: string[];
}

export interface AuthzRule {
  name: string;
  /** Exact "spiffe://td/ns/a/sa/b", a prefix pattern ending in "/*" ("spiffe://td/ns/a/*"), or "*" for any authenticated client. */
  identities?: string[];
  networks?: AuthzNetwork[];
  /** Allow clients with or without an identity (still subject to `networks`). Exclusive with `identities`. */
  unauthenticated?: boolean;
}

export interface AuthzPolicy {
  defaultAction: "allow" | "deny";
  rules: AuthzRule[];
}

export interface AuthzDecision {
  allowed: boolean;
  /** The matching rule's name, or "default". */
  rule: string;
}

export interface CompiledAuthz {
  decide(c: ClientInfo): AuthzDecision;
}

export class AuthzError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthzError";
  }
}

// ---- IP addresses --------------------------------------------------------------------------------------

/** An address as four 32-bit words (IPv6) or one word in w[3] (IPv4, w[0..2] = 0). */
export interface IpAddr {
  v4: boolean;
  w: [number, number, number, number];
}

/** Dotted-quad IPv4 in s[from, to): four decimal octets 0..255 without leading zeros; the value, or -1. */
function parseV4(s: string, from: number, to: number): number {
  let value = 0, parts = 0, i = from;
  while (parts < 4) {
    const start = i;
    let octet = 0;
    while (i < to) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      octet = octet * 10 + (c - 0x30);
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || octet > 255 || (len > 1 && s.charCodeAt(start) === 0x30)) return -1;
    value = value * 256 + octet;
    parts++;
    if (parts < 4) {
      if (i >= to || s.charCodeAt(i) !== 0x2e) return -1;
      i++;
    }
  }
  return i === to ? value : -1;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** IPv6 text (RFC 4291 §2.2: "::" once, optional trailing dotted quad) in s[from, to): 8 groups, or undefined. */
function parseV6(s: string, from: number, to: number): number[] | undefined {
  const head: number[] = [];
  const tail: number[] = [];
  let groups = head;
  let compressed = false;
  let i = from;
  if (to - from >= 2 && s.charCodeAt(i) === 0x3a && s.charCodeAt(i + 1) === 0x3a) {
    compressed = true;
    groups = tail;
    i += 2;
    if (i === to) return [0, 0, 0, 0, 0, 0, 0, 0];
  } else if (s.charCodeAt(i) === 0x3a) return undefined;
  for (;;) {
    // One group: up to 4 hex digits, or a dotted quad at the very end.
    const start = i;
    let v = 0;
    while (i < to && i - start < 5) {
      const h = hexVal(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
    }
    if (i < to && s.charCodeAt(i) === 0x2e) {
      const q = parseV4(s, start, to);
      if (q < 0) return undefined;
      groups.push(Math.floor(q / 65536), q % 65536);
      i = to;
      break;
    }
    const len = i - start;
    if (len === 0 || len > 4) return undefined;
    groups.push(v);
    if (i === to) break;
    if (s.charCodeAt(i) !== 0x3a) return undefined;
    i++;
    if (i < to && s.charCodeAt(i) === 0x3a) {
      if (compressed) return undefined;
      compressed = true;
      groups = tail;
      i++;
      if (i === to) break;
    } else if (i === to) return undefined;
  }
  const n = head.length + tail.length;
  if (compressed ? n > 7 : n !== 8) return undefined;
  return [...head, ...new Array<number>(8 - n).fill(0), ...tail];
}

/**
 * Parses an IPv4 or IPv6 address (a "%zone" suffix on IPv6 is ignored). An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) becomes the IPv4 address. Undefined when it is not an address.
 */
export function parseIp(s: string): IpAddr | undefined {
  if (typeof s !== "string" || s.length === 0 || s.length > 100) return undefined;
  if (!s.includes(":")) {
    const v = parseV4(s, 0, s.length);
    return v < 0 ? undefined : { v4: true, w: [0, 0, 0, v] };
  }
  const zone = s.indexOf("%");
  const g = parseV6(s, 0, zone >= 0 ? zone : s.length);
  if (g === undefined) return undefined;
  const w: [number, number, number, number] = [
    g[0]! * 65536 + g[1]!,
    g[2]! * 65536 + g[3]!,
    g[4]! * 65536 + g[5]!,
    g[6]! * 65536 + g[7]!,
  ];
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { v4: true, w: [0, 0, 0, w[3]] };
  return { v4: false, w };
}

// ---- CIDRs ---------------------------------------------------------------------------------------------

export interface Cidr {
  v4: boolean;
  /** The prefix length: 0..32 for IPv4, 0..128 for IPv6. */
  prefix: number;
  /** The network address and the mask, as words (IPv4 in w[3]). */
  net: [number, number, number, number];
  mask: [number, number, number, number];
}

function maskWords(v4: boolean, prefix: number): [number, number, number, number] {
  const bits = v4 ? prefix + 96 : prefix;
  const m: [number, number, number, number] = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    const b = Math.min(32, Math.max(0, bits - k * 32));
    m[k] = b === 0 ? 0 : b === 32 ? 0xffffffff : (0xffffffff << (32 - b)) >>> 0;
  }
  if (v4) m[0] = m[1] = m[2] = 0;
  return m;
}

function ipText(v4: boolean, w: readonly number[]): string {
  if (v4) return [w[3]! >>> 24, (w[3]! >>> 16) & 255, (w[3]! >>> 8) & 255, w[3]! & 255].join(".");
  const g: number[] = [];
  for (const x of w) g.push(x >>> 16, x & 0xffff);
  // RFC 5952: compress the longest run (2+) of zero groups.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hexes = g.map((x) => x.toString(16));
  if (best < 0) return hexes.join(":");
  return `${hexes.slice(0, best).join(":")}::${hexes.slice(best + bestLen).join(":")}`;
}

const CIDR_EXPECTED = 'a CIDR such as "10.0.0.0/8" or "fd00::/8", or a single IP address';

/**
 * Parses "addr/prefix" or a single address (a host network). A v4-mapped IPv6 CIDR with a prefix of at least 96
 * ("::ffff:10.0.0.0/104") is the IPv4 CIDR it covers. Host bits set below the prefix are an error.
 */
export function parseCidr(input: unknown): ValueResult<Cidr> {
  const fail = (detail?: string): ValueResult<Cidr> => ({
    ok: false,
    message: `expected ${CIDR_EXPECTED}, received ${describe(input)}${detail ? ` (${detail})` : ""}`,
  });
  if (typeof input !== "string") return fail();
  const slash = input.indexOf("/");
  const addrText = slash >= 0 ? input.slice(0, slash) : input;
  if (addrText.includes("%")) return fail("a CIDR has no zone");
  const rawV4 = !addrText.includes(":");
  const addr = parseIp(addrText);
  if (addr === undefined) return fail("not an IP address");
  const max = rawV4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = input.slice(slash + 1);
    prefix = p.length > 0 && p.length <= 3 && (p === "0" || p.charCodeAt(0) !== 0x30) ? Number(p) : Number.NaN;
    for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) < 0x30 || p.charCodeAt(i) > 0x39) prefix = Number.NaN;
    if (!(prefix >= 0 && prefix <= max)) return fail(`the prefix length must be 0..${max}`);
  }
  const v4 = addr.v4;
  if (v4 && !rawV4) {
    // A v4-mapped IPv6 CIDR: the IPv4 network it covers, if it is inside ::ffff:0:0/96.
    if (prefix < 96) return fail("a CIDR over IPv4-mapped addresses needs a prefix of at least 96");
    prefix -= 96;
  }
  const mask = maskWords(v4, prefix);
  const net: [number, number, number, number] = [
    (addr.w[0] & mask[0]) >>> 0,
    (addr.w[1] & mask[1]) >>> 0,
    (addr.w[2] & mask[2]) >>> 0,
    (addr.w[3] & mask[3]) >>> 0,
  ];
  if (net.some((x, k) => x !== addr.w[k])) {
    return fail(`host bits are set; the network is ${ipText(v4, net)}/${prefix}`);
  }
  return { ok: true, value: { v4, prefix, net, mask } };
}

/** "10.0.0.0/8" */
export function formatCidr(c: Cidr): string {
  return `${ipText(c.v4, c.net)}/${c.prefix}`;
}

export function cidrContains(c: Cidr, a: IpAddr): boolean {
  if (c.v4 !== a.v4) return false;
  return (
    ((a.w[3] & c.mask[3]) >>> 0) === c.net[3] &&
    ((a.w[2] & c.mask[2]) >>> 0) === c.net[2] &&
    ((a.w[1] & c.mask[1]) >>> 0) === c.net[1] &&
    ((a.w[0] & c.mask[0]) >>> 0) === c.net[0]
  );
}

/** True when `inner` lies wholly inside `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return inner.v4 === outer.v4 && inner.prefix >= outer.prefix && cidrContains(outer, { v4: inner.v4, w: inner.net });
}

/** A network with its exceptions, checked: every except lies inside the cidr. */
export function parseNetwork(n: AuthzNetwork): ValueResult<{ cidr: Cidr; except: Cidr[] }> {
  const c = parseCidr(n.cidr);
  if (!c.ok) return { ok: false, message: `cidr: ${c.message}` };
  const except: Cidr[] = [];
  for (const [j, e] of (n.except ?? []).entries()) {
    const x = parseCidr(e);
    if (!x.ok) return { ok: false, message: `except[${j}]: ${x.message}` };
    const within = exceptWithin(x.value, c.value, e, n.cidr);
    if (within !== undefined) return { ok: false, message: `except[${j}]: ${within}` };
    except.push(x.value);
  }
  return { ok: true, value: { cidr: c.value, except } };
}

/** Why an except is not inside its cidr, or undefined (as Kubernetes ipBlock requires). */
export function exceptWithin(except: Cidr, cidr: Cidr, exceptText: string, cidrText: string): string | undefined {
  if (cidrWithin(except, cidr)) return undefined;
  return `${JSON.stringify(exceptText)} is not inside the network ${JSON.stringify(cidrText)}`;
}

// ---- identity patterns ---------------------------------------------------------------------------------

export type IdentityPattern = { kind: "any" } | { kind: "exact"; id: string } | { kind: "prefix"; prefix: string };

const PATTERN_EXPECTED =
  'an identity: a SPIFFE ID ("spiffe://example.org/ns/web/sa/api"), a prefix ending in "/*" ("spiffe://example.org/ns/web/*") or "*" (any authenticated client)';

/** Parses an identity pattern; a prefix pattern stores "spiffe://td/ns/a/" (with the slash) for startsWith. */
export function parseIdentityPattern(input: unknown): ValueResult<IdentityPattern> {
  const fail = (detail: string): ValueResult<IdentityPattern> => ({
    ok: false,
    message: `expected ${PATTERN_EXPECTED}, received ${describe(input)} (${detail})`,
  });
  if (typeof input !== "string") return fail("not a string");
  if (input === "*") return { ok: true, value: { kind: "any" } };
  const prefix = input.endsWith("/*");
  const idText = prefix ? input.slice(0, -2) : input;
  if (idText.includes("*")) return fail('"*" may only stand alone or as the whole last segment, as in "spiffe://td/ns/web/*"');
  const r = parseSpiffeId(idText);
  if (!r.ok) return fail(r.error);
  if (prefix) return { ok: true, value: { kind: "prefix", prefix: `${idText}/` } };
  if (r.id.path === "") {
    return fail(`a client's identity always has a path; for the whole trust domain write "${idText}/*"`);
  }
  return { ok: true, value: { kind: "exact", id: idText } };
}

// ---- compilation and decisions -------------------------------------------------------------------------

interface CompiledRule {
  name: string;
  unauthenticated: boolean;
  anyIdentity: boolean;
  exact: Set<string>;
  prefixes: string[];
  /** undefined = any address. */
  networks: { cidr: Cidr; except: Cidr[] }[] | undefined;
}

function compileRule(rule: AuthzRule, index: number): CompiledRule {
  const where = `rule ${JSON.stringify(rule.name)} (rules[${index}])`;
  const bad = (msg: string) => new AuthzError(`${where}: ${msg}`);
  const hasIds = rule.identities !== undefined;
  const unauthenticated = rule.unauthenticated === true;
  if (hasIds && unauthenticated) throw bad("identities and unauthenticated: true exclude each other (unauthenticated already admits every client)");
  if (!hasIds && !unauthenticated) throw bad("needs identities or unauthenticated: true");
  if (hasIds && rule.identities!.length === 0) throw bad("identities is empty: the rule could never match");
  if (rule.networks !== undefined && rule.networks.length === 0) throw bad("networks is empty: the rule could never match");
  const compiled: CompiledRule = {
    name: rule.name,
    unauthenticated,
    anyIdentity: false,
    exact: new Set(),
    prefixes: [],
    networks: undefined,
  };
  for (const [j, text] of (rule.identities ?? []).entries()) {
    const p = parseIdentityPattern(text);
    if (!p.ok) throw bad(`identities[${j}]: ${p.message}`);
    if (p.value.kind === "any") compiled.anyIdentity = true;
    else if (p.value.kind === "exact") compiled.exact.add(p.value.id);
    else compiled.prefixes.push(p.value.prefix);
  }
  if (rule.networks !== undefined) {
    compiled.networks = rule.networks.map((n, j) => {
      const r = parseNetwork(n);
      if (!r.ok) throw bad(`networks[${j}].${r.message}`);
      return r.value;
    });
  }
  return compiled;
}

function identityMatches(r: CompiledRule, id: string | undefined): boolean {
  if (r.unauthenticated) return true;
  if (id === undefined || id === "") return false;
  if (r.anyIdentity || r.exact.has(id)) return true;
  for (const p of r.prefixes) if (id.startsWith(p)) return true;
  return false;
}

function networkMatches(r: CompiledRule, addr: IpAddr | undefined): boolean {
  if (r.networks === undefined) return true;
  if (addr === undefined) return false;
  for (const n of r.networks) {
    if (!cidrContains(n.cidr, addr)) continue;
    let excluded = false;
    for (const e of n.except) {
      if (cidrContains(e, addr)) {
        excluded = true;
        break;
      }
    }
    if (!excluded) return true;
  }
  return false;
}

/**
 * Compiles a policy; throws AuthzError (naming the rule and field) on a bad CIDR or identity pattern, an except
 * outside its network, or a rule with both or neither of identities and unauthenticated: true. The config
 * schema (identity-schema.ts) rejects all of these first, so a parsed config always compiles.
 *
 * decide(): the first rule whose criteria all hold allows the client (rule = its name); otherwise the default
 * action (rule = "default"). An address that is not an IP matches no network (rules without networks still apply).
 */
export function compileAuthz(p: AuthzPolicy): CompiledAuthz {
  if (p.defaultAction !== "allow" && p.defaultAction !== "deny") {
    throw new AuthzError(`defaultAction must be "allow" or "deny", not ${JSON.stringify(p.defaultAction)}`);
  }
  const rules = p.rules.map(compileRule);
  const seen = new Map<string, number>();
  rules.forEach((r, i) => {
    const first = seen.get(r.name);
    if (first !== undefined) throw new AuthzError(`rule name ${JSON.stringify(r.name)} is used twice (rules[${first}] and rules[${i}])`);
    seen.set(r.name, i);
  });
  const needsAddress = rules.some((r) => r.networks !== undefined);
  const fallback: AuthzDecision = Object.freeze({ allowed: p.defaultAction === "allow", rule: "default" });
  const allowedBy = rules.map((r): AuthzDecision => Object.freeze({ allowed: true, rule: r.name }));
  return {
    decide(c: ClientInfo): AuthzDecision {
      const addr = needsAddress ? parseIp(c.address) : undefined;
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i]!;
        if (identityMatches(r, c.identity) && networkMatches(r, addr)) return allowedBy[i]!;
      }
      return fallback;
    },
  };
}
