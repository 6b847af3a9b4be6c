// The proxy's TLS credentials: its own SPIFFE identity, the certificate chain and key that prove it, and the
// trust anchors peers' certificates must chain to. An identity source in the adapters (files, or a key generated
// in-process and certified by an issuer) hands a new value to Proxy.setCredentials on every rotation; handshakes
// started after that use it, connections already open keep theirs.

export interface TlsCredentials {
  /** The proxy's SPIFFE ID, the URI SAN of the leaf. */
  readonly id: string;
  /** PEM certificates, leaf first, then intermediates. */
  readonly certChainPem: string;
  /** PEM PKCS#8 private key of the leaf. */
  readonly keyPem: string;
  /** PEM trust anchors: peers' certificates (client and server) must chain to one of them. */
  readonly trustAnchorsPem: string;
  /** Validity of the leaf, ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
}
