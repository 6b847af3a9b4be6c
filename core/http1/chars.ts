// Byte classes and the latin1 byte<->string helpers shared by the parser and the serializer.

/** 1 for RFC 9110 `tchar` (token characters), else 0. */
export const TOKEN: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** 1 for bytes allowed in a field value: HTAB, SP, VCHAR, obs-text. CR, LF, NUL, other CTLs and DEL are 0. */
export const FIELD_VALUE: Uint8Array = (() => {
  const t = new Uint8Array(256);
  t[0x09] = 1;
  for (let c = 0x20; c <= 0x7e; c++) t[c] = 1;
  for (let c = 0x80; c <= 0xff; c++) t[c] = 1;
  return t;
})();

/** Hex digit value, or 255. */
export const HEX: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let c = 0; c < 10; c++) t[0x30 + c] = c;
  for (let c = 0; c < 6; c++) {
    t[0x41 + c] = 10 + c;
    t[0x61 + c] = 10 + c;
  }
  return t;
})();

/**
 * Bytes -> string, one char per byte (ISO-8859-1). Note `new TextDecoder("latin1")` is really windows-1252 per the
 * WHATWG Encoding spec (0x80-0x9F differ), so it cannot be used here; String.fromCharCode over small ranges is exact
 * and fast for header-sized strings.
 */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n <= 32) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
    return s;
  }
  let s = "";
  for (let i = start; i < end; i += 4096) {
    const e = i + 4096 < end ? i + 4096 : end;
    s += String.fromCharCode.apply(null, buf.subarray(i, e) as unknown as number[]);
  }
  return s;
}

// A small intern table for header-sized strings: names and many values (Host, Accept, User-Agent, methods)
// repeat across requests, so the string is reused instead of being rebuilt byte by byte. It only caches; a
// miss just builds the string and replaces the slot. Keys are the exact bytes (case-sensitive).
const INTERN_SLOTS = 1024;
const INTERN_MAX = 64;
const internTable: (string | undefined)[] = new Array(INTERN_SLOTS);

/** latin1(buf, start, end), reusing a cached equal string when one exists. */
export function internLatin1(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n > INTERN_MAX || n === 0) return latin1(buf, start, end);
  let h = n;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + buf[i]!) | 0;
  const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
  const s = internTable[slot];
  if (s !== undefined && s.length === n) {
    let i = 0;
    while (i < n && s.charCodeAt(i) === buf[start + i]) i++;
    if (i === n) return s;
  }
  const made = latin1(buf, start, end);
  internTable[slot] = made;
  return made;
}
