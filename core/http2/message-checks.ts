// HTTP message rules over HTTP/2 (RFC 9113 §8.1-§8.3): which decoded field sections are well-formed requests,
// responses and trailers, and the shaping of the fields we send. A check returns the parsed head, or a string
// saying why the message is malformed (the caller answers with a stream error PROTOCOL_ERROR, §8.1.1).

import type { HeaderList } from "../http1/types.ts";
import { NAME_OK, SPECIAL, VALUE_OK } from "./hpack/field-flags.ts";

/** Server side: what the peer asked for (already checked per RFC 9113 §8). */
export interface Http2RequestHead {
  method: string;
  scheme: string;
  authority: string;
  path: string;
  /** :protocol (RFC 8441), only if we advertised ENABLE_CONNECT_PROTOCOL. */
  protocol?: string;
  /** Regular fields only (lower-case), pseudo-headers removed, order kept. */
  headers: HeaderList;
  /** The HEADERS had END_STREAM (no body). */
  endStream: boolean;
  /** -1 when absent. */
  contentLength: number;
}

export interface Http2ResponseHead {
  status: number;
  headers: HeaderList;
  endStream: boolean;
  /** -1 when absent. */
  contentLength: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.\-]*$/;
/** Octets that cannot be in a request target (controls, space, DEL); they would also break an HTTP/1 request line. */
const BAD_PATH = /[\0-\x20\x7f]/;
/** Controls, whitespace and the delimiters that cannot be in an authority without userinfo (§8.3.1). */
const BAD_AUTHORITY = /[\0-\x20\x7f/?#@\\]/;
const DIGITS = /^[0-9]+$/;

// The last :method, :scheme, :authority and :path found valid: the same values come again and again (from the
// peer's HPACK table, the very same strings), and an equal string needs no second look.
let goodMethod = "GET";
let goodScheme = "https";
let goodAuthority = "";
let goodPath = "/";

function validMethod(v: string): boolean {
  if (v === goodMethod) return true;
  if (!TOKEN.test(v)) return false;
  goodMethod = v;
  return true;
}

function validScheme(v: string): boolean {
  if (v === goodScheme) return true;
  if (!SCHEME.test(v)) return false;
  goodScheme = v;
  return true;
}

/** A non-empty :authority without the octets of BAD_AUTHORITY. */
function validAuthority(v: string): boolean {
  if (v === goodAuthority) return true;
  if (BAD_AUTHORITY.test(v)) return false;
  goodAuthority = v;
  return true;
}

/** A :path other than "*" without the octets of BAD_PATH. */
function validPathOctets(v: string): boolean {
  if (v === goodPath) return true;
  if (BAD_PATH.test(v)) return false;
  goodPath = v;
  return true;
}

/** The connection-specific fields of §8.2.2 (TE is handled apart: it may be "trailers"). */
function connectionSpecific(name: string): boolean {
  switch (name) {
    case "connection":
    case "keep-alive":
    case "proxy-connection":
    case "transfer-encoding":
    case "upgrade":
      return true;
  }
  return false;
}

/**
 * Checks one regular field from its field bits (field-flags.ts, worked out by the HPACK decoder as it decoded the
 * octets, or kept with the table entry the field came from); null when it is fine. Names other than SPECIAL ones
 * need no comparison.
 */
function regularFieldError(name: string, value: string, f: number): string | null {
  if ((f & NAME_OK) === 0) return `invalid field name ${JSON.stringify(name)}`;
  if ((f & VALUE_OK) === 0) return `invalid value in field ${name}`;
  if ((f & SPECIAL) !== 0) {
    if (connectionSpecific(name)) return `connection-specific field ${name}`;
    if (name === "te" && value.toLowerCase() !== "trailers") return "te other than trailers";
  }
  return null;
}

/** A Content-Length value (identical comma-separated repeats allowed, RFC 9110 §8.6); -1 when invalid. */
export function parseContentLength(v: string): number {
  const n = v.length;
  if (n > 0 && n <= 15) {
    // Up to 15 digits is always a safe integer.
    let x = 0;
    let i = 0;
    for (; i < n; i++) {
      const c = v.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) break;
      x = x * 10 + c;
    }
    if (i === n) return x;
  }
  if (DIGITS.test(v)) {
    const m = Number(v);
    return Number.isSafeInteger(m) ? m : -1;
  }
  if (v.indexOf(",") < 0) return -1;
  let len = -1;
  for (const part of v.split(",")) {
    const p = part.trim();
    if (!DIGITS.test(p)) return -1;
    const m = Number(p);
    if (!Number.isSafeInteger(m) || (len >= 0 && m !== len)) return -1;
    len = m;
  }
  return len;
}

