// Address helpers shared by the adapters.
import type { Addr } from "../../core/ports.ts";

/** Builds an Addr, unwrapping IPv4-mapped IPv6 ("::ffff:127.0.0.1" -> "127.0.0.1"). */
export function toAddr(host: string | undefined, port: number | undefined): Addr {
  let h = host ?? "";
  if (h.startsWith("::ffff:") && h.indexOf(".") !== -1) h = h.slice(7);
  return { host: h, port: port ?? 0 };
}

export function formatAddr(a: Addr): string {
  return a.host.indexOf(":") !== -1 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
