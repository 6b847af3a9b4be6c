// Workload certificates, runtime-neutral: keys and CSRs made in-process, a small CA for tests and the demo, and
// an issuer over certificate files. Uses only WebCrypto (globalThis.crypto, which Node >= 20, Bun and Deno all
// have) and @peculiar/x509 (pure JavaScript over WebCrypto), no node:* module, so Bun and Deno use it as is.
//
// @peculiar/x509 registers its algorithms in a tsyringe container, and tsyringe throws at load time unless a
// Reflect metadata polyfill is installed first: "reflect-metadata" must be imported before it (ES modules are
// evaluated in import order, so this line is enough on all three runtimes, and for bundlers).
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { parseSpiffeId as coreParseSpiffeId, workloadId, type SpiffeId } from "../../core/identity/spiffe.ts";
import type { CertificateIssuer, IssuedCertificate, IssueRejectReason, KeyMaterial } from "../../core/identity/issuer.ts";

// The library finds globalThis.crypto by itself on Node, Bun and Deno; every call below also passes it
// explicitly, and the default is only set where some other runtime left it empty (never overriding a choice
// made elsewhere in the process).
const webcrypto: Crypto = globalThis.crypto;
if (!x509.cryptoProvider.has(x509.CryptoProvider.DEFAULT)) x509.cryptoProvider.set(webcrypto);

const EC_KEY: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Leaves are backdated by this much against clock skew between peers. */
export const BACKDATE_MS = MINUTE;
/** Default leaf lifetime. */
export const DEFAULT_LIFETIME_MS = DAY;
/** Lifetime of a LocalCa root. Leaves never outlive it (their notAfter is clamped to the root's). */
export const ROOT_LIFETIME_MS = 10 * 365 * DAY;

const OID_SAN = "2.5.29.17";

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** Which input of a certificate-and-key pair an error is about. */
export type CertPart = "certificate" | "key";

/** Why certificate material or a request was refused; `reason` is stable, the message is for people. */
export class CertError extends Error {
  readonly reason: IssueRejectReason;
  /** Set when the input was a certificate and its key (FileIssuer, LocalCa.fromPem): which of the two is at fault. */
  readonly part: CertPart | undefined;
  constructor(reason: IssueRejectReason, message: string, options?: { cause?: unknown; part?: CertPart }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.reason = reason;
    this.part = options?.part;
    this.name = "CertError";
  }
}

export function isCertError(e: unknown, reason?: IssueRejectReason): e is CertError {
  return e instanceof CertError && (reason === undefined || e.reason === reason);
}

// ---------------------------------------------------------------------------------------------------------------
// SPIFFE IDs (https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md)

export type { SpiffeId };

/** Parses a SPIFFE ID (core/identity/spiffe.ts); throws CertError INVALID_IDENTITY saying what is wrong. */
export function parseSpiffeId(id: string): SpiffeId {
  const r = typeof id === "string" ? coreParseSpiffeId(id) : { ok: false as const, error: "not a string" };
  if (!r.ok) throw new CertError("INVALID_IDENTITY", `not a SPIFFE ID (${r.error}): ${JSON.stringify(id)}`);
  return { trustDomain: r.id.trustDomain, path: r.id.path };
}

/** Parses a SPIFFE ID that names a workload (a non-empty path); throws CertError INVALID_IDENTITY otherwise. */
export function parseWorkloadId(id: string): SpiffeId {
  const p = parseSpiffeId(id);
  if (p.path === "") throw new CertError("INVALID_IDENTITY", `a workload SPIFFE ID needs a path, got the trust domain ID ${id}`);
  return p;
}

/** The mesh's identity for a service account: spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  try {
    return workloadId(trustDomain, namespace, serviceAccount);
  } catch (e) {
    throw new CertError("INVALID_IDENTITY", (e as Error).message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PEM

export interface PemBlock {
  /** The label between "BEGIN " and the dashes, e.g. "CERTIFICATE", "PRIVATE KEY". */
  label: string;
  /** Backed by a plain ArrayBuffer, so it can go straight to WebCrypto (BufferSource). */
  der: Uint8Array<ArrayBuffer>;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/** Every PEM block in `text`, in order; text around blocks (comments, `openssl x509 -text` output) is ignored. */
