// A minimal, strict DER reader (ITU-T X.690 §8 and §10): enough to walk an X.509 certificate.
//
// Strict means: definite lengths only (indefinite length 0x80 is BER, not DER), lengths in their shortest form,
// every length inside its parent, INTEGERs and high tag numbers minimally encoded, BOOLEANs 0x00 or 0xFF, and
// a constructed value consumed exactly. Every problem throws a DerError with the byte offset; nothing here
// recurses on input-controlled depth or loops without advancing, so hostile input cannot hang it.

export class DerError extends Error {
  /** Byte offset in the input where the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`);
    this.name = "DerError";
    this.offset = offset;
  }
}

/** Identifier octets of the universal types used by X.509 (low tag numbers: the identifier is one byte). */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** The identifier byte of a context-specific tag [n] (n < 31). */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One decoded TLV: where its header and contents are. */
export interface Tlv {
  /** The first identifier byte (class, constructed bit, and the tag number when it is below 31). */
  readonly tag: number;
  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  readonly cls: number;
  readonly constructed: boolean;
  /** The tag number (also for high tag numbers, where `tag & 0x1f` is 0x1f). */
  readonly number: number;
  /** Offset of the identifier byte. */
  readonly start: number;
  /** Offset of the contents. */
  readonly contentStart: number;
  /** Offset just past the contents. */
  readonly end: number;
}

const hex2 = (b: number): string => b.toString(16).padStart(2, "0");

/** A tag for messages: "SEQUENCE", "[3]", "tag 0x1f". */
export function tagName(tag: number): string {
  for (const [name, t] of Object.entries(TAG)) if (t === tag) return name.replace(/_/g, " ");
  if ((tag & 0xc0) === 0x80 && (tag & 0x1f) !== 0x1f) return `[${tag & 0x1f}]`;
  return `tag 0x${hex2(tag)}`;
}

/** Reads the TLV header at `pos`; its contents must end by `end`. */
export function readTlv(buf: Uint8Array, pos: number, end: number): Tlv {
  const start = pos;
  if (pos >= end) throw new DerError("expected a DER element, found the end of the data", pos);
  const tag = buf[pos++]!;
  let number = tag & 0x1f;
  if (number === 0x1f) {
    // High tag number form: base-128 digits, minimal (no leading 0x80), at least 31.
    number = 0;
    for (let i = 0; ; i++) {
      if (pos >= end) throw new DerError("truncated tag number", pos);
      const b = buf[pos++]!;
      if (i === 0 && b === 0x80) throw new DerError("tag number is not minimally encoded", pos - 1);
      if (i >= 3) throw new DerError("tag number too large", pos - 1);
      number = number * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
    if (number < 31) throw new DerError("tag number is not minimally encoded", start);
  }
  if (pos >= end) throw new DerError("truncated length", pos);
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) length = first;
  else if (first === 0x80) throw new DerError("indefinite length is not allowed in DER", pos - 1);
  else if (first === 0xff) throw new DerError("reserved length byte 0xff", pos - 1);
  else {
    const n = first & 0x7f;
    if (n > 4) throw new DerError(`length of ${n} bytes is too large`, pos - 1);
    if (pos + n > end) throw new DerError("truncated length", pos);
    if (buf[pos] === 0) throw new DerError("length is not minimally encoded (leading zero byte)", pos);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
    if (length < 0x80) throw new DerError("length is not minimally encoded (long form for a short length)", pos - n - 1);
  }
  if (length > end - pos) {
    throw new DerError(`length ${length} runs past the end (${end - pos} bytes left)`, start);
  }
  return { tag, cls: tag >> 6, constructed: (tag & 0x20) !== 0, number, start, contentStart: pos, end: pos + length };
}

/** Walks the elements of a range (the input, or a constructed element's contents) one after another. */
export class DerReader {
  readonly buf: Uint8Array;
  private pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** The reader over a constructed element's contents. */
  static of(buf: Uint8Array, tlv: Tlv): DerReader {
    if (!tlv.constructed) throw new DerError(`expected a constructed ${tagName(tlv.tag)}`, tlv.start);
    return new DerReader(buf, tlv.contentStart, tlv.end);
  }

  get offset(): number {
    return this.pos;
  }

  get atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** The next element's header, without consuming it; undefined at the end. */
  peek(): Tlv | undefined {
    return this.atEnd ? undefined : readTlv(this.buf, this.pos, this.end);
  }

  /** Reads the next element, whatever its tag. */
  next(what: string): Tlv {
    if (this.atEnd) throw new DerError(`expected ${what}, found the end of the data`, this.pos);
    const tlv = readTlv(this.buf, this.pos, this.end);
    this.pos = tlv.end;
    return tlv;
  }

