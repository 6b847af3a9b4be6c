// SPIFFE IDs (spiffe/spiffe standards/SPIFFE-ID.md §2): "spiffe://" + trust domain + path.
//
// The rules, as the spec states them and go-spiffe (spiffeid.FromString) enforces them:
//   - the scheme is exactly "spiffe" (lower-case: go-spiffe rejects "SPIFFE://", although §2.4 calls the scheme
//     case-insensitive; an X.509-SVID carries the canonical form, so nothing valid is lost);
//   - the trust domain (§2.1) is non-empty, at most 255 bytes, only [a-z0-9._-] (lower-case only), with no userinfo,
//     port or percent-encoding;
//   - the path (§2.2) is empty (the trust domain's own ID) or "/"-separated segments of [A-Za-z0-9._-], none empty,
//     "." or "..", with no trailing "/" and no percent-encoding;
//   - no query or fragment (§2);
//   - at most 2048 bytes in all (§2.3).
// Parsing is a single scan without regular expressions; errors say what is wrong and where.

export interface SpiffeId {
  /** The trust domain name, e.g. "example.org". */
  readonly trustDomain: string;
  /** "" for the trust domain's own ID, else "/seg/seg...", e.g. "/ns/default/sa/web". */
  readonly path: string;
  /** The ID as a URI: "spiffe://example.org/ns/default/sa/web". */
  toString(): string;
}

export type SpiffeIdResult = { ok: true; id: SpiffeId } | { ok: false; error: string };

export const SPIFFE_SCHEME_PREFIX = "spiffe://";
/** §2.3: the longest SPIFFE ID, in bytes (every valid ID is ASCII, so bytes = characters). */
export const MAX_SPIFFE_ID_LENGTH = 2048;
/** §2.3: RFC 3986 limits the host, hence the trust domain, to 255 bytes. */
export const MAX_TRUST_DOMAIN_LENGTH = 255;

const TD_CHARS = "a-z, 0-9, \".\", \"-\" and \"_\"";
const PATH_CHARS = "A-Z, a-z, 0-9, \".\", \"-\" and \"_\"";

/** [a-z0-9._-] */
function isTrustDomainChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f;
}

/** [A-Za-z0-9._-] */
function isPathChar(c: number): boolean {
  return isTrustDomainChar(c) || (c >= 0x41 && c <= 0x5a);
}

const quote = (s: string): string => JSON.stringify(s);

/** RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
function isUriScheme(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    const other = (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
    if (!(alpha || (i > 0 && other))) return false;
  }
  return s.length > 0;
}

/** Why character c is not allowed in a trust domain, or undefined if it is. */
function trustDomainCharError(s: string, i: number): string | undefined {
  const c = s.charCodeAt(i);
  if (isTrustDomainChar(c)) return undefined;
  if (c >= 0x41 && c <= 0x5a) return `the trust domain must be lower-case (found ${quote(s[i]!)})`;
  if (c === 0x3a) return "the trust domain may not have a port (found \":\")";
  if (c === 0x40) return "the trust domain may not have userinfo (found \"@\")";
  if (c === 0x25) return "the trust domain may not be percent-encoded (found \"%\")";
  if (c === 0x3f) return "a SPIFFE ID may not have a query (found \"?\")";
  if (c === 0x23) return "a SPIFFE ID may not have a fragment (found \"#\")";
  return `the trust domain has an invalid character ${quote(s[i]!)} (allowed: ${TD_CHARS})`;
}

/** A trust domain name on its own ("example.org"): undefined when valid, else why not. */
export function trustDomainError(td: string): string | undefined {
  if (td.length === 0) return "the trust domain is missing";
  if (td.length > MAX_TRUST_DOMAIN_LENGTH) {
    return `the trust domain is ${td.length} bytes long (at most ${MAX_TRUST_DOMAIN_LENGTH})`;
  }
  for (let i = 0; i < td.length; i++) {
    const e = trustDomainCharError(td, i);
    if (e !== undefined) return e;
  }
  return undefined;
}

/** Validates a trust domain name as written in config ("example.org", without "spiffe://"). */
export function parseTrustDomain(s: string): { ok: true; trustDomain: string } | { ok: false; error: string } {
  if (s.startsWith(SPIFFE_SCHEME_PREFIX)) {
    return { ok: false, error: `a trust domain is a name such as "example.org", without "${SPIFFE_SCHEME_PREFIX}"` };
  }
  const e = trustDomainError(s);
  return e === undefined ? { ok: true, trustDomain: s } : { ok: false, error: e };
}

