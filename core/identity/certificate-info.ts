// What meshlet needs from an X.509 certificate (RFC 5280), read straight from its DER bytes: the SANs, the
// validity period, the subject CN, basic constraints, key usage and the serial. No signatures are checked (the
// TLS stack verifies the chain); this only reads, strictly, and throws DerError on anything malformed.
// Also: PEM to DER (RFC 7468), and the peer's SPIFFE ID per the X.509-SVID spec (spiffe/spiffe X509-SVID.md).

import { DerError, DerReader, TAG, contextTag, readBigInt, readBitString, readBoolean, readDirectoryString, readIa5, readOid, readSmallInt, readTime, type Tlv } from "./der.ts";
import { parseSpiffeId, type SpiffeId } from "./spiffe.ts";

export { DerError } from "./der.ts";

/** RFC 5280 §4.2.1.3 key usage bits, by name. */
export type KeyUsage =
  | "digitalSignature"
  | "contentCommitment"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

const KEY_USAGE_BITS: readonly KeyUsage[] = [
  "digitalSignature",
  "contentCommitment", // formerly nonRepudiation
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];

export interface CertificateInfo {
  /** uniformResourceIdentifier [6] SANs, in certificate order. */
  uriSans: string[];
  /** dNSName [2] SANs, in certificate order. */
  dnsSans: string[];
  /** Validity, in ms since the epoch (whole seconds); the period is inclusive of both (RFC 5280 §4.1.2.5). */
  notBefore: number;
  notAfter: number;
  /** The subject's commonName (2.5.4.3); with several, the last one (the most specific, as Go's pkix does). */
  subjectCommonName?: string;
  /** BasicConstraints (2.5.29.19) cA; false when the extension is absent. */
  isCa: boolean;
  /** The serial number in upper-case hex, two digits per byte, without the sign byte ("-" prefix if negative). */
  serialHex: string;
  /** 1, 2 or 3. */
  version: number;
  /** BasicConstraints pathLenConstraint, when present. */
  pathLen?: number;
  /** KeyUsage (2.5.29.15) bits set, when the extension is present. */
  keyUsage?: KeyUsage[];
  /** OIDs of the extensions marked critical. */
  criticalExtensions: string[];
}

export const OID = {
  commonName: "2.5.4.3",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
} as const;

const hex = (bytes: Uint8Array): string => {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s.toUpperCase();
};

function serialHexOf(der: Uint8Array, tlv: Tlv): string {
  const v = readBigInt(der, tlv);
  const abs = v < 0n ? -v : v;
  let h = abs.toString(16).toUpperCase();
  if (h.length % 2 === 1) h = `0${h}`;
  return v < 0n ? `-${h}` : h;
}

/** Walks a Name (SEQUENCE OF SET OF AttributeTypeAndValue), checking its structure; returns the last CN. */
function readName(der: Uint8Array, name: Tlv, what: string): string | undefined {
  let cn: string | undefined;
  const rdns = DerReader.of(der, name);
  while (!rdns.atEnd) {
    const set = DerReader.of(der, rdns.expect(TAG.SET, `a relative distinguished name of the ${what}`));
    if (set.atEnd) throw new DerError(`an empty relative distinguished name in the ${what}`, set.offset);
    while (!set.atEnd) {
      const atv = DerReader.of(der, set.expect(TAG.SEQUENCE, `an attribute of the ${what}`));
      const type = readOid(der, atv.expect(TAG.OID, "an attribute type"));
      const value = atv.next("an attribute value");
      atv.finish(`an attribute of the ${what}`);
      if (type === OID.commonName) cn = readDirectoryString(der, value);
    }
  }
  return cn;
}

