// A tiny DER writer for hand-made (and deliberately broken) certificates in the identity tests.

export type Bytes = Uint8Array | number[];

export function cat(...parts: Bytes[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function len(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

export const tlv = (tag: number, ...content: Bytes[]): Uint8Array => {
  const body = cat(...content);
  return cat([tag], len(body.length), body);
};

export const seq = (...c: Bytes[]) => tlv(0x30, ...c);
export const set = (...c: Bytes[]) => tlv(0x31, ...c);
export const int = (...bytes: number[]) => tlv(0x02, bytes);
export const bool = (b: boolean) => tlv(0x01, [b ? 0xff : 0x00]);
export const octets = (...c: Bytes[]) => tlv(0x04, ...c);
export const bits = (unused: number, ...bytes: number[]) => tlv(0x03, [unused, ...bytes]);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
export const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
export const printable = (s: string) => tlv(0x13, ascii(s));
export const ia5 = (tag: number, s: string) => tlv(tag, ascii(s));
export const utcTime = (s: string) => tlv(0x17, ascii(s));
export const genTime = (s: string) => tlv(0x18, ascii(s));

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const out: number[] = [];
  const push = (v: number) => {
    const digits = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) digits.unshift(0x80 | (v & 0x7f));
    out.push(...digits);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, out);
}

export const name = (...attrs: [string, Uint8Array][]) => seq(...attrs.map(([o, v]) => set(seq(oid(o), v))));

export const ext = (id: string, value: Bytes, critical?: boolean) =>
  seq(oid(id), ...(critical === undefined ? [] : [bool(critical)]), octets(value));

export const san = (...names: [number, string][]) => seq(...names.map(([tag, s]) => ia5(tag, s)));

export interface CertParts {
  version?: Uint8Array | null;
  serial?: Uint8Array;
  issuer?: Uint8Array;
  validity?: Uint8Array;
  subject?: Uint8Array;
  extensions?: Uint8Array[] | null;
  extra?: Uint8Array[];
}

const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

/** A structurally valid certificate (garbage key and signature: nothing here checks them). */
export function certificate(p: CertParts = {}): Uint8Array {
  const exts = p.extensions === undefined ? [ext("2.5.29.17", san([0x86, "spiffe://example.org/ns/a/sa/b"], [0x82, "b.a"]))] : p.extensions;
  const tbs = seq(
    p.version === undefined ? tlv(0xa0, int(2)) : p.version ?? [],
    p.serial ?? int(0x01, 0x02),
    ECDSA_SHA256,
    p.issuer ?? name(["2.5.4.3", utf8("ca")]),
    p.validity ?? seq(utcTime("240101000000Z"), genTime("20500101000000Z")),
    p.subject ?? name(["2.5.4.10", printable("Acme")], ["2.5.4.3", utf8("leaf")]),
    seq(seq(oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")), bits(0, 0x04, 1, 2, 3)),
    ...(p.extra ?? []),
    ...(exts === null ? [] : [tlv(0xa3, seq(...exts))]),
  );
  return seq(tbs, ECDSA_SHA256, bits(0, 0x30, 0x00));
}
