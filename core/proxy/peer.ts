// Who is on the other side of a client connection, as authorization, the app and the metrics see it.

import { peerSpiffeId } from "../identity/certificate-info.ts";
import type { TlsInfo } from "../ports.ts";
import type { Direction, PeerTag, ProxyMetrics } from "../telemetry/types.ts";

/**
 * The `tls` label: "true" when the peer proved a SPIFFE identity over mTLS, "not_provided_by_remote" when the
 * connection is TLS but the peer presented no certificate that verifies, "no_identity" for plaintext.
 */
export type TlsStatus = "true" | "not_provided_by_remote" | "no_identity";

export interface ClientPeer {
  /** The client's IP address. */
  readonly address: string;
  readonly tls: TlsStatus;
  /** The verified SPIFFE ID (only with tls "true"). */
  readonly identity: string | undefined;
  /** Its metric labels. */
  readonly tag: PeerTag;
}

function peer(metrics: ProxyMetrics, direction: Direction, address: string, tls: TlsStatus, identity?: string): ClientPeer {
  return { address, tls, identity, tag: metrics.peerTag(direction, tls, identity ?? "") };
}

export function plaintextPeer(metrics: ProxyMetrics, direction: Direction, address: string): ClientPeer {
  return peer(metrics, direction, address, "no_identity");
}

/** The peer of a terminated TLS connection: its identity counts only if its certificate chained to the anchors. */
export function tlsPeer(metrics: ProxyMetrics, direction: Direction, address: string, info: TlsInfo | undefined): ClientPeer {
  if (info === undefined || !info.authorized || info.peerCertificate === undefined) {
    return peer(metrics, direction, address, "not_provided_by_remote");
  }
  const id = peerSpiffeId(info.peerCertificate);
  if (!id.ok) return peer(metrics, direction, address, "not_provided_by_remote");
  return peer(metrics, direction, address, "true", id.id.toString());
}