function readSan(der: Uint8Array, value: Tlv, info: CertificateInfo): void {
  const outer = new DerReader(der, value.contentStart, value.end);
  const names = DerReader.of(der, outer.expect(TAG.SEQUENCE, "the subjectAltName GeneralNames"));
  outer.finish("the subjectAltName extension");
  if (names.atEnd) throw new DerError("an empty subjectAltName (RFC 5280 requires at least one name)", names.offset);
  while (!names.atEnd) {
    const gn = names.next("a GeneralName");
    if (gn.cls !== 2) throw new DerError("a GeneralName must have a context-specific tag", gn.start);
    if (gn.tag === contextTag(2, false)) info.dnsSans.push(readIa5(der, gn, "a dNSName SAN"));
    else if (gn.tag === contextTag(6, false)) info.uriSans.push(readIa5(der, gn, "a URI SAN"));
    else if (gn.number === 2 || gn.number === 6) throw new DerError("a dNSName or URI SAN must be primitive", gn.start);
    // Other name forms (otherName, rfc822Name, directoryName, iPAddress, ...) are skipped.
  }
}

function readBasicConstraints(der: Uint8Array, value: Tlv, info: CertificateInfo): void {
  const outer = new DerReader(der, value.contentStart, value.end);
  const bc = DerReader.of(der, outer.expect(TAG.SEQUENCE, "the BasicConstraints"));
  outer.finish("the basicConstraints extension");
  const ca = bc.optional(TAG.BOOLEAN);
  info.isCa = ca !== undefined && readBoolean(der, ca);
  const pathLen = bc.optional(TAG.INTEGER);
  if (pathLen !== undefined) info.pathLen = readSmallInt(der, pathLen, "pathLenConstraint");
  bc.finish("the BasicConstraints");
}

function readKeyUsage(der: Uint8Array, value: Tlv, info: CertificateInfo): void {
  const outer = new DerReader(der, value.contentStart, value.end);
  const { bytes, unusedBits } = readBitString(der, outer.expect(TAG.BIT_STRING, "the KeyUsage bits"));
  outer.finish("the keyUsage extension");
  const usage: KeyUsage[] = [];
  const bits = bytes.length * 8 - unusedBits;
  for (let i = 0; i < bits; i++) {
    if ((bytes[i >> 3]! & (0x80 >> (i & 7))) !== 0 && i < KEY_USAGE_BITS.length) usage.push(KEY_USAGE_BITS[i]!);
  }
  info.keyUsage = usage;
}

function readExtensions(der: Uint8Array, tagged: Tlv, info: CertificateInfo): void {
  const wrapper = DerReader.of(der, tagged);
  const exts = DerReader.of(der, wrapper.expect(TAG.SEQUENCE, "the extensions"));
  wrapper.finish("the [3] extensions wrapper");
  const seen = new Set<string>();
  while (!exts.atEnd) {
    const ext = DerReader.of(der, exts.expect(TAG.SEQUENCE, "an extension"));
    const idTlv = ext.expect(TAG.OID, "an extension ID");
    const id = readOid(der, idTlv);
    const critical = ext.optional(TAG.BOOLEAN);
    const value = ext.expect(TAG.OCTET_STRING, "an extension value");
    ext.finish("an extension");
    if (value.constructed) throw new DerError("an extension value must be a primitive OCTET STRING", value.start);
    // RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a particular extension."
    if (seen.has(id)) throw new DerError(`the extension ${id} appears twice`, idTlv.start);
    seen.add(id);
    if (critical !== undefined && readBoolean(der, critical)) info.criticalExtensions.push(id);
    if (id === OID.subjectAltName) readSan(der, value, info);
    else if (id === OID.basicConstraints) readBasicConstraints(der, value, info);
    else if (id === OID.keyUsage) readKeyUsage(der, value, info);
  }
}

/**
 * Reads a certificate's DER bytes (exactly one Certificate, nothing after it). Throws DerError on malformed input:
 * lengths past the end, wrong tags, indefinite or non-minimal lengths, bad times, trailing bytes.
 */