export function pemDecode(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const [, label, body, endLabel] = m as unknown as [string, string, string, string];
    if (label !== endLabel) throw new CertError("BAD_PEM", `PEM block "BEGIN ${label}" ends with "END ${endLabel}"`);
    if (body.includes(":")) {
      throw new CertError("BAD_PEM", `PEM block "${label}" has headers (an encrypted or legacy key?): not supported`);
    }
    const b64 = body.replace(/\s+/g, "");
    if (!BASE64_BODY.test(b64) || b64.length % 4 !== 0) throw new CertError("BAD_PEM", `PEM block "${label}" is not valid base64`);
    out.push({ label, der: fromBase64(b64) });
  }
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  if (begins !== out.length) throw new CertError("BAD_PEM", "a PEM block is not terminated by its END line");
  return out;
}

/** The DER of every block labelled `label` in `text`. */
export function pemBlocks(text: string, label: string): Uint8Array<ArrayBuffer>[] {
  return pemDecode(text).filter((b) => b.label === label).map((b) => b.der);
}

/** One PEM block: base64 in 64-column lines, ending with a newline. */
export function pemEncode(label: string, der: Uint8Array | ArrayBuffer): string {
  const b64 = toBase64(der instanceof Uint8Array ? der : new Uint8Array(der));
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

// ---------------------------------------------------------------------------------------------------------------
// Keys and CSRs

function toArrayBuffer(u: Uint8Array): ArrayBuffer {
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
}

function uriSans(ext: x509.Extension[]): string[] {
  const out: string[] = [];
  for (const e of ext) {
    if (e.type !== OID_SAN) continue;
    const san = e instanceof x509.SubjectAlternativeNameExtension ? e : new x509.SubjectAlternativeNameExtension(e.rawData);
    for (const n of san.names.items) if (n.type === "url") out.push(n.value);
  }
  return out;
}

/**
 * Generates an ECDSA P-256 key in memory and a PKCS#10 CSR signed with it, with an empty subject and `identity`
 * (a workload SPIFFE ID) as its only SAN, a URI. The key is returned as PKCS#8 PEM; nothing is written anywhere.
 */
export async function generateKeyAndCsr(identity: string): Promise<KeyMaterial> {
  parseWorkloadId(identity);
  const keys = (await webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      keys,
      signingAlgorithm: SIGNING,
      // Critical, as RFC 5280 asks of a SAN when the subject is empty (as in a SPIFFE X509-SVID).
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: identity }], true)],
    },
    webcrypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { privateKeyPem: pemEncode("PRIVATE KEY", pkcs8), csrPem: pemEncode("CERTIFICATE REQUEST", csr.rawData) };
}

/** What a verified CSR says. */
export interface ParsedCsr {
  /** The public key to certify. */
  publicKey: x509.PublicKey;
  /** The URI SANs it asks for, in order. */
  uris: string[];
}

/**
 * Parses a PEM CSR and checks its signature; throws CertError BAD_CSR (unparseable, not exactly one CSR),
 * UNSUPPORTED_KEY (not ECDSA P-256/P-384) or BAD_SIGNATURE (does not verify with its own key).
 */
export async function verifyCsr(csrPem: string): Promise<ParsedCsr> {
  let blocks: PemBlock[];
  try {
    blocks = pemDecode(csrPem).filter((b) => b.label === "CERTIFICATE REQUEST" || b.label === "NEW CERTIFICATE REQUEST");
  } catch (e) {
    throw new CertError("BAD_CSR", `CSR: ${(e as Error).message}`, { cause: e });
  }
  if (blocks.length !== 1) throw new CertError("BAD_CSR", `expected one PEM "CERTIFICATE REQUEST" block, found ${blocks.length}`);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(toArrayBuffer(blocks[0]!.der));
  } catch (e) {
    throw new CertError("BAD_CSR", `CSR is not a PKCS#10 request: ${(e as Error).message}`, { cause: e });
  }
  const alg = csr.publicKey.algorithm as EcKeyAlgorithm;
  if (alg.name !== "ECDSA" || (alg.namedCurve !== "P-256" && alg.namedCurve !== "P-384")) {
    throw new CertError("UNSUPPORTED_KEY", `CSR key is ${alg.name}${alg.namedCurve ? ` ${alg.namedCurve}` : ""}: only ECDSA P-256 or P-384 keys are certified`);
  }
  let ok: boolean;
  try {
    ok = await csr.verify(webcrypto);
  } catch (e) {
    throw new CertError("BAD_SIGNATURE", `CSR signature cannot be checked: ${(e as Error).message}`, { cause: e });
  }
  if (!ok) throw new CertError("BAD_SIGNATURE", "CSR signature does not verify with its public key (tampered or corrupt)");
  let uris: string[];
  try {
    uris = uriSans(csr.extensions);
  } catch (e) {
    throw new CertError("BAD_CSR", `CSR extensions are malformed: ${(e as Error).message}`, { cause: e });
  }
  return { publicKey: csr.publicKey, uris };
}

