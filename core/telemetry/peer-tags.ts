// The TLS labels of a peer (`tls` and `client_id` inbound / `server_id` outbound), interned so that counters can
// be keyed by a small number: a connection or an endpoint asks for its tag once and passes it with each response.

import type { Direction } from "./types.ts";

export interface PeerTag {
  readonly direction: Direction;
  /** "true", "not_provided_by_remote" or "no_identity". */
  readonly tls: string;
  /** The peer's SPIFFE ID; "" without one. */
  readonly id: string;
  /** A small integer unique per (direction, tls, id) in its store. */
  readonly slot: number;
}

export const OVERFLOW_ID = "overflow";

/** Interns PeerTags: at most `max` distinct identities per direction; the rest share one overflow tag per tls value. */
export class PeerTags {
  private readonly byKey = new Map<string, PeerTag>();
  private readonly ids: Record<Direction, Set<string>> = { inbound: new Set(), outbound: new Set() };
  constructor(private readonly max: number) {}

  get(direction: Direction, tls: string, id: string): PeerTag {
    const key = `${direction} ${tls} ${id}`;
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    const ids = this.ids[direction];
    if (id !== "" && id !== OVERFLOW_ID && !ids.has(id)) {
      if (ids.size >= this.max) return this.get(direction, tls, OVERFLOW_ID);
      ids.add(id);
    }
    const tag: PeerTag = { direction, tls, id, slot: this.byKey.size + 1 };
    this.byKey.set(key, tag);
    return tag;
  }
}

/** The identity label's name for the peer's side. */
export function idLabel(direction: Direction): "client_id" | "server_id" {
  return direction === "inbound" ? "client_id" : "server_id";
}
