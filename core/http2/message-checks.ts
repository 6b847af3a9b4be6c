// HTTP message rules over HTTP/2 (RFC 9113 §8.1-§8.3): which decoded field sections are well-formed requests,
// responses and trailers, and the shaping of the fields we send. A check returns the parsed head, or a string
// saying why the message is malformed (the caller answers with a stream error PROTOCOL_ERROR, §8.1.1).

import type { HeaderList } from "../http1/types.ts";

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

/** Lower-case field names: tchar without A-Z (§8.2.1). */
const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** NUL, CR or LF anywhere, or whitespace at either end (§8.2.1). */
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.\-]*$/;
/** Octets that cannot be in a request target (controls, space, DEL); they would also break an HTTP/1 request line. */
const BAD_PATH = /[\0-\x20\x7f]/;
/** Controls, whitespace and the delimiters that cannot be in an authority without userinfo (§8.3.1). */
const BAD_AUTHORITY = /[\0-\x20\x7f/?#@\\]/;
const DIGITS = /^[0-9]+$/;

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

/** Checks one regular field; null when it is fine. */
function regularFieldError(name: string, value: string): string | null {
  if (!NAME.test(name)) return `invalid field name ${JSON.stringify(name)}`;
  if (BAD_VALUE.test(value)) return `invalid value in field ${name}`;
  if (connectionSpecific(name)) return `connection-specific field ${name}`;
  if (name === "te" && value.toLowerCase() !== "trailers") return "te other than trailers";
  return null;
}

/** A Content-Length value (identical comma-separated repeats allowed, RFC 9110 §8.6); -1 when invalid. */
export function parseContentLength(v: string): number {
  if (DIGITS.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : -1;
  }
  if (v.indexOf(",") < 0) return -1;
  let n = -1;
  for (const part of v.split(",")) {
    const p = part.trim();
    if (!DIGITS.test(p)) return -1;
    const m = Number(p);
    if (!Number.isSafeInteger(m) || (n >= 0 && m !== n)) return -1;
    n = m;
  }
  return n;
}

/** Folds one content-length field into what was seen so far (-1 none); -2 when malformed. */
function foldContentLength(prev: number, value: string): number {
  const n = parseContentLength(value);
  if (n < 0 || (prev >= 0 && prev !== n)) return -2;
  return n;
}

/** A request head (§8.3.1). `connectProtocol`: we advertised SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441). */
export function checkRequest(fields: string[], endStream: boolean, connectProtocol: boolean): Http2RequestHead | string {
  let method: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let path: string | undefined;
  let protocol: string | undefined;
  let host: string | undefined;
  let contentLength = -1;
  let regular = false;
  const headers: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      if (BAD_VALUE.test(value)) return `invalid value in ${name}`;
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
      continue;
    }
    regular = true;
    const e = regularFieldError(name, value);
    if (e !== null) return e;
    if (name === "content-length") {
      contentLength = foldContentLength(contentLength, value);
      if (contentLength === -2) return "invalid content-length";
    } else if (name === "host") {
      if (host !== undefined) return "more than one host field";
      host = value;
    }
    headers.push(name, value);
  }

  if (method === undefined || !TOKEN.test(method)) return "missing or invalid :method";
  if (method === "CONNECT" && protocol === undefined) {
    if (scheme !== undefined || path !== undefined) return "CONNECT with :scheme or :path";
    if (authority === undefined || authority === "") return "CONNECT without :authority";
  } else {
    if (scheme === undefined || !SCHEME.test(scheme)) return "missing or invalid :scheme";
    if (path === undefined || path === "") return "missing or empty :path";
    if (protocol !== undefined && method !== "CONNECT") return ":protocol in a request other than CONNECT";
    if (protocol !== undefined && (authority === undefined || authority === "")) return "extended CONNECT without :authority";
    if (path === "*") {
      if (method !== "OPTIONS") return ":path * in a request other than OPTIONS";
    } else if (BAD_PATH.test(path)) {
      return "invalid character in :path";
    } else if ((scheme === "http" || scheme === "https") && path.charCodeAt(0) !== 0x2f) {
      return ":path of an http(s) request not starting with /";
    }
  }
  if (authority !== undefined && authority !== "" && BAD_AUTHORITY.test(authority)) return "invalid :authority";
  if (authority !== undefined && host !== undefined && authority.toLowerCase() !== host.toLowerCase()) {
    return "host field differs from :authority"; // §8.3.1: SHOULD be treated as malformed
  }
  if (endStream && contentLength > 0) return "content-length without the body (END_STREAM on HEADERS)";

  const head: Http2RequestHead = {
    method,
    scheme: scheme ?? "",
    authority: authority ?? host ?? "",
    path: path ?? "",
    headers,
    endStream,
    contentLength,
  };
  if (protocol !== undefined) head.protocol = protocol;
  return head;
}

/**
 * A response head, final or informational (§8.3.2). `headRequest`: the request was HEAD, so a content-length
 * describes a body that is not sent (so do 204 and 304).
 */
export function checkResponse(fields: string[], endStream: boolean, headRequest: boolean): Http2ResponseHead | string {
  let status = -1;
  let contentLength = -1;
  let regular = false;
  const headers: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return `pseudo-header ${name} after a regular field`;
      if (name !== ":status") return `pseudo-header ${name} in a response`;
      if (status !== -1) return "duplicate :status";
      if (value.length !== 3 || !DIGITS.test(value)) return "invalid :status";
      status = Number(value);
      continue;
    }
    regular = true;
    const e = regularFieldError(name, value);
    if (e !== null) return e;
    if (name === "content-length") {
      contentLength = foldContentLength(contentLength, value);
      if (contentLength === -2) return "invalid content-length";
    }
    headers.push(name, value);
  }
  if (status < 100 || status > 599) return "missing or invalid :status";
  if (status === 101) return "101 (Switching Protocols) is not used in HTTP/2"; // §8.6
  if (status < 200) {
    if (endStream) return "END_STREAM on an informational response"; // §8.1
  } else if (endStream && contentLength > 0 && !headRequest && status !== 204 && status !== 304) {
    return "content-length without the body (END_STREAM on HEADERS)";
  }
  return { status, headers, endStream, contentLength };
}

/** The response to a request with this method and status carries no content whatever its content-length. */
export function bodiless(headRequest: boolean, status: number): boolean {
  return headRequest || status === 204 || status === 304;
}

/** A trailer section (§8.1): regular fields only, and it must end the stream. */
export function checkTrailers(fields: string[], endStream: boolean): string | null {
  if (!endStream) return "trailers without END_STREAM";
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
    const e = regularFieldError(name, fields[i + 1]!);
    if (e !== null) return e;
  }
  return null;
}

/**
 * Appends the fields we send to `out`: names lower-cased, pseudo-headers and connection-specific fields
 * dropped (TE kept only as "trailers"), and Host dropped when `dropHost` (a request that has an :authority).
 */
export function appendOutgoing(out: string[], headers: HeaderList, dropHost: boolean): void {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    let name = headers[i]!;
    if (LOWER.test(name)) name = name.toLowerCase();
    if (name.charCodeAt(0) === 0x3a || connectionSpecific(name)) continue;
    const value = headers[i + 1]!;
    if (name === "te") {
      if (value.trim().toLowerCase() === "trailers") out.push("te", "trailers");
      continue;
    }
    if (dropHost && name === "host") continue;
    out.push(name, value);
  }
}

const LOWER = /[A-Z]/;