  /** Reads the next element, which must have identifier byte `tag` (a low tag number). */
  expect(tag: number, what: string): Tlv {
    if (this.atEnd) throw new DerError(`expected ${what} (${tagName(tag)}), found the end of the data`, this.pos);
    const tlv = readTlv(this.buf, this.pos, this.end);
    if (tlv.tag !== tag || (tag & 0x1f) === 0x1f) {
      throw new DerError(`expected ${what} (${tagName(tag)}), found ${tagName(tlv.tag)}`, tlv.start);
    }
    this.pos = tlv.end;
    return tlv;
  }

  /** Reads the next element if it has identifier byte `tag`. */
  optional(tag: number): Tlv | undefined {
    if (this.atEnd) return undefined;
    const tlv = readTlv(this.buf, this.pos, this.end);
    if (tlv.tag !== tag) return undefined;
    this.pos = tlv.end;
    return tlv;
  }

  /** Throws unless every byte of the range was read. */
  finish(what: string): void {
    if (this.pos !== this.end) throw new DerError(`${this.end - this.pos} unexpected bytes at the end of ${what}`, this.pos);
  }
}

// ---- primitive values ----------------------------------------------------------------------------------

function primitive(tlv: Tlv, what: string): void {
  if (tlv.constructed) throw new DerError(`${what} must be primitive in DER`, tlv.start);
}

export function readBoolean(buf: Uint8Array, tlv: Tlv): boolean {
  primitive(tlv, "a BOOLEAN");
  if (tlv.end - tlv.contentStart !== 1) throw new DerError("a BOOLEAN must be one byte", tlv.start);
  const b = buf[tlv.contentStart]!;
  if (b === 0x00) return false;
  if (b === 0xff) return true;
  throw new DerError(`a DER BOOLEAN is 0x00 or 0xff, found 0x${hex2(b)}`, tlv.contentStart);
}

/** The two's-complement content bytes of an INTEGER, checked to be minimal. */
export function readIntegerBytes(buf: Uint8Array, tlv: Tlv): Uint8Array {
  primitive(tlv, "an INTEGER");
  const n = tlv.end - tlv.contentStart;
  if (n === 0) throw new DerError("an INTEGER has no content bytes", tlv.start);
  const b0 = buf[tlv.contentStart]!;
  if (n > 1) {
    const b1 = buf[tlv.contentStart + 1]!;
    if ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)) {
      throw new DerError("an INTEGER is not minimally encoded", tlv.contentStart);
    }
  }
  return buf.subarray(tlv.contentStart, tlv.end);
}

/** An INTEGER as a bigint (two's complement). */
export function readBigInt(buf: Uint8Array, tlv: Tlv): bigint {
  const bytes = readIntegerBytes(buf, tlv);
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes[0]! >= 0x80) v -= 1n << BigInt(bytes.length * 8);
  return v;
}

/** A small non-negative INTEGER (up to 2^31 - 1). */
export function readSmallInt(buf: Uint8Array, tlv: Tlv, what: string): number {
  const v = readBigInt(buf, tlv);
  if (v < 0n || v > 0x7fffffffn) throw new DerError(`${what} is out of range (${v})`, tlv.start);
  return Number(v);
}

/** An OBJECT IDENTIFIER in dotted form ("2.5.29.17"). */
export function readOid(buf: Uint8Array, tlv: Tlv): string {
  primitive(tlv, "an OBJECT IDENTIFIER");
  if (tlv.end === tlv.contentStart) throw new DerError("an OBJECT IDENTIFIER has no content bytes", tlv.start);
  const arcs: string[] = [];
  let v = 0;
  let fresh = true;
  for (let i = tlv.contentStart; i < tlv.end; i++) {
    const b = buf[i]!;
    if (fresh && b === 0x80) throw new DerError("an OBJECT IDENTIFIER arc is not minimally encoded", i);
    if (v > 0xffffffffff) throw new DerError("an OBJECT IDENTIFIER arc is too large", i);
    v = v * 128 + (b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (!fresh) continue;
    if (arcs.length === 0) {
      const first = v < 40 ? 0 : v < 80 ? 1 : 2;
      arcs.push(String(first), String(v - first * 40));
    } else arcs.push(String(v));
    v = 0;
  }
  if (!fresh) throw new DerError("truncated OBJECT IDENTIFIER", tlv.end);
  return arcs.join(".");
}

/** A BIT STRING: the unused bit count and the bytes (unused bits must be zero in DER). */
export function readBitString(buf: Uint8Array, tlv: Tlv): { unusedBits: number; bytes: Uint8Array } {
  primitive(tlv, "a BIT STRING");
  if (tlv.end === tlv.contentStart) throw new DerError("a BIT STRING has no content bytes", tlv.start);
  const unusedBits = buf[tlv.contentStart]!;
  if (unusedBits > 7) throw new DerError(`a BIT STRING cannot have ${unusedBits} unused bits`, tlv.contentStart);
  const bytes = buf.subarray(tlv.contentStart + 1, tlv.end);
  if (bytes.length === 0 && unusedBits !== 0) throw new DerError("an empty BIT STRING must have 0 unused bits", tlv.contentStart);
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0) {
    throw new DerError("a BIT STRING's unused bits must be zero in DER", tlv.end - 1);
  }
  return { unusedBits, bytes };
}

