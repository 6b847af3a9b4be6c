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

/** Why certificate material or a request was refused; `reason` is stable, the message is for people. */
export class CertError extends Error {
  readonly reason: IssueRejectReason;
  constructor(reason: IssueRejectReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
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
// LocalCa

export interface LocalCaOptions {
  /** The trust domain this CA certifies identities in, e.g. "cluster.local". */
  trustDomain: string;
  /** Lifetime of issued leaves (default 24 h); they are also backdated by BACKDATE_MS. */
  lifetimeMs?: number;
  /** Wall clock in ms since the epoch (default Date.now), for validity periods. */
  now?: () => number;
}

export interface IssuedKeyAndCert {
  /** PKCS#8 PEM of a freshly generated ECDSA P-256 key. */
  keyPem: string;
  /** PEM of the leaf certificate (the chain is just the leaf: the root is not sent). */
  certPem: string;
  notBefore: number;
  notAfter: number;
}

/**
 * A self-signed ECDSA P-256 root that certifies SPIFFE IDs of one trust domain, in memory (its key is not
 * extractable). For tests and the demo; a second LocalCa, even for the same trust domain, is an unrelated CA.
 */
export class LocalCa implements CertificateIssuer {
  readonly trustDomain: string;
  /** PEM of the root certificate: the trust anchor peers need. */
  readonly rootPem: string;
  readonly lifetimeMs: number;
  readonly #root: x509.X509Certificate;
  readonly #key: CryptoKey;
  readonly #rootKeyId: string;
  readonly #now: () => number;

  private constructor(trustDomain: string, root: x509.X509Certificate, key: CryptoKey, rootKeyId: string, lifetimeMs: number, now: () => number) {
    this.trustDomain = trustDomain;
    this.#root = root;
    this.rootPem = pemEncode("CERTIFICATE", root.rawData);
    this.#key = key;
    this.#rootKeyId = rootKeyId;
    this.lifetimeMs = lifetimeMs;
    this.#now = now;
  }

  static async create(opts: LocalCaOptions): Promise<LocalCa> {
    const td = parseSpiffeId(`spiffe://${opts.trustDomain}`);
    if (td.path !== "") throw new CertError("INVALID_IDENTITY", `not a trust domain name: ${JSON.stringify(opts.trustDomain)}`);
    const lifetimeMs = opts.lifetimeMs ?? DEFAULT_LIFETIME_MS;
    if (!Number.isFinite(lifetimeMs) || lifetimeMs <= 0) throw new RangeError(`lifetimeMs must be a positive number, got ${lifetimeMs}`);
    const now = opts.now ?? Date.now;
    const keys = (await webcrypto.subtle.generateKey(EC_KEY, false, ["sign", "verify"])) as CryptoKeyPair;
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
    return new LocalCa(td.trustDomain, root, keys.privateKey, ski.keyId, lifetimeMs, now);
  }

  /**
   * Certifies the key of `csrPem` as `identity`: the CSR must verify, `identity` must be a workload SPIFFE ID of
   * this CA's trust domain and the CSR's only URI SAN. The leaf is valid from now - 1 min to now + lifetimeMs
   * (at most until the root expires), CA:false, digitalSignature, serverAuth + clientAuth, URI SAN = identity.
   * Rejects with CertError (INVALID_IDENTITY, FOREIGN_TRUST_DOMAIN, BAD_CSR, UNSUPPORTED_KEY, BAD_SIGNATURE,
   * IDENTITY_MISMATCH).
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
    if (id.trustDomain !== this.trustDomain) {
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
      notBefore = now - BACKDATE_MS;
      notAfter = Math.min(now + this.lifetimeMs, this.#root.notAfter.getTime());
    } else {
      notBefore = validity.notBefore ?? now - BACKDATE_MS;
      notAfter = validity.notAfter ?? (validity.notBefore ?? now) + this.lifetimeMs;
    }
    if (!(notAfter > notBefore)) throw new RangeError(`notAfter (${notAfter}) must be after notBefore (${notBefore})`);
    const leaf = await x509.X509CertificateGenerator.create(
      {
        // Empty subject, as in a SPIFFE X509-SVID: the identity is the URI SAN, which is critical therefore.
        issuer: this.#root.subjectName,
        publicKey: csr.publicKey,
        signingKey: this.#key,
        signingAlgorithm: SIGNING,
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
          new x509.SubjectAlternativeNameExtension([{ type: "url", value: identity }], true),
          await x509.SubjectKeyIdentifierExtension.create(csr.publicKey, false, webcrypto),
          new x509.AuthorityKeyIdentifierExtension(this.#rootKeyId, false),
        ],
      },
      webcrypto,
    );
    return { certChainPem: pemEncode("CERTIFICATE", leaf.rawData), notBefore: leaf.notBefore.getTime(), notAfter: leaf.notAfter.getTime() };
  }
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
 * BAD_PEM otherwise). Expired files are returned as they are: notBefore/notAfter tell the caller.
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
    const certs = pemBlocks(opts.certChainPem, "CERTIFICATE");
    if (certs.length === 0) throw new CertError("BAD_PEM", 'the certificate file holds no "BEGIN CERTIFICATE" block');
    let parsed: x509.X509Certificate[];
    try {
      parsed = certs.map((der) => new x509.X509Certificate(toArrayBuffer(der)));
    } catch (e) {
      throw new CertError("BAD_PEM", `the certificate file holds a malformed certificate: ${(e as Error).message}`, { cause: e });
    }
    const keys = pemDecode(opts.keyPem);
    const pkcs8 = keys.filter((b) => b.label === "PRIVATE KEY");
    if (pkcs8.length !== 1) {
      const other = keys.find((b) => b.label.endsWith("PRIVATE KEY"));
      throw new CertError(
        "BAD_PEM",
        other !== undefined
          ? `the key file holds a "${other.label}": convert it to unencrypted PKCS#8 (openssl pkcs8 -topk8 -nocrypt)`
          : `the key file must hold exactly one "BEGIN PRIVATE KEY" (PKCS#8) block, found ${pkcs8.length}`,
      );
    }
    this.#leaf = parsed[0]!;
    this.#pkcs8 = pkcs8[0]!.der;
    this.certChainPem = certs.map((der) => pemEncode("CERTIFICATE", der)).join("");
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
      );
    }
    this.#keyChecked ??= this.#checkKey();
    await this.#keyChecked;
    return { certChainPem: this.certChainPem, notBefore: this.notBefore, notAfter: this.notAfter };
  }

  /** The key file's key must be the leaf's: compares the public parts (JWK) of both. */
  async #checkKey(): Promise<void> {
    const alg = this.#leaf.publicKey.algorithm as EcKeyAlgorithm & RsaHashedKeyAlgorithm;
    let importAlg: EcKeyImportParams | RsaHashedImportParams;
    if (alg.name === "ECDSA" && typeof alg.namedCurve === "string") importAlg = { name: "ECDSA", namedCurve: alg.namedCurve };
    else if (alg.name === "RSASSA-PKCS1-v1_5" || alg.name === "RSA-PSS") importAlg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    else throw new CertError("UNSUPPORTED_KEY", `certificate key ${alg.name} is not supported (ECDSA or RSA only)`);
    let priv: JsonWebKey;
    let pub: JsonWebKey;
    try {
      const key = await webcrypto.subtle.importKey("pkcs8", toArrayBuffer(this.#pkcs8), importAlg, true, ["sign"]);
      priv = await webcrypto.subtle.exportKey("jwk", key);
    } catch (e) {
      throw new CertError("KEY_MISMATCH", `the key file's key is not a ${alg.name} key usable with the certificate: ${(e as Error).message}`, { cause: e });
    }
    try {
      const key = await webcrypto.subtle.importKey("spki", this.#leaf.publicKey.rawData, importAlg, true, ["verify"]);
      pub = await webcrypto.subtle.exportKey("jwk", key);
    } catch (e) {
      throw new CertError("UNSUPPORTED_KEY", `the certificate's public key cannot be read: ${(e as Error).message}`, { cause: e });
    }
    const same = importAlg.name === "ECDSA" ? priv.x === pub.x && priv.y === pub.y : priv.n === pub.n && priv.e === pub.e;
    if (!same) throw new CertError("KEY_MISMATCH", "the key file's key does not belong to the certificate (leaf first?)");
  }
}
