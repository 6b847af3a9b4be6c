// The static table (RFC 7541 Appendix A) and the maps the encoder searches it with.

/** Entries 1..61, one a line: the name, then after the first space the value (if any). */
const TEXT = `
:authority
:method GET
:method POST
:path /
:path /index.html
:scheme http
:scheme https
:status 200
:status 204
:status 206
:status 304
:status 400
:status 404
:status 500
accept-charset
accept-encoding gzip, deflate
accept-language
accept-ranges
accept
access-control-allow-origin
age
allow
authorization
cache-control
content-disposition
content-encoding
content-language
content-length
content-location
content-range
content-type
cookie
date
etag
expect
expires
from
host
if-match
if-modified-since
if-none-match
if-range
if-unmodified-since
last-modified
link
location
max-forwards
proxy-authenticate
proxy-authorization
range
referer
refresh
retry-after
server
set-cookie
strict-transport-security
transfer-encoding
user-agent
vary
via
www-authenticate
`;

/** [name, value] by index; index 0 is unused. */
const ENTRIES: readonly (readonly [string, string])[] = [
  ["", ""],
  ...TEXT.trim().split("\n").map((line): [string, string] => {
    const sp = line.indexOf(" ");
    return sp < 0 ? [line, ""] : [line.slice(0, sp), line.slice(sp + 1)];
  }),
];

export const STATIC_TABLE_LENGTH = 61;

/** Names and values by index (1..61), for the decoder. */
export const STATIC_NAMES: readonly string[] = ENTRIES.map((e) => e[0]);
export const STATIC_VALUES: readonly string[] = ENTRIES.map((e) => e[1]);

/** What the encoder knows about a name in the static table. */
export interface StaticName {
  /** The lowest index with this name. */
  readonly index: number;
  /** value → index, for every entry with this name (empty values included). */
  readonly values: ReadonlyMap<string, number>;
}

export const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = (() => {
  const m = new Map<string, { index: number; values: Map<string, number> }>();
  for (let i = 1; i <= STATIC_TABLE_LENGTH; i++) {
    const [name, value] = ENTRIES[i]!;
    let e = m.get(name);
    if (e === undefined) m.set(name, (e = { index: i, values: new Map() }));
    e.values.set(value, i);
  }
  return m;
})();
