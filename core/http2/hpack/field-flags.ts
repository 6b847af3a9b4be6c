// What HTTP/2 needs to know of a decoded field's octets (RFC 9113 §8.2.1), worked out where HPACK decodes them:
// the decoder classifies each literal string while it turns the octets into a string, and remembers the result
// with every dynamic-table entry (and the static table's are computed once), so a field taken from a table is
// never scanned again. message-checks.ts reads these bits instead of matching every field with expressions.

/** The name is a regular field name: one or more lower-case tchar (no upper case, no ':'). */
export const NAME_OK = 1;
/** The name starts with ':' (a pseudo-header; which one is decided by name). */
export const PSEUDO = 2;
/** The value has no NUL, CR or LF, and no SP or HTAB at either end. */
export const VALUE_OK = 4;
/**
 * The name needs a closer look by the message checks: connection-specific (§8.2.2), te, content-length or host.
 * Clear for every other name, which then needs no string comparison.
 */
export const SPECIAL = 8;
/**
 * The name carries credentials (authorization, proxy-authorization, cookie, set-cookie): its values are kept out
 * of the caches of recent literals that connections share (a hit is faster, so a peer could time its guesses of
 * another connection's secrets).
 */
export const SENSITIVE = 16;
/** The bits that describe the name (kept when only the value changes). */
export const NAME_BITS = NAME_OK | PSEUDO | SPECIAL | SENSITIVE;

/** Per octet: 1 = lower-case tchar (RFC 9110 §5.6.2 without A-Z), 2 = NUL, CR or LF, 4 = SP or HTAB. */
export const OCTET_CLASS = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) OCTET_CLASS[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) OCTET_CLASS[c] = 1;
for (const c of "!#$%&'*+-.^_`|~") OCTET_CLASS[c.charCodeAt(0)] = 1;
OCTET_CLASS[0x00] = OCTET_CLASS[0x0a] = OCTET_CLASS[0x0d] = 2;
OCTET_CLASS[0x20] = OCTET_CLASS[0x09] = 4;

/** SPECIAL for the names the message checks treat apart. */
export function specialName(name: string): number {
  switch (name) {
    case "connection":
    case "keep-alive":
    case "proxy-connection":
    case "transfer-encoding":
    case "upgrade":
    case "te":
    case "content-length":
    case "host":
      return SPECIAL;
  }
  return 0;
}

/** SENSITIVE for the names whose values are credentials. */
export function sensitiveName(name: string): number {
  switch (name) {
    case "authorization":
    case "proxy-authorization":
    case "cookie":
    case "set-cookie":
      return SENSITIVE;
  }
  return 0;
}

/** The name bits of a string (for names that did not come through the decoder). */
export function nameFlags(name: string): number {
  const n = name.length;
  if (n === 0) return 0;
  if (name.charCodeAt(0) === 0x3a) return PSEUDO;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff || OCTET_CLASS[c] !== 1) return 0;
  }
  return NAME_OK | specialName(name) | sensitiveName(name);
}

/** The value bit of a string. */
export function valueFlags(value: string): number {
  const n = value.length;
  if (n === 0) return VALUE_OK;
  if (OCTET_CLASS[value.charCodeAt(0) & 0xff] === 4 && value.charCodeAt(0) <= 0xff) return 0;
  if (OCTET_CLASS[value.charCodeAt(n - 1) & 0xff] === 4 && value.charCodeAt(n - 1) <= 0xff) return 0;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0xff && OCTET_CLASS[c] === 2) return 0;
  }
  return VALUE_OK;
}

/** Both, for a field that did not come through the decoder. */
export function fieldFlags(name: string, value: string): number {
  return nameFlags(name) | valueFlags(value);
}