/** Folds one content-length field into what was seen so far (-1 none); -2 when malformed. */
function foldContentLength(prev: number, value: string): number {
  const n = parseContentLength(value);
  if (n < 0 || (prev >= 0 && prev !== n)) return -2;
  return n;
}

/**
 * A decoded field section with its pseudo-header fields apart: HpackDecoder after decode(block, true). Field
 * bits (field-flags.ts) come with every field, worked out by the decoder.
 */
export interface FieldSection {
  /** The bits of the regular fields (the list the decoder returned): fieldFlags[i] for the i-th field. */
  readonly fieldFlags: Uint8Array;
  readonly pseudoCount: number;
  /** Name and value of the i-th pseudo-header at 2i and 2i+1. */
  readonly pseudoFields: readonly string[];
  readonly pseudoFlags: Uint8Array;
  /** The first pseudo-header that came after a regular field (§8.3), or "". */
  readonly misplacedPseudo: string;
}

/**
 * A request head (§8.3.1) from the regular `fields` and the pseudo-headers of `sec`; `fields` becomes the head's
 * headers. `connectProtocol`: we advertised SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441).
 */
export function checkRequest(fields: string[], sec: FieldSection, endStream: boolean, connectProtocol: boolean): Http2RequestHead | string {
  let method: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let path: string | undefined;
  let protocol: string | undefined;
  let host: string | undefined;
  let contentLength = -1;
  if (sec.misplacedPseudo !== "") return `pseudo-header ${sec.misplacedPseudo} after a regular field`;
  const pseudo = sec.pseudoFields;
  for (let k = 0; k < sec.pseudoCount; k++) {
    const name = pseudo[2 * k]!;
    const value = pseudo[2 * k + 1]!;
    if ((sec.pseudoFlags[k]! & VALUE_OK) === 0) return `invalid value in ${name}`;
    switch (name) {
      case ":method":
        if (method !== undefined) return "duplicate :method";
        method = value;
        break;
      case ":scheme":
        if (scheme !== undefined) return "duplicate :scheme";
        scheme = value;
        break;
      case ":authority":
        if (authority !== undefined) return "duplicate :authority";
        authority = value;
        break;
      case ":path":
        if (path !== undefined) return "duplicate :path";
        path = value;
        break;
      case ":protocol":
        if (!connectProtocol) return "unknown pseudo-header :protocol";
        if (protocol !== undefined) return "duplicate :protocol";
        protocol = value;
        break;
      case ":status":
        return "response pseudo-header :status in a request";
      default:
        return `unknown pseudo-header ${name}`;
    }
  }
  const flags = sec.fieldFlags;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const f = flags[i >> 1]!;
    const e = regularFieldError(name, value, f);
    if (e !== null) return e;
    if ((f & SPECIAL) === 0) continue;
    if (name === "content-length") {
      contentLength = foldContentLength(contentLength, value);
      if (contentLength === -2) return "invalid content-length";
    } else if (name === "host") {
      if (host !== undefined) return "more than one host field";
      host = value;
    }
  }

  if (method === undefined || !validMethod(method)) return "missing or invalid :method";
  if (method === "CONNECT" && protocol === undefined) {
    if (scheme !== undefined || path !== undefined) return "CONNECT with :scheme or :path";
    if (authority === undefined || authority === "") return "CONNECT without :authority";
  } else {
    if (scheme === undefined || !validScheme(scheme)) return "missing or invalid :scheme";
    if (path === undefined || path === "") return "missing or empty :path";
    if (protocol !== undefined && method !== "CONNECT") return ":protocol in a request other than CONNECT";
    if (protocol !== undefined && (authority === undefined || authority === "")) return "extended CONNECT without :authority";
    if (path === "*") {
      if (method !== "OPTIONS") return ":path * in a request other than OPTIONS";
    } else if (!validPathOctets(path)) {
      return "invalid character in :path";
    } else if ((scheme === "http" || scheme === "https") && path.charCodeAt(0) !== 0x2f) {
      return ":path of an http(s) request not starting with /";
    }
  }
  if (authority !== undefined && authority !== "" && !validAuthority(authority)) return "invalid :authority";
  if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) {
    return "host field differs from :authority"; // §8.3.1: SHOULD be treated as malformed
  }
  if (endStream && contentLength > 0) return "content-length without the body (END_STREAM on HEADERS)";

  const head: Http2RequestHead = {
    method,
    scheme: scheme ?? "",
    authority: authority ?? host ?? "",
    path: path ?? "",
    headers: fields,
    endStream,
    contentLength,
  };
  if (protocol !== undefined) head.protocol = protocol;
  return head;
}

/**
 * A response head, final or informational (§8.3.2), from the regular `fields` (the head's headers) and the
 * pseudo-headers of `sec`. `headRequest`: the request was HEAD, so a content-length describes a body that is not
 * sent (so do 204 and 304).
 */
