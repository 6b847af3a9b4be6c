// Header-list helpers: lookup, hop-by-hop removal, latin1 encoding.

import type { HeaderList } from "./types.ts";

/** The first value of a field, by lower-case name (matched case-insensitively); undefined if absent. */
export function getHeader(headers: HeaderList, lowerName: string): string | undefined {
  const len = lowerName.length;
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === len && (n === lowerName || n.toLowerCase() === lowerName)) return headers[i + 1];
  }
  return undefined;
}

/** Every value of a field, in order. */
export function getHeaderAll(headers: HeaderList, lowerName: string): string[] {
  const out: string[] = [];
  const len = lowerName.length;
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === len && (n === lowerName || n.toLowerCase() === lowerName)) out.push(headers[i + 1]!);
  }
  return out;
}

/** Fields a Connection header may not remove: the proxy needs them end to end. */
const PROTECTED = new Set(["host", "content-length"]);

/**
 * A copy of `headers` without hop-by-hop fields: Connection and every field it names, Keep-Alive, Proxy-*
 * (Proxy-Connection, Proxy-Authorization, Proxy-Authenticate, ...), TE, Trailer, Transfer-Encoding, and Upgrade.
 * With `keepUpgrade` the Upgrade fields stay and a single `Connection: upgrade` takes the place of the first
 * Connection field (appended if there was none). Content-Length and Host are always kept, even when Connection
 * names them (the engine decides framing and routing; letting a client strip them invites abuse).
 */
export function stripHopByHop(headers: HeaderList, keepUpgrade: boolean): HeaderList {
  // Tokens named by Connection (rare beyond close/keep-alive/upgrade).
  let named: Set<string> | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === 10 && n.toLowerCase() === "connection") {
      const parts = headers[i + 1]!.split(",");
      for (const p of parts) {
        const t = p.trim().toLowerCase();
        if (t === "" || t === "close" || t === "keep-alive" || PROTECTED.has(t)) continue;
        if (t === "upgrade" && keepUpgrade) continue;
        (named ??= new Set()).add(t);
      }
    }
  }
  const out: HeaderList = [];
  let connectionPlaced = false;
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    const v = headers[i + 1]!;
    const c = n.charCodeAt(0) | 0x20;
    // Only names starting with c, k, p, t, u can be hop-by-hop by themselves.
    if (c === 0x63 || c === 0x6b || c === 0x70 || c === 0x74 || c === 0x75) {
      const l = n.toLowerCase();
      if (l === "connection") {
        if (keepUpgrade && !connectionPlaced) {
          out.push("Connection", "upgrade");
          connectionPlaced = true;
        }
        continue;
      }
      if (
        l === "keep-alive" || l === "te" || l === "trailer" || l === "transfer-encoding" ||
        l.startsWith("proxy-") || (l === "upgrade" && !keepUpgrade)
      ) continue;
      if (named !== null && named.has(l)) continue;
    } else if (named !== null && named.has(n.toLowerCase())) {
      continue;
    }
    out.push(n, v);
  }
  if (keepUpgrade && !connectionPlaced) out.push("Connection", "upgrade");
  return out;
}

/** One byte per char (chars above 0xFF are a TypeError: header text must be latin1). */
export function encodeLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new TypeError("http1: non-latin1 character in header text");
    out[i] = c;
  }
  return out;
}
