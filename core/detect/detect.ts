// Protocol detection on the first bytes of an accepted connection.

import { concatBytes } from "../bytes.ts";

export type Detected = "http1" | "h2" | "tls" | "opaque";
/** "more" means: not decided yet, read more bytes (or give up at the limit / timeout). */
export type DetectResult = Detected | "more";

const H2_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const SP = 0x20, CR = 0x0d, LF = 0x0a;

/** Decides what `bytes` (everything read so far) start with. `final` is true when no more bytes will come. */
export function detectProtocol(bytes: Uint8Array, final = false): DetectResult {
  if (bytes.length === 0) return final ? "opaque" : "more";
  const tls = looksLikeClientHello(bytes);
  if (tls !== "no") return tls === "yes" ? "tls" : final ? "opaque" : "more";
  const h2 = prefixMatch(bytes, H2_PREFACE);
  if (h2 === "full") return "h2";
  if (h2 === "partial") return final ? "opaque" : "more";
  const h1 = looksLikeRequestLine(bytes, final);
  if (h1 === "more") return final ? "opaque" : "more";
  return h1;
}

function prefixMatch(bytes: Uint8Array, prefix: Uint8Array): "full" | "partial" | "no" {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return "no";
  return bytes.length >= prefix.length ? "full" : "partial";
}

/** A TLS record header of type handshake (22), version 3.x, whose first message is a ClientHello (1). */
function looksLikeClientHello(b: Uint8Array): "yes" | "no" | "more" {
  if (b[0] !== 0x16) return "no";
  if (b.length < 2) return "more";
  if (b[1] !== 0x03) return "no";
  if (b.length < 3) return "more";
  if (b[2]! > 0x04) return "no";
  if (b.length < 6) return "more";
  return b[5] === 0x01 ? "yes" : "no";
}

function isTokenChar(c: number): boolean {
  // RFC 9110 tchar
  if (c >= 0x30 && c <= 0x39) return true; // 0-9
  if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) return true; // a-z A-Z
  return c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e ||
    c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

/**
 * An HTTP/1 request line: token SP target SP HTTP/d.d CRLF. A line that fits this shape so far but has not
 * ended is "more"; a long target (which the codec answers with 414) still counts as HTTP once method and SP are seen.
 */
function looksLikeRequestLine(b: Uint8Array, final: boolean): "http1" | "opaque" | "more" {
  let i = 0;
  while (i < b.length && isTokenChar(b[i]!)) i++;
  if (i === b.length) return i <= 32 ? "more" : "opaque";
  if (i === 0 || b[i] !== SP) return "opaque";
  const targetStart = ++i;
  while (i < b.length && b[i]! > SP && b[i] !== 0x7f) i++;
  if (i === b.length) return final && i > targetStart ? "http1" : "more";
  if (i === targetStart || b[i] !== SP) return "opaque";
  i++;
  for (let k = 0; k < HTTP_SLASH.length; k++, i++) {
    if (i === b.length) return "more";
    if (b[i] !== HTTP_SLASH[k]) return "opaque";
  }
  // d.d, then CRLF (a bare LF is left for the codec to reject, so it still counts as HTTP here)
  const tail = [isDigit, (c: number) => c === 0x2e, isDigit, (c: number) => c === CR || c === LF];
  for (const ok of tail) {
    if (i === b.length) return "more";
    if (!ok(b[i++]!)) return "opaque";
  }
  return "http1";
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Per-connection accumulator: keeps every byte read during detection and decides once it can. */
export class Detector {
  private buf: Uint8Array = new Uint8Array(0);
  constructor(private readonly maxBytes: number) {}
  /** Adds a chunk; returns the decision, or "more". Once maxBytes are in, the decision is forced. */
  push(chunk: Uint8Array): DetectResult {
    this.buf = this.buf.length === 0 ? chunk : concatBytes([this.buf, chunk]);
    const full = this.buf.length >= this.maxBytes;
    const r = detectProtocol(full ? this.buf.subarray(0, this.maxBytes) : this.buf, full);
    return r;
  }
  /** The decision when no more bytes will come (timeout or EOF). */
  finish(): Detected {
    const r = detectProtocol(this.buf, true);
    return r === "more" ? "opaque" : r;
  }
  /** Everything read so far, to replay into the chosen protocol handler. */
  get bytes(): Uint8Array {
    return this.buf;
  }
}