export function parseCertificate(der: Uint8Array): CertificateInfo {
  if (!(der instanceof Uint8Array)) throw new DerError("a certificate is a Uint8Array of DER bytes", 0);
  const top = new DerReader(der);
  const certTlv = top.expect(TAG.SEQUENCE, "a Certificate");
  top.finish("the certificate data (trailing bytes after the Certificate)");
  const cert = DerReader.of(der, certTlv);
  const tbsTlv = cert.expect(TAG.SEQUENCE, "the TBSCertificate");
  cert.expect(TAG.SEQUENCE, "the signatureAlgorithm");
  readBitString(der, cert.expect(TAG.BIT_STRING, "the signatureValue"));
  cert.finish("the Certificate");

  const tbs = DerReader.of(der, tbsTlv);
  let version = 1;
  const versionTlv = tbs.optional(contextTag(0, true));
  if (versionTlv !== undefined) {
    const v = DerReader.of(der, versionTlv);
    const n = readSmallInt(der, v.expect(TAG.INTEGER, "the version"), "the version");
    v.finish("the version");
    if (n > 2) throw new DerError(`unknown certificate version ${n + 1}`, versionTlv.start);
    version = n + 1;
  }
  const serial = tbs.expect(TAG.INTEGER, "the serialNumber");
  const serialHex = serialHexOf(der, serial);
  tbs.expect(TAG.SEQUENCE, "the signature algorithm");
  readName(der, tbs.expect(TAG.SEQUENCE, "the issuer"), "issuer");
  const validity = DerReader.of(der, tbs.expect(TAG.SEQUENCE, "the validity"));
  const notBefore = readTime(der, validity.next("notBefore"));
  const notAfter = readTime(der, validity.next("notAfter"));
  validity.finish("the validity");
  const subjectCommonName = readName(der, tbs.expect(TAG.SEQUENCE, "the subject"), "subject");
  tbs.expect(TAG.SEQUENCE, "the subjectPublicKeyInfo");

  const info: CertificateInfo = {
    uriSans: [],
    dnsSans: [],
    notBefore,
    notAfter,
    isCa: false,
    serialHex,
    version,
    criticalExtensions: [],
  };
  if (subjectCommonName !== undefined) info.subjectCommonName = subjectCommonName;

  // issuerUniqueID [1] and subjectUniqueID [2] (v2 and v3 only), then extensions [3] (v3 only).
  for (const n of [1, 2]) {
    const uid = tbs.optional(contextTag(n, false)) ?? tbs.optional(contextTag(n, true));
    if (uid !== undefined && version < 2) throw new DerError("a unique identifier in a version 1 certificate", uid.start);
  }
  const extTlv = tbs.optional(contextTag(3, true));
  if (extTlv !== undefined) {
    if (version < 3) throw new DerError("extensions in a certificate older than version 3", extTlv.start);
    readExtensions(der, extTlv, info);
  }
  tbs.finish("the TBSCertificate");
  return info;
}

// ---- PEM -----------------------------------------------------------------------------------------------

export class PemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PemError";
  }
}

const B64 = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;