// ---------------------------------------------------------------------------------------------------------------
// Keys of certificates

type KeyImportParams = EcKeyImportParams | RsaHashedImportParams;
type SigningParams = EcdsaParams | RsaHashedImportParams;

const ECDSA_HASH: Record<string, string> = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" };

/** How to import the private key of `cert`'s public key, and how that key signs; undefined when not supported. */
function keyParamsOf(cert: x509.X509Certificate): { importAs: KeyImportParams; signWith: SigningParams } | undefined {
  const alg = cert.publicKey.algorithm as EcKeyAlgorithm & RsaHashedKeyAlgorithm;
  if (alg.name === "ECDSA" && typeof alg.namedCurve === "string") {
    const hash = ECDSA_HASH[alg.namedCurve];
    if (hash === undefined) return undefined;
    return { importAs: { name: "ECDSA", namedCurve: alg.namedCurve }, signWith: { name: "ECDSA", hash } };
  }
  if (alg.name === "RSASSA-PKCS1-v1_5" || alg.name === "RSA-PSS") {
    const rsa: RsaHashedImportParams = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    return { importAs: rsa, signWith: rsa };
  }
  return undefined;
}

/** What the messages of importKeyOf call the two inputs. */
interface PairNames {
  /** e.g. "the key file's key" */
  key: string;
  /** e.g. "certificate" */
  cert: string;
  /** Appended to the "does not belong" message. */
  hint?: string;
}

/**
 * Imports `pkcs8` as the private key of `cert` and checks that it is (the public parts, as JWK, are compared).
 * Rejects with CertError UNSUPPORTED_KEY (part "certificate") or KEY_MISMATCH (part "key").
 */
async function importKeyOf(
  cert: x509.X509Certificate,
  pkcs8: Uint8Array<ArrayBuffer>,
  names: PairNames,
  extractable: boolean,
): Promise<{ key: CryptoKey; signWith: SigningParams }> {
  const params = keyParamsOf(cert);
  if (params === undefined) {
    const alg = cert.publicKey.algorithm as EcKeyAlgorithm;
    const what = `${alg.name}${alg.namedCurve ? ` ${alg.namedCurve}` : ""}`;
    throw new CertError("UNSUPPORTED_KEY", `${names.cert} key ${what} is not supported (ECDSA or RSA only)`, { part: "certificate" });
  }
  const algName = cert.publicKey.algorithm.name;
  let priv: JsonWebKey;
  let pub: JsonWebKey;
  try {
    const key = await webcrypto.subtle.importKey("pkcs8", toArrayBuffer(pkcs8), params.importAs, true, ["sign"]);
    priv = await webcrypto.subtle.exportKey("jwk", key);
  } catch (e) {
    throw new CertError("KEY_MISMATCH", `${names.key} is not a ${algName} key usable with the ${names.cert}: ${(e as Error).message}`, { cause: e, part: "key" });
  }
  try {
    const key = await webcrypto.subtle.importKey("spki", cert.publicKey.rawData, params.importAs, true, ["verify"]);
    pub = await webcrypto.subtle.exportKey("jwk", key);
  } catch (e) {
    throw new CertError("UNSUPPORTED_KEY", `the ${names.cert}'s public key cannot be read: ${(e as Error).message}`, { cause: e, part: "certificate" });
  }
  const same = params.importAs.name === "ECDSA" ? priv.x === pub.x && priv.y === pub.y : priv.n === pub.n && priv.e === pub.e;
  if (!same) throw new CertError("KEY_MISMATCH", `${names.key} does not belong to the ${names.cert}${names.hint ?? ""}`, { part: "key" });
  const key = await webcrypto.subtle.importKey("pkcs8", toArrayBuffer(pkcs8), params.importAs, extractable, ["sign"]);
  return { key, signWith: params.signWith };
}

