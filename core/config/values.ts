// Parsers for the scalar value forms of the config file: durations, addresses, hosts, hostnames.
// Each returns { ok, value } or { ok: false, message } where the message says what was expected and received.

import type { Addr } from "../ports.ts";

export type ValueResult<T> = { ok: true; value: T } | { ok: false; message: string };

/** Timers overflow past 2^31-1 ms (about 24.8 days) and would fire at once, so durations are capped there. */
export const MAX_DURATION_MS = 2_147_483_647;

/** A short human description of a received value, for messages. */
export function describe(input: unknown): string {
  if (input === undefined) return "nothing";
  if (input === null) return "null";
  if (typeof input === "string") return JSON.stringify(input.length > 80 ? `${input.slice(0, 77)}...` : input);
  if (typeof input === "number" || typeof input === "boolean" || typeof input === "bigint") return String(input);
  if (Array.isArray(input)) return `a list (${input.length} item${input.length === 1 ? "" : "s"})`;
  if (typeof input === "object") return "a mapping";
  return typeof input;
}

const DURATION_EXPECTED = 'a duration (milliseconds as a number, or a string like "500ms", "10s", "2m", "1h30m")';
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** A duration in milliseconds: a non-negative number, or "500ms" / "10s" / "2m" / "1h" / "1m30s"; "0" is 0. */
export function parseDuration(input: unknown, minMs = 0): ValueResult<number> {
  let ms: number;
  if (typeof input === "number") {
    if (!Number.isFinite(input)) return fail(DURATION_EXPECTED, input);
    ms = input;
  } else if (typeof input === "string") {
    const text = input.trim();
    if (text === "0") ms = 0;
    else if (DURATION_RE.test(text)) {
      ms = 0;
      for (const m of text.matchAll(DURATION_PART_RE)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    } else return fail(DURATION_EXPECTED, input);
  } else return fail(DURATION_EXPECTED, input);
  if (ms < minMs) {
    const what = minMs === 0 ? "a non-negative duration" : `a duration of at least ${minMs}ms`;
    return fail(what, input);
  }
  if (ms > MAX_DURATION_MS) return fail(`a duration of at most ${MAX_DURATION_MS}ms (about 24.8 days)`, input);
  return { ok: true, value: ms };
}

const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const DNS_NAME_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const IPV6_RE = /^[0-9a-f:.]+(?:%[0-9a-z_.-]+)?$/;

function isIpv6(s: string): boolean {
  return s.includes(":") && IPV6_RE.test(s) && s.split(":").length <= 9;
}

/** A host (DNS name, IPv4, or IPv6 with or without brackets), lower-cased, IPv6 without brackets. */
export function parseHost(input: unknown): ValueResult<string> {
  const expected = 'a host (a DNS name, an IPv4 address, or an IPv6 address such as "::1")';
  if (typeof input !== "string") return fail(expected, input);
  let host = input.trim().toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) {
    host = host.slice(1, -1);
    return isIpv6(host) ? { ok: true, value: host } : fail(expected, input);
  }
  if (isIpv6(host)) return { ok: true, value: host };
  if (host.length > 0 && host.length <= 253 && DNS_NAME_RE.test(host)) return { ok: true, value: host };
  return fail(expected, input);
}

/** A port: an integer in minPort..65535 (0 means "the OS chooses" and is only valid for listeners). */
export function parsePort(input: unknown, minPort: number): ValueResult<number> {
  if (typeof input === "number" && Number.isInteger(input) && input >= minPort && input <= 65535) {
    return { ok: true, value: input };
  }
  return fail(`a port (an integer ${minPort}..65535)`, input);
}

const ADDRESS_EXPECTED = 'an address "host:port" (IPv6 as "[::1]:80") or a mapping {host, port}';

/** Splits "host:port" / "[v6]:port" into its parts, without validating them. */
function splitHostPort(text: string): { host: string; port: string } | { error: string } {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return { error: "missing ] after the IPv6 address" };
    if (text[close + 1] !== ":") return { error: "missing :port after the address" };
    return { host: text.slice(0, close + 1), port: text.slice(close + 2) };
  }
  const colon = text.lastIndexOf(":");
  if (colon < 0) return { error: "missing :port" };
  if (text.indexOf(":") !== colon) return { error: 'IPv6 addresses need brackets, as in "[::1]:80"' };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** An address string "host:port" or "[v6]:port". */
