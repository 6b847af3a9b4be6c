// Header translation between HTTP/1 field lists and HTTP/2's rules (RFC 9113 §8.2): lower-case names, no
// connection-specific fields, TE only as "trailers", cookies split on HTTP/2 and joined for HTTP/1.

import type { HeaderList } from "../http1/types.ts";

/** Fields HTTP/2 forbids (connection-specific) plus `host`, which becomes :authority. */
const NOT_IN_H2 = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "te"]);

/** The fields of an HTTP/1 or neutral list as HTTP/2 may carry them (a new list). */
export function toH2Fields(headers: HeaderList, teTrailers = false): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const lower = hasUpper(name) ? name.toLowerCase() : name;
    if (NOT_IN_H2.has(lower)) continue;
    out.push(lower, headers[i + 1]!);
  }
  if (teTrailers) out.push("te", "trailers");
  return out;
}

/** HTTP/2 request fields for HTTP/1: the cookie crumbs joined into one field with "; " (RFC 9113 §8.2.3). */
export function joinCookies(headers: HeaderList): HeaderList {
  let first = -1;
  let count = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === "cookie") {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count < 2) return headers;
  const out: HeaderList = [];
  const crumbs: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === "cookie") {
      crumbs.push(headers[i + 1]!);
      if (i === first) out.push("cookie", "");
    } else out.push(headers[i]!, headers[i + 1]!);
  }
  out[out.indexOf("cookie") + 1] = crumbs.join("; ");
  return out;
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}