/** The one PKCS#8 block of a key file's text; CertError BAD_PEM (part "key") otherwise. `what`: "the key file". */
function onePkcs8(keyPem: string, what: string): Uint8Array<ArrayBuffer> {
  const keys = about("key", () => pemDecode(keyPem));
  const pkcs8 = keys.filter((b) => b.label === "PRIVATE KEY");
  if (pkcs8.length === 1) return pkcs8[0]!.der;
  const other = keys.find((b) => b.label.endsWith("PRIVATE KEY"));
  throw new CertError(
    "BAD_PEM",
    other !== undefined
      ? `${what} holds a "${other.label}": convert it to unencrypted PKCS#8 (openssl pkcs8 -topk8 -nocrypt)`
      : `${what} must hold exactly one "BEGIN PRIVATE KEY" (PKCS#8) block, found ${pkcs8.length}`,
    { part: "key" },
  );
}

/** Every certificate of a PEM text, parsed; CertError BAD_PEM (part "certificate") when one is malformed. `what`: "the certificate file". */
function parseCertificates(pem: string, what: string): x509.X509Certificate[] {
  const ders = about("certificate", () => pemBlocks(pem, "CERTIFICATE"));
  try {
    return ders.map((der) => new x509.X509Certificate(toArrayBuffer(der)));
  } catch (e) {
    throw new CertError("BAD_PEM", `${what} holds a malformed certificate: ${(e as Error).message}`, { cause: e, part: "certificate" });
  }
}

/** Runs fn; a CertError it throws without a part is thrown again with `part`. */
function about<T>(part: CertPart, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CertError && e.part === undefined) throw new CertError(e.reason, e.message, { cause: e, part });
    throw e;
  }
}

const isoTime = (ms: number) => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------------------------
// LocalCa

export interface LocalCaOptions {
  /** The trust domain this CA certifies identities in, e.g. "cluster.local". */
  trustDomain: string;
  /** Lifetime of issued leaves (default 24 h); they are also backdated by BACKDATE_MS. */
  lifetimeMs?: number;
  /** Wall clock in ms since the epoch (default Date.now), for validity periods. */
  now?: () => number;
  /** Make the root key exportable, so rootKeyPem() can write it out (tests and the demo write CA files). Default false. */
  extractable?: boolean;
}

export interface LocalCaFromPemOptions {
  /** Lifetime of issued leaves (default 24 h), as with create(). */
  lifetimeMs?: number;
  /** Wall clock in ms since the epoch (default Date.now), for validity periods and the CA's own validity check. */
  now?: () => number;
  /** Keep the imported key exportable, for rootKeyPem(). Default false. */
  extractable?: boolean;
}

export interface IssuedKeyAndCert {
  /** PKCS#8 PEM of a freshly generated ECDSA P-256 key. */
  keyPem: string;
  /** PEM of the leaf certificate, then the CA's chain when the CA is not a root (LocalCa.fromPem); the root is not sent. */
  certPem: string;
  notBefore: number;
  notAfter: number;
}

interface LocalCaParts {
  trustDomain: string | undefined;
  root: x509.X509Certificate;
  key: CryptoKey;
  signWith: SigningParams;
  /** The CA's subject key identifier, for the leaves' AKI (none when the CA certificate has no SKI). */
  rootKeyId: string | undefined;
  /** PEM of the CA certificates sent after the leaf: the CA's own and its intermediates, up to (without) a root. */
  chainTail: string;
  lifetimeMs: number;
  now: () => number;
}

/**
 * A CA that certifies SPIFFE IDs: a self-signed ECDSA P-256 root made in memory (create: its key is not
 * extractable unless asked), or a CA certificate and key read from PEM (fromPem). For tests, the demo and the
 * identity issuer of the config file; a second LocalCa.create, even for the same trust domain, is an unrelated CA.
 */
