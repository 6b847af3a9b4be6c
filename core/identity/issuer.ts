// The identity ports: how the proxy gets the certificate for its workload identity.
//
// The proxy generates its private key in-process (ECDSA P-256; it stays in memory unless the configuration says
// to write it out) and sends a PKCS#10 CSR for its SPIFFE ID (`spiffe://<trust-domain>/ns/<ns>/sa/<sa>`, carried
// as the certificate's URI SAN) to a CertificateIssuer. Today the certificate comes from files (FileIssuer) or,
// in tests and the demo, from an in-process CA (LocalCa), both in adapters/shared/certs.ts; later the control
// plane's CA implements the same port over the network.
//
// Pure types: no runtime code, so the core can depend on it without pulling in any crypto library.

/** A certificate chain an issuer handed out. */
export interface IssuedCertificate {
  /** PEM certificates, leaf first, then any intermediates (the root is not included). */
  certChainPem: string;
  /** Validity of the leaf, in milliseconds since the epoch (X.509 times have one-second resolution). */
  notBefore: number;
  notAfter: number;
}

export interface CertificateIssuer {
  /**
   * Issues a certificate for the key that signed `csrPem` (PEM "CERTIFICATE REQUEST"), for `identity` (the SPIFFE
   * ID asked for). Rejects when the CSR is malformed or its signature does not verify, when the identity is not a
   * SPIFFE ID this issuer may certify, or when it differs from the CSR's URI SAN; the error's `reason` (see
   * IssueRejectReason) says which. An issuer that does not use the CSR (certificates from files) says so in its
   * documentation and still checks the identity.
   */
  issue(csrPem: string, identity: string): Promise<IssuedCertificate>;
}

/** What generating a key for an identity produces: the key never leaves the process unless written on purpose. */
export interface KeyMaterial {
  /** PEM "PRIVATE KEY" (PKCS#8, unencrypted). */
  privateKeyPem: string;
  /** PEM "CERTIFICATE REQUEST" (PKCS#10), signed with the key, carrying the identity as its URI SAN. */
  csrPem: string;
}

/** Why an issuer (or a PEM/key helper) refused its input: a stable value to branch on instead of the message. */
export type IssueRejectReason =
  /** Not a SPIFFE ID (`spiffe://<trust-domain>/<path>`, lowercase trust domain, no query, port or empty segment). */
  | "INVALID_IDENTITY"
  /** A SPIFFE ID of another trust domain than the issuer's. */
  | "FOREIGN_TRUST_DOMAIN"
  /** The identity asked for is not the CSR's URI SAN (or the files' certificate's). */
  | "IDENTITY_MISMATCH"
  /** The CSR is not parseable PEM/DER PKCS#10, or lacks exactly one URI SAN. */
  | "BAD_CSR"
  /** The CSR's signature does not verify with its own public key (tampered or corrupt). */
  | "BAD_SIGNATURE"
  /** A key type the issuer does not certify. */
  | "UNSUPPORTED_KEY"
  /** Malformed PEM, or certificate/key files that are not what they should be. */
  | "BAD_PEM"
  /** The private key does not belong to the leaf certificate. */
  | "KEY_MISMATCH";