/** Decodes standard base64 (RFC 4648 §4), ignoring whitespace; padding is required. Throws PemError. */
export function base64Decode(text: string): Uint8Array {
  const vals: number[] = [];
  let pad = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === 0x3d) {
      pad++;
      continue;
    }
    const v = c < 128 ? B64[c]! : -1;
    if (v < 0 || pad > 0) {
      throw new PemError(pad > 0 ? "base64 data after the \"=\" padding" : `invalid base64 character ${JSON.stringify(text[i])}`);
    }
    vals.push(v);
  }
  if (pad > 2 || (vals.length + pad) % 4 !== 0 || (pad > 0 && vals.length % 4 === 0)) {
    throw new PemError("base64 data of a wrong length or with wrong padding");
  }
  const out = new Uint8Array(Math.floor((vals.length * 6) / 8));
  let acc = 0, bits = 0, o = 0;
  for (const v of vals) {
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

const BEGIN = "-----BEGIN CERTIFICATE-----";
const END = "-----END CERTIFICATE-----";

/**
 * The DER bytes of every CERTIFICATE block in a PEM text, in order (other blocks, such as keys, and text between
 * blocks are ignored). Throws PemError on a block without its END line or with bad base64. The bytes are not
 * parsed: parseCertificate does that.
 */
export function pemToDer(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  for (;;) {
    const begin = pem.indexOf(BEGIN, pos);
    if (begin < 0) return out;
    const bodyStart = begin + BEGIN.length;
    const end = pem.indexOf(END, bodyStart);
    const nextBegin = pem.indexOf("-----BEGIN ", bodyStart);
    const n = out.length + 1;
    if (end < 0 || (nextBegin >= 0 && nextBegin < end)) throw new PemError(`certificate ${n}: missing "${END}"`);
    let der: Uint8Array;
    try {
      der = base64Decode(pem.slice(bodyStart, end));
    } catch (e) {
      throw new PemError(`certificate ${n}: ${(e as Error).message}`);
    }
    if (der.length === 0) throw new PemError(`certificate ${n}: the block is empty`);
    out.push(der);
    pos = end + END.length;
  }
}

// ---- the peer's SPIFFE ID ------------------------------------------------------------------------------

export type PeerIdProblem =
  /** No spiffe:// URI SAN. */
  | "none"
  /** More than one URI SAN. */
  | "several"
  /** The URI SAN is not a valid SPIFFE ID, or has no path. */
  | "invalid"
  /** A CA (signing) certificate, which may not authenticate a workload. */
  | "not-leaf"
  /** The bytes are not a certificate. */
  | "malformed";

export type PeerIdResult = { ok: true; id: SpiffeId } | { ok: false; problem: PeerIdProblem; error: string };

const list = (xs: string[]) => xs.map((x) => JSON.stringify(x)).join(", ");

/**
 * The SPIFFE ID of an X.509-SVID, per spiffe/spiffe X509-SVID.md: exactly one URI SAN (§2: "Validators
 * encountering an SVID containing more than one URI SAN MUST reject the SVID", so a second URI of any scheme is
 * rejected too), a valid SPIFFE ID with a non-root path, and a leaf (§5.2: cA false, no keyCertSign or cRLSign).
 */
export function spiffeIdOf(info: CertificateInfo): PeerIdResult {
  const uris = info.uriSans;
  if (uris.length > 1) {
    return {
      ok: false,
      problem: "several",
      error: `the certificate has ${uris.length} URI SANs (${list(uris)}); an X.509-SVID has exactly one`,
    };
  }
  if (uris.length === 0) return { ok: false, problem: "none", error: "the certificate has no URI SAN (no SPIFFE ID)" };
  const uri = uris[0]!;
  if (!uri.toLowerCase().startsWith("spiffe:")) {
    return { ok: false, problem: "none", error: `the certificate has no spiffe:// URI SAN (its URI SAN is ${JSON.stringify(uri)})` };
  }
  const r = parseSpiffeId(uri);
  if (!r.ok) return { ok: false, problem: "invalid", error: `the URI SAN ${JSON.stringify(uri)} is not a valid SPIFFE ID: ${r.error}` };
  if (r.id.path === "") {
    return { ok: false, problem: "invalid", error: `the SPIFFE ID ${JSON.stringify(uri)} has no path, which only a signing certificate's may lack` };
  }
  if (info.isCa) return { ok: false, problem: "not-leaf", error: "the certificate is a CA certificate (basicConstraints cA: true), not a workload's" };
  const signing = (info.keyUsage ?? []).filter((u) => u === "keyCertSign" || u === "cRLSign");
  if (signing.length > 0) {
    return { ok: false, problem: "not-leaf", error: `the certificate's key usage includes ${signing.join(" and ")}, which a workload's may not` };
  }
  return { ok: true, id: r.id };
}

/** The peer's SPIFFE ID from its leaf certificate's DER bytes (TlsInfo.peerCertificate); see spiffeIdOf. */
export function peerSpiffeId(der: Uint8Array): PeerIdResult {
  let info: CertificateInfo;
  try {
    info = parseCertificate(der);
  } catch (e) {
    if (e instanceof DerError) return { ok: false, problem: "malformed", error: `malformed certificate: ${e.message}` };
    throw e;
  }
  return spiffeIdOf(info);
}