export class LocalCa implements CertificateIssuer {
  /**
   * The trust domain whose identities this CA certifies. Undefined for a CA from PEM whose certificate names no
   * trust domain (no spiffe:// URI SAN): it certifies identities of any trust domain.
   */
  readonly trustDomain: string | undefined;
  /** PEM of the CA certificate: for create(), the root, the trust anchor peers need. */
  readonly rootPem: string;
  readonly lifetimeMs: number;
  readonly #root: x509.X509Certificate;
  readonly #key: CryptoKey;
  readonly #signWith: SigningParams;
  readonly #rootKeyId: string | undefined;
  readonly #chainTail: string;
  readonly #now: () => number;

  private constructor(p: LocalCaParts) {
    this.trustDomain = p.trustDomain;
    this.#root = p.root;
    this.rootPem = pemEncode("CERTIFICATE", p.root.rawData);
    this.#key = p.key;
    this.#signWith = p.signWith;
    this.#rootKeyId = p.rootKeyId;
    this.#chainTail = p.chainTail;
    this.lifetimeMs = p.lifetimeMs;
    this.#now = p.now;
  }

  static async create(opts: LocalCaOptions): Promise<LocalCa> {
    const td = parseSpiffeId(`spiffe://${opts.trustDomain}`);
    if (td.path !== "") throw new CertError("INVALID_IDENTITY", `not a trust domain name: ${JSON.stringify(opts.trustDomain)}`);
    const lifetimeMs = checkLifetime(opts.lifetimeMs);
    const now = opts.now ?? Date.now;
    const keys = (await webcrypto.subtle.generateKey(EC_KEY, opts.extractable ?? false, ["sign", "verify"])) as CryptoKeyPair;
    const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto);
    const t = now();
    const root = await x509.X509CertificateGenerator.createSelfSigned(
      {
        name: [{ O: [td.trustDomain] }, { CN: ["meshlet local CA"] }],
        keys,
        signingAlgorithm: SIGNING,
        notBefore: new Date(t - BACKDATE_MS),
        notAfter: new Date(t + ROOT_LIFETIME_MS),
        extensions: [
          // Leaves only: no intermediates below this root.
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          ski,
          // The SPIFFE X509-SVID spec lets a signing certificate carry its trust domain's ID.
          new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${td.trustDomain}` }], false),
        ],
      },
      webcrypto,
    );
    return new LocalCa({
      trustDomain: td.trustDomain,
      root,
      key: keys.privateKey,
      signWith: SIGNING,
      rootKeyId: ski.keyId,
      chainTail: "",
      lifetimeMs,
      now,
    });
  }

  /**
   * A CA from PEM text: `certPem` holds the CA certificate first (then, for an intermediate CA, the certificates
   * up to its root, which are sent after each leaf; a self-signed one ends the chain), `keyPem` its unencrypted
   * PKCS#8 key (ECDSA P-256/P-384/P-521 or RSA). The certificate must be a CA (basicConstraints cA, keyCertSign
   * when it has a key usage) valid now, and the key must be its key. Its trust domain is that of its spiffe://
   * URI SAN if it has one; without one it certifies any trust domain. Leaves are issued exactly as create()'s.
   * Rejects with CertError: BAD_PEM, UNSUPPORTED_KEY, KEY_MISMATCH, INVALID_IDENTITY; `part` says which input.
   */
  static async fromPem(certPem: string, keyPem: string, opts: LocalCaFromPemOptions = {}): Promise<LocalCa> {
    const lifetimeMs = checkLifetime(opts.lifetimeMs);
    const now = opts.now ?? Date.now;
    const certs = parseCertificates(certPem, "the CA certificate file");
    const ca = certs[0];
    const bad = (message: string) => new CertError("BAD_PEM", message, { part: "certificate" });
    if (ca === undefined) throw bad('the CA certificate file holds no "BEGIN CERTIFICATE" block');
    if (ca.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
      throw bad(`the certificate "${ca.subject}" is not a CA certificate (basicConstraints cA is not true)`);
    }
    const usage = ca.getExtension(x509.KeyUsagesExtension);
    if (usage !== null && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
      throw bad(`the CA certificate "${ca.subject}" may not sign certificates (its key usage lacks keyCertSign)`);
    }
    const t = now();
    if (t > ca.notAfter.getTime()) throw bad(`the CA certificate "${ca.subject}" expired at ${isoTime(ca.notAfter.getTime())}`);
    if (t < ca.notBefore.getTime()) throw bad(`the CA certificate "${ca.subject}" is not valid before ${isoTime(ca.notBefore.getTime())}`);
    const spiffeUris = uriSans(ca.extensions).filter((u) => u.toLowerCase().startsWith("spiffe:"));
    if (spiffeUris.length > 1) throw bad(`the CA certificate names ${spiffeUris.length} SPIFFE IDs (${spiffeUris.join(", ")}): at most one`);
    const trustDomain = spiffeUris.length === 1 ? about("certificate", () => parseSpiffeId(spiffeUris[0]!)).trustDomain : undefined;
    const pkcs8 = onePkcs8(keyPem, "the CA key file");
    const { key, signWith } = await importKeyOf(ca, pkcs8, { key: "the CA key", cert: "CA certificate" }, opts.extractable ?? false);
    const tail: x509.X509Certificate[] = [];
    for (const c of certs) {
      if (await c.isSelfSigned(webcrypto)) break;
      tail.push(c);
    }
    return new LocalCa({
      trustDomain,
      root: ca,
      key,
      signWith,
      rootKeyId: ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
      chainTail: tail.map((c) => pemEncode("CERTIFICATE", c.rawData)).join(""),
      lifetimeMs,
      now,
    });
  }

  /** PEM (PKCS#8) of the CA's private key; throws unless the LocalCa was made with `extractable: true`. */
  async rootKeyPem(): Promise<string> {
    if (!this.#key.extractable) throw new Error("the CA key is not extractable: make the LocalCa with extractable: true");
    return pemEncode("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", this.#key));
  }

  /**
   * Certifies the key of `csrPem` as `identity`: the CSR must verify, `identity` must be a workload SPIFFE ID of
   * this CA's trust domain (when it has one) and the CSR's only URI SAN. The leaf is valid from now - 1 min to
   * now + lifetimeMs (at most until the CA expires), CA:false, digitalSignature, serverAuth + clientAuth, URI SAN
   * = identity. Rejects with CertError (INVALID_IDENTITY, FOREIGN_TRUST_DOMAIN, BAD_CSR, UNSUPPORTED_KEY,
   * BAD_SIGNATURE, IDENTITY_MISMATCH; BAD_PEM once the CA certificate has expired).
   */
  async issue(csrPem: string, identity: string): Promise<IssuedCertificate> {
    return this.#issue(csrPem, identity, {});
  }

  /**
   * Generates a key and CSR for `identity` and certifies them, optionally with an explicit validity (ms since
   * the epoch; not clamped to the root's) — e.g. expired or not-yet-valid certificates for tests. Without
   * notAfter, the leaf lives lifetimeMs from notBefore (when given) or from now.
   */
  async issueFor(identity: string, opts: { notBefore?: number; notAfter?: number } = {}): Promise<IssuedKeyAndCert> {
    const km = await generateKeyAndCsr(identity);
    const issued = await this.#issue(km.csrPem, identity, opts);
    return { keyPem: km.privateKeyPem, certPem: issued.certChainPem, notBefore: issued.notBefore, notAfter: issued.notAfter };
  }

  async #issue(csrPem: string, identity: string, validity: { notBefore?: number; notAfter?: number }): Promise<IssuedCertificate> {
    const id = parseWorkloadId(identity);
    if (this.trustDomain !== undefined && id.trustDomain !== this.trustDomain) {
      throw new CertError("FOREIGN_TRUST_DOMAIN", `${identity} is not in trust domain ${this.trustDomain}: this CA does not certify it`);
    }
    const csr = await verifyCsr(csrPem);
    if (csr.uris.length !== 1) {
      throw new CertError("BAD_CSR", `a CSR must carry exactly one URI SAN (its SPIFFE ID), this one has ${csr.uris.length}`);
    }
    if (csr.uris[0] !== identity) {
      throw new CertError("IDENTITY_MISMATCH", `identity ${identity} asked for, but the CSR is for ${csr.uris[0]}`);
    }
    const now = this.#now();
    let notBefore: number;
    let notAfter: number;
    if (validity.notBefore === undefined && validity.notAfter === undefined) {
      const rootNotAfter = this.#root.notAfter.getTime();
      if (now >= rootNotAfter) {
        throw new CertError("BAD_PEM", `the CA certificate "${this.#root.subject}" expired at ${isoTime(rootNotAfter)}`, { part: "certificate" });
      }
      notBefore = now - BACKDATE_MS;
      notAfter = Math.min(now + this.lifetimeMs, rootNotAfter);
    } else {
      notBefore = validity.notBefore ?? now - BACKDATE_MS;
      notAfter = validity.notAfter ?? (validity.notBefore ?? now) + this.lifetimeMs;
    }
    if (!(notAfter > notBefore)) throw new RangeError(`notAfter (${notAfter}) must be after notBefore (${notBefore})`);
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: identity }], true),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey, false, webcrypto),
    ];
    if (this.#rootKeyId !== undefined) extensions.push(new x509.AuthorityKeyIdentifierExtension(this.#rootKeyId, false));
    const leaf = await x509.X509CertificateGenerator.create(
      {
        // Empty subject, as in a SPIFFE X509-SVID: the identity is the URI SAN, which is critical therefore.
        issuer: this.#root.subjectName,
        publicKey: csr.publicKey,
        signingKey: this.#key,
        signingAlgorithm: this.#signWith,
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        extensions,
      },
      webcrypto,
    );
    return {
      certChainPem: pemEncode("CERTIFICATE", leaf.rawData) + this.#chainTail,
      notBefore: leaf.notBefore.getTime(),
      notAfter: leaf.notAfter.getTime(),
    };
  }
}

function checkLifetime(lifetimeMs: number | undefined): number {
  const ms = lifetimeMs ?? DEFAULT_LIFETIME_MS;
  if (!Number.isFinite(ms) || ms <= 0) throw new RangeError(`lifetimeMs must be a positive number, got ${ms}`);
  return ms;
}

// ---------------------------------------------------------------------------------------------------------------
// FileIssuer

export interface FileIssuerOptions {
  /** Contents of the certificate file: PEM certificates, leaf first, then intermediates. */
  certChainPem: string;
  /** Contents of the key file: PKCS#8 PEM ("BEGIN PRIVATE KEY", unencrypted) of the leaf's key. */
  keyPem: string;
}

/**
 * Certificates from files: the caller reads the files (file access stays in the adapters) and passes their text.
 * `issue` ignores the CSR — the certificate is the files' and its key is the key file's (`keyPem`), not the key
 * the CSR was made with — but still checks that `identity` is the leaf's URI SAN and that the key file belongs
 * to the leaf. The constructor checks the PEM: at least one certificate, one PKCS#8 private key (CertError
 * BAD_PEM otherwise). Expired files are returned as they are: notBefore/notAfter tell the caller. Every CertError
 * says in `part` whether the certificate file or the key file is at fault.
 */
export class FileIssuer implements CertificateIssuer {
  /** The certificates of the file, re-encoded as PEM (text around the blocks dropped), leaf first. */
  readonly certChainPem: string;
  /** The key to use with the certificate: the key file's. */
  readonly keyPem: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** The leaf's URI SAN when it has exactly one (its SPIFFE ID), else undefined. */
  readonly identity: string | undefined;
  readonly #leaf: x509.X509Certificate;
  readonly #pkcs8: Uint8Array<ArrayBuffer>;
  #keyChecked: Promise<void> | undefined;

  constructor(opts: FileIssuerOptions) {
    const certs = parseCertificates(opts.certChainPem, "the certificate file");
    if (certs.length === 0) throw new CertError("BAD_PEM", 'the certificate file holds no "BEGIN CERTIFICATE" block', { part: "certificate" });
    this.#leaf = certs[0]!;
    this.#pkcs8 = onePkcs8(opts.keyPem, "the key file");
    this.certChainPem = certs.map((c) => pemEncode("CERTIFICATE", c.rawData)).join("");
    this.keyPem = pemEncode("PRIVATE KEY", this.#pkcs8);
    this.notBefore = this.#leaf.notBefore.getTime();
    this.notAfter = this.#leaf.notAfter.getTime();
    const uris = uriSans(this.#leaf.extensions);
    this.identity = uris.length === 1 ? uris[0] : undefined;
  }

  /** Returns the files' chain (the CSR is not used). Rejects with IDENTITY_MISMATCH or KEY_MISMATCH. */
  async issue(_csrPem: string, identity: string): Promise<IssuedCertificate> {
    if (this.identity !== identity) {
      throw new CertError(
        "IDENTITY_MISMATCH",
        `identity ${identity} asked for, but the certificate file is for ${this.identity ?? "no single SPIFFE ID (URI SAN)"}`,
        { part: "certificate" },
      );
    }
    this.#keyChecked ??= importKeyOf(this.#leaf, this.#pkcs8, { key: "the key file's key", cert: "certificate", hint: " (leaf first?)" }, false).then(
      () => undefined,
    );
    await this.#keyChecked;
    return { certChainPem: this.certChainPem, notBefore: this.notBefore, notAfter: this.notAfter };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Trust anchors and chains

/**
 * The certificates of a trust anchors file, re-encoded as PEM (text around the blocks dropped, so a comment does
 * not count as a change). Throws CertError BAD_PEM when it holds no certificate or a malformed one.
 */
export function trustAnchorsFromPem(text: string): string {
  const certs = parseCertificates(text, "the trust anchors file");
  if (certs.length === 0) throw new CertError("BAD_PEM", 'the trust anchors file holds no "BEGIN CERTIFICATE" block', { part: "certificate" });
  return certs.map((c) => pemEncode("CERTIFICATE", c.rawData)).join("");
}

export type ChainResult = { ok: true } | { ok: false; error: string };

/** True when `issuer` issued `cert`: names match, key identifiers do not contradict, issuer is not a non-CA, signature verifies. */
async function isIssuerOf(issuer: x509.X509Certificate, cert: x509.X509Certificate): Promise<boolean> {
  if (cert.issuer !== issuer.subject) return false;
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (aki !== undefined && ski !== undefined && aki !== ski) return false;
  if (issuer.getExtension(x509.BasicConstraintsExtension)?.ca === false) return false;
  try {
    return await cert.verify({ publicKey: issuer, signatureOnly: true }, webcrypto);
  } catch {
    return false;
  }
}

/**
 * Whether `chainPem` (leaf first, then intermediates) leads to one of the certificates of `anchorsPem`. Each link
 * is found by name (the certificate's issuer DN equals the candidate's subject DN) and by key identifier (AKI =
 * SKI, when both carry one); the candidate may not be marked a non-CA (basicConstraints cA false), and its public
 * key must verify the certificate's signature (@peculiar/x509 verify, signature only). Validity periods are not
 * looked at: the caller checks the leaf's. Throws CertError BAD_PEM when either text is malformed.
 */
export async function verifyChain(chainPem: string, anchorsPem: string): Promise<ChainResult> {
  const chain = parseCertificates(chainPem, "the certificate chain");
  const anchors = parseCertificates(anchorsPem, "the trust anchors");
  let cert = chain[0];
  if (cert === undefined) return { ok: false, error: "the chain holds no certificate" };
  if (anchors.length === 0) return { ok: false, error: "there are no trust anchors" };
  const intermediates = chain.slice(1);
  for (;;) {
    for (const anchor of anchors) if (await isIssuerOf(anchor, cert)) return { ok: true };
    let next: x509.X509Certificate | undefined;
    for (const c of intermediates) {
      if (await isIssuerOf(c, cert)) {
        next = c;
        break;
      }
    }
    if (next === undefined) break;
    intermediates.splice(intermediates.indexOf(next), 1);
    cert = next;
  }
  const what = cert === chain[0] ? "the certificate" : `the intermediate "${cert.subject}"`;
  const namesakes = anchors.filter((a) => a.subject === cert.issuer).length;
  if (namesakes > 0) {
    return {
      ok: false,
      error: `${what} is issued by "${cert.issuer}"; ${namesakes === 1 ? "a trust anchor has that name" : `${namesakes} trust anchors have that name`} but did not sign it (a different CA with the same name?)`,
    };
  }
  return {
    ok: false,
    error: `${what} is issued by "${cert.issuer}", which is none of the ${anchors.length} trust anchor(s): ${anchors.map((a) => `"${a.subject}"`).join(", ")}`,
  };
}