/** Why the path (starting with "/") is invalid, or undefined. */
function pathError(p: string): string | undefined {
  let segStart = 1;
  for (let i = 1; i <= p.length; i++) {
    if (i === p.length || p.charCodeAt(i) === 0x2f) {
      const len = i - segStart;
      if (len === 0) {
        return i === p.length
          ? "the path may not end with \"/\""
          : "the path may not have empty segments (\"//\")";
      }
      if (len <= 2 && p.charCodeAt(segStart) === 0x2e && (len === 1 || p.charCodeAt(segStart + 1) === 0x2e)) {
        return `the path may not have ${quote(p.slice(segStart, i))} segments`;
      }
      segStart = i + 1;
      continue;
    }
    const c = p.charCodeAt(i);
    if (isPathChar(c)) continue;
    if (c === 0x25) return "the path may not be percent-encoded (found \"%\")";
    if (c === 0x3f) return "a SPIFFE ID may not have a query (found \"?\")";
    if (c === 0x23) return "a SPIFFE ID may not have a fragment (found \"#\")";
    return `the path has an invalid character ${quote(p[i]!)} (allowed in segments: ${PATH_CHARS})`;
  }
  return undefined;
}

function makeId(trustDomain: string, path: string): SpiffeId {
  const text = `${SPIFFE_SCHEME_PREFIX}${trustDomain}${path}`;
  return Object.freeze({ trustDomain, path, toString: () => text });
}

/** Parses a SPIFFE ID; `error` says what is wrong ("the path may not end with "/""). */
export function parseSpiffeId(s: string): SpiffeIdResult {
  const fail = (error: string): SpiffeIdResult => ({ ok: false, error });
  if (typeof s !== "string") return fail("a SPIFFE ID is a string");
  if (s.length === 0) return fail("the SPIFFE ID is empty");
  if (s.length > MAX_SPIFFE_ID_LENGTH) {
    return fail(`the SPIFFE ID is ${s.length} bytes long (at most ${MAX_SPIFFE_ID_LENGTH})`);
  }
  if (!s.startsWith(SPIFFE_SCHEME_PREFIX)) {
    const colon = s.indexOf(":");
    if (colon > 0 && s.slice(0, colon).toLowerCase() === "spiffe") {
      return s.slice(0, colon) === "spiffe"
        ? fail(`expected "${SPIFFE_SCHEME_PREFIX}" followed by the trust domain`)
        : fail(`the scheme must be "spiffe" in lower case, not ${quote(s.slice(0, colon))}`);
    }
    const scheme = colon > 0 && isUriScheme(s.slice(0, colon)) ? s.slice(0, colon) : undefined;
    return fail(scheme !== undefined ? `the scheme must be "spiffe", not ${quote(scheme)}` : `missing the "${SPIFFE_SCHEME_PREFIX}" scheme`);
  }
  const start = SPIFFE_SCHEME_PREFIX.length;
  let slash = s.indexOf("/", start);
  if (slash < 0) slash = s.length;
  if (slash === start) return fail("the trust domain is missing");
  if (slash - start > MAX_TRUST_DOMAIN_LENGTH) {
    return fail(`the trust domain is ${slash - start} bytes long (at most ${MAX_TRUST_DOMAIN_LENGTH})`);
  }
  for (let i = start; i < slash; i++) {
    const e = trustDomainCharError(s, i);
    if (e !== undefined) return fail(e);
  }
  const path = s.slice(slash);
  if (path !== "") {
    const e = pathError(path);
    if (e !== undefined) return fail(e);
  }
  return { ok: true, id: makeId(s.slice(start, slash), path) };
}

/** True when s is a valid SPIFFE ID. */
export function isSpiffeId(s: string): boolean {
  return parseSpiffeId(s).ok;
}

/**
 * The SPIFFE ID of a Kubernetes-style workload, "spiffe://TD/ns/NS/sa/SA" (the convention of SPIFFE-ID.md §2.2,
 * used by Istio and SPIRE's k8s registrar). Throws an Error when the result would not be a valid SPIFFE ID
 * (a bad trust domain, or a namespace / service account that is empty or has characters outside [A-Za-z0-9._-]).
 */
export function workloadId(trustDomain: string, ns: string, sa: string): string {
  for (const [what, seg] of [["namespace", ns], ["service account", sa]] as const) {
    if (seg.includes("/")) throw new Error(`workloadId: the ${what} ${quote(seg)} may not contain "/"`);
  }
  const text = `${SPIFFE_SCHEME_PREFIX}${trustDomain}/ns/${ns}/sa/${sa}`;
  const r = parseSpiffeId(text);
  if (!r.ok) throw new Error(`workloadId: ${quote(text)} is not a valid SPIFFE ID: ${r.error}`);
  return text;
}

/**
 * The namespace and service account of a workload ID ("spiffe://TD/ns/NS/sa/SA", exactly those four segments),
 * or undefined for any other ID (or an invalid one).
 */
export function parseWorkload(id: string | SpiffeId): { namespace: string; serviceAccount: string } | undefined {
  let path: string;
  if (typeof id === "string") {
    const r = parseSpiffeId(id);
    if (!r.ok) return undefined;
    path = r.id.path;
  } else path = id.path;
  const segs = path.split("/");
  // ["", "ns", NS, "sa", SA]
  if (segs.length !== 5 || segs[1] !== "ns" || segs[3] !== "sa") return undefined;
  return { namespace: segs[2]!, serviceAccount: segs[4]! };
}