export function checkResponse(fields: string[], sec: FieldSection, endStream: boolean, headRequest: boolean): Http2ResponseHead | string {
  let status = -1;
  let contentLength = -1;
  if (sec.misplacedPseudo !== "") return `pseudo-header ${sec.misplacedPseudo} after a regular field`;
  const pseudo = sec.pseudoFields;
  for (let k = 0; k < sec.pseudoCount; k++) {
    const name = pseudo[2 * k]!;
    if (name !== ":status") return `pseudo-header ${name} in a response`;
    if (status !== -1) return "duplicate :status";
    status = threeDigits(pseudo[2 * k + 1]!);
    if (status < 0) return "invalid :status";
  }
  const flags = sec.fieldFlags;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    const f = flags[i >> 1]!;
    const e = regularFieldError(name, value, f);
    if (e !== null) return e;
    if ((f & SPECIAL) !== 0 && name === "content-length") {
      contentLength = foldContentLength(contentLength, value);
      if (contentLength === -2) return "invalid content-length";
    }
  }
  if (status < 100 || status > 599) return "missing or invalid :status";
  if (status === 101) return "101 (Switching Protocols) is not used in HTTP/2"; // §8.6
  if (status < 200) {
    if (endStream) return "END_STREAM on an informational response"; // §8.1
  } else if (endStream && contentLength > 0 && !headRequest && status !== 204 && status !== 304) {
    return "content-length without the body (END_STREAM on HEADERS)";
  }
  return { status, headers: fields, endStream, contentLength };
}

/** The number of a three-digit string, or -1. */
function threeDigits(v: string): number {
  if (v.length !== 3) return -1;
  const a = v.charCodeAt(0) - 0x30;
  const b = v.charCodeAt(1) - 0x30;
  const c = v.charCodeAt(2) - 0x30;
  if (a < 0 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9) return -1;
  return a * 100 + b * 10 + c;
}

/** The response to a request with this method and status carries no content whatever its content-length. */
export function bodiless(headRequest: boolean, status: number): boolean {
  return headRequest || status === 204 || status === 304;
}

/** A trailer section (§8.1): regular fields only (`sec` as for checkRequest), and it must end the stream. */
export function checkTrailers(fields: string[], sec: FieldSection, endStream: boolean): string | null {
  if (!endStream) return "trailers without END_STREAM";
  if (sec.pseudoCount > 0) return `pseudo-header ${sec.pseudoFields[0]} in trailers`;
  const flags = sec.fieldFlags;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const e = regularFieldError(fields[i]!, fields[i + 1]!, flags[i >> 1]!);
    if (e !== null) return e;
  }
  return null;
}

/** Where shapeOutgoing puts the fields: an HPACK encoder's block, or a list (appendOutgoing). */
export interface FieldSink {
  field(name: string, value: string): void;
}

/**
 * The fields we send, into `sink`: names lower-cased, pseudo-headers and connection-specific fields dropped (TE
 * kept only as "trailers"), and Host dropped when `dropHost` (a request that has an :authority).
 */
export function shapeOutgoing(sink: FieldSink, headers: HeaderList, dropHost: boolean): void {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const given = headers[i]!;
    const slot = plainSlot(given);
    if (plainNames[slot] === given) {
      // Known to need nothing (usually the very same string: a constant, or a name the decoder gave).
      sink.field(given, headers[i + 1]!);
      continue;
    }
    let name = given;
    if (hasUpper(name)) name = name.toLowerCase();
    if (name.charCodeAt(0) === 0x3a || connectionSpecific(name)) continue;
    const value = headers[i + 1]!;
    if (name === "te") {
      if (value.trim().toLowerCase() === "trailers") sink.field("te", "trailers");
      continue;
    }
    if (name === "host") {
      if (!dropHost) sink.field(name, value);
      continue;
    }
    if (name === given) plainNames[slot] = given;
    sink.field(name, value);
  }
}

// Names shapeOutgoing passed on as they were (lower case, not a pseudo-header, connection-specific, te or host),
// remembered by a few chars: the same names come in every message, and one comparison then does.
const PLAIN_SLOTS = 64;
const plainNames: (string | null)[] = new Array<string | null>(PLAIN_SLOTS).fill(null);

function plainSlot(name: string): number {
  const n = name.length;
  return (n ^ (name.charCodeAt(0) << 2) ^ (name.charCodeAt(n - 1) << 4) ^ name.charCodeAt(n >> 1)) & (PLAIN_SLOTS - 1);
}

/** shapeOutgoing() appending to a list. */
export function appendOutgoing(out: string[], headers: HeaderList, dropHost: boolean): void {
  shapeOutgoing({ field: (n, v) => void out.push(n, v) }, headers, dropHost);
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}