// ---- strings -------------------------------------------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true });

function ascii(buf: Uint8Array, tlv: Tlv, what: string, allowed?: (c: number) => boolean): string {
  let s = "";
  for (let i = tlv.contentStart; i < tlv.end; i++) {
    const c = buf[i]!;
    if (c >= 0x80 || (allowed !== undefined && !allowed(c))) {
      throw new DerError(`invalid character 0x${hex2(c)} in ${what}`, i);
    }
    s += String.fromCharCode(c);
  }
  return s;
}

/** X.680 §41.4 PrintableString: A-Z a-z 0-9 space ' ( ) + , - . / : = ? */
function isPrintable(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x20 || (c >= 0x27 && c <= 0x29) || (c >= 0x2b && c <= 0x2f) || c === 0x3a || c === 0x3d || c === 0x3f
  );
}

/** An IA5String (ASCII) value. */
export function readIa5(buf: Uint8Array, tlv: Tlv, what = "an IA5String"): string {
  primitive(tlv, what);
  return ascii(buf, tlv, what);
}

/** A directory string (UTF8String, PrintableString, IA5String, T61String, BMPString or UniversalString). */
export function readDirectoryString(buf: Uint8Array, tlv: Tlv): string {
  primitive(tlv, "a string");
  const bytes = buf.subarray(tlv.contentStart, tlv.end);
  switch (tlv.tag) {
    case TAG.UTF8_STRING:
      try {
        return utf8.decode(bytes);
      } catch {
        throw new DerError("a UTF8String is not valid UTF-8", tlv.contentStart);
      }
    case TAG.PRINTABLE_STRING:
      return ascii(buf, tlv, "a PrintableString", isPrintable);
    case TAG.IA5_STRING:
      return ascii(buf, tlv, "an IA5String");
    case TAG.T61_STRING: {
      // Treated as Latin-1, as OpenSSL and Go do.
      let s = "";
      for (const b of bytes) s += String.fromCharCode(b);
      return s;
    }
    case TAG.BMP_STRING: {
      if (bytes.length % 2 !== 0) throw new DerError("a BMPString has an odd length", tlv.start);
      let s = "";
      for (let i = 0; i < bytes.length; i += 2) s += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
      return s;
    }
    case TAG.UNIVERSAL_STRING: {
      if (bytes.length % 4 !== 0) throw new DerError("a UniversalString's length is not a multiple of 4", tlv.start);
      let s = "";
      for (let i = 0; i < bytes.length; i += 4) {
        const cp = ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new DerError("a UniversalString has an invalid code point", tlv.contentStart + i);
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      throw new DerError(`expected a string, found ${tagName(tlv.tag)}`, tlv.start);
  }
}

// ---- time ----------------------------------------------------------------------------------------------

/** Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/**
 * A UTCTime or GeneralizedTime as ms since the epoch, in the forms RFC 5280 §4.1.2.5 requires of certificates:
 * UTCTime "YYMMDDHHMMSSZ" (YY >= 50 is 19YY, else 20YY) and GeneralizedTime "YYYYMMDDHHMMSSZ" (no fractional
 * seconds, no offsets: always Zulu, always with seconds).
 */
export function readTime(buf: Uint8Array, tlv: Tlv): number {
  const utc = tlv.tag === TAG.UTC_TIME;
  if (!utc && tlv.tag !== TAG.GENERALIZED_TIME) {
    throw new DerError(`expected a UTCTime or GeneralizedTime, found ${tagName(tlv.tag)}`, tlv.start);
  }
  primitive(tlv, "a time");
  const len = tlv.end - tlv.contentStart;
  const want = utc ? 13 : 15;
  const form = utc ? "YYMMDDHHMMSSZ" : "YYYYMMDDHHMMSSZ";
  if (len !== want || buf[tlv.end - 1] !== 0x5a) {
    throw new DerError(`a ${utc ? "UTCTime" : "GeneralizedTime"} in a certificate must be ${form}`, tlv.start);
  }
  const digits: number[] = [];
  for (let i = tlv.contentStart; i < tlv.end - 1; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) throw new DerError(`a ${utc ? "UTCTime" : "GeneralizedTime"} in a certificate must be ${form}`, i);
    digits.push(c - 0x30);
  }
  const num = (i: number) => digits[i]! * 10 + digits[i + 1]!;
  let year: number;
  let k: number;
  if (utc) {
    const yy = num(0);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    k = 2;
  } else {
    year = num(0) * 100 + num(2);
    k = 4;
  }
  const month = num(k), day = num(k + 2), hour = num(k + 4), minute = num(k + 6), second = num(k + 8);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    throw new DerError("the time is not a valid date and time", tlv.start);
  }
  return (((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second) * 1000;
}
