// HTTP/1.1 serializer: heads, chunk framing. Heads are validated while encoded (no CR/LF/NUL injection).

import { FIELD_VALUE, TOKEN } from "./chars.ts";
import type { HeaderList } from "./types.ts";

export const CRLF: Uint8Array = new Uint8Array([13, 10]);

/** `method SP target SP HTTP/1.1 CRLF *(field CRLF) CRLF`. Throws TypeError on invalid method, target or fields. */
export function encodeRequestHead(method: string, target: string, headers: HeaderList): Uint8Array {
  const out = new Uint8Array(method.length + 1 + target.length + 11 + fieldsSize(headers) + 2);
  let p = writeToken(out, 0, method, "method");
  out[p++] = 32;
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) throw new TypeError("http1: invalid character in request target");
    out[p++] = c;
  }
  p = writeAscii(out, p, " HTTP/1.1\r\n");
  p = writeFields(out, p, headers);
  out[p++] = 13;
  out[p++] = 10;
  return out;
}

/** `HTTP/1.x SP status SP reason CRLF *(field CRLF) CRLF`. */
export function encodeResponseHead(status: number, reason: string, headers: HeaderList, version: 10 | 11 = 11): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new TypeError("http1: invalid status code");
  const out = new Uint8Array(13 + reason.length + 2 + fieldsSize(headers) + 2);
  let p = writeAscii(out, 0, version === 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  p = writeAscii(out, p, String(status));
  out[p++] = 32;
  p = writeValue(out, p, reason);
  out[p++] = 13;
  out[p++] = 10;
  p = writeFields(out, p, headers);
  out[p++] = 13;
  out[p++] = 10;
  return out;
}

const chunkHeaderCache: (Uint8Array | undefined)[] = [];
const CHUNK_CACHE_MAX = 8192;

/** `<hex len>\r\n`. Small sizes are cached: the returned array is shared and must not be modified. */
export function encodeChunkHeader(len: number): Uint8Array {
  if (len < CHUNK_CACHE_MAX) {
    const hit = chunkHeaderCache[len];
    if (hit !== undefined) return hit;
  }
  if (!Number.isSafeInteger(len) || len < 0) throw new RangeError("http1: invalid chunk length");
  const hex = len.toString(16);
  const out = new Uint8Array(hex.length + 2);
  writeAscii(out, 0, hex);
  out[hex.length] = 13;
  out[hex.length + 1] = 10;
  if (len < CHUNK_CACHE_MAX) chunkHeaderCache[len] = out;
  return out;
}

const LAST_CHUNK = new Uint8Array([0x30, 13, 10, 13, 10]);

/** `0\r\n` [trailer fields] `\r\n`. The no-trailer result is shared and must not be modified. */
export function encodeLastChunk(trailers: HeaderList | null): Uint8Array {
  if (trailers === null || trailers.length === 0) return LAST_CHUNK;
  const out = new Uint8Array(3 + fieldsSize(trailers) + 2);
  out[0] = 0x30;
  out[1] = 13;
  out[2] = 10;
  let p = writeFields(out, 3, trailers);
  out[p++] = 13;
  out[p++] = 10;
  return out;
}

function fieldsSize(headers: HeaderList): number {
  let n = 0;
  for (let i = 0; i < headers.length; i++) n += headers[i]!.length;
  return n + (headers.length >> 1) * 4; // ": " and CRLF per field
}

function writeFields(out: Uint8Array, p: number, headers: HeaderList): number {
  if ((headers.length & 1) !== 0) throw new TypeError("http1: header list has an odd length");
  for (let i = 0; i < headers.length; i += 2) {
    p = writeToken(out, p, headers[i]!, "header name");
    out[p++] = 58;
    out[p++] = 32;
    p = writeValue(out, p, headers[i + 1]!);
    out[p++] = 13;
    out[p++] = 10;
  }
  return p;
}

function writeToken(out: Uint8Array, p: number, s: string, what: string): number {
  if (s.length === 0) throw new TypeError(`http1: empty ${what}`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] === 0) throw new TypeError(`http1: invalid character in ${what}`);
    out[p++] = c;
  }
  return p;
}

function writeValue(out: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] === 0) throw new TypeError("http1: invalid character in header value");
    out[p++] = c;
  }
  return p;
}

function writeAscii(out: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[p++] = s.charCodeAt(i);
  return p;
}