export function parseAddressString(input: string, minPort: number): ValueResult<Addr> {
  const parts = splitHostPort(input.trim());
  if ("error" in parts) return fail(ADDRESS_EXPECTED, input, parts.error);
  const host = parseHost(parts.host);
  if (!host.ok) return fail(ADDRESS_EXPECTED, input, `bad host ${describe(parts.host)}`);
  const portNum = /^\d{1,5}$/.test(parts.port) ? Number(parts.port) : Number.NaN;
  const port = parsePort(portNum, minPort);
  if (!port.ok) return fail(ADDRESS_EXPECTED, input, `the port must be an integer ${minPort}..65535`);
  return { ok: true, value: { host: host.value, port: port.value } };
}

export function addressExpected(): string {
  return ADDRESS_EXPECTED;
}

/**
 * A service hostname (an authority as clients send it in Host): a DNS name or IP, optionally with ":port";
 * lower-cased; IPv6 keeps its brackets ("[::1]:8080") since that is how it appears in Host headers.
 */
export function parseHostname(input: unknown): ValueResult<string> {
  const expected = 'a hostname such as "web", "web.default.svc.cluster.local" or "web:8080"';
  if (typeof input !== "string") return fail(expected, input);
  const text = input.trim().toLowerCase();
  let host = text;
  let port: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return fail(expected, input);
    host = text.slice(0, close + 1);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return fail(expected, input);
      port = rest.slice(1);
    }
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0) {
      if (text.indexOf(":") !== colon) return fail(expected, input, 'IPv6 addresses need brackets, as in "[::1]:80"');
      host = text.slice(0, colon);
      port = text.slice(colon + 1);
    }
  }
  if (!parseHost(host).ok) return fail(expected, input);
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && parsePort(Number(port), 1).ok)) {
    return fail(expected, input, "the port must be an integer 1..65535");
  }
  return { ok: true, value: text };
}

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** An HTTP header name (an RFC 9110 token), as given; `lower` lower-cases it. */
export function parseHeaderName(input: unknown, lower = false): ValueResult<string> {
  if (typeof input === "string" && TOKEN_RE.test(input)) return { ok: true, value: lower ? input.toLowerCase() : input };
  return fail('a header name (letters, digits and !#$%&\'*+.^_`|~-, e.g. "x-user")', input);
}

/** A cookie name (an RFC 6265 token), case kept. */
export function parseCookieName(input: unknown): ValueResult<string> {
  if (typeof input === "string" && TOKEN_RE.test(input)) return { ok: true, value: input };
  return fail('a cookie name (letters, digits and !#$%&\'*+.^_`|~-, e.g. "session")', input);
}

/** A header value the proxy may write: printable ASCII, spaces and tabs (no CR, LF or other controls). */
export function parseHeaderValue(input: unknown): ValueResult<string> {
  if (typeof input === "string" && /^[\t\x20-\x7e]*$/.test(input)) return { ok: true, value: input };
  return fail("a header value (printable ASCII, spaces and tabs)", input);
}

/** An HTTP method: letters, upper-cased ("get" -> "GET"). */
export function parseMethod(input: unknown): ValueResult<string> {
  if (typeof input === "string" && /^[A-Za-z]+$/.test(input)) return { ok: true, value: input.toUpperCase() };
  return fail('an HTTP method such as "GET"', input);
}

/** A route hostname (Gateway API): a DNS name, or "*." and a DNS name; no port; lower-cased. */
export function parseRouteHostname(input: unknown): ValueResult<string> {
  const expected = 'a hostname such as "web.example.com" or "*.example.com" (no port)';
  if (typeof input !== "string") return fail(expected, input);
  const text = input.trim().toLowerCase();
  const name = text.startsWith("*.") ? text.slice(2) : text;
  if (name.length > 0 && text.length <= 253 && DNS_NAME_RE.test(name)) return { ok: true, value: text };
  return fail(expected, input);
}

/** A hostname a redirect or rewrite puts in Location or Host: a DNS name or IPv4 address, no port; lower-cased. */
export function parsePreciseHostname(input: unknown): ValueResult<string> {
  const expected = 'a hostname such as "web.example.com" (no wildcard, no port)';
  if (typeof input !== "string") return fail(expected, input);
  const text = input.trim().toLowerCase();
  if (text.length > 0 && text.length <= 253 && DNS_NAME_RE.test(text)) return { ok: true, value: text };
  return fail(expected, input);
}

/** An absolute path such as "/api/v1": starts with "/", printable ASCII, no spaces, "?" or "#". */
export function parseHttpPath(input: unknown): ValueResult<string> {
  if (typeof input === "string" && /^\/[!-~]*$/.test(input) && !/[?#]/.test(input)) return { ok: true, value: input };
  return fail('a path starting with "/" (printable ASCII; no spaces, "?" or "#")', input);
}

function fail(expected: string, received: unknown, detail?: string): { ok: false; message: string } {
  return { ok: false, message: `expected ${expected}, received ${describe(received)}${detail ? ` (${detail})` : ""}` };
}
