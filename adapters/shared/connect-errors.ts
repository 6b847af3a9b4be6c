// Maps a runtime's connect failure to a MeshletError code (classified by code/name, never by message).
import { MeshletError } from "../../core/errors.ts";
import type { Addr } from "../../core/ports.ts";
import { formatAddr } from "./addr.ts";

export function connectError(err: unknown, addr: Addr): MeshletError {
  if (err instanceof MeshletError) return err;
  const e = err as { code?: unknown; name?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const name = typeof e?.name === "string" ? e.name : "";
  const where = formatAddr(addr);
  if (code === "ECONNREFUSED" || name === "ConnectionRefused") {
    return new MeshletError("CONNECT_REFUSED", `connection refused by ${where}`, { cause: err });
  }
  if (code === "ETIMEDOUT" || name === "TimedOut") {
    return new MeshletError("CONNECT_TIMEOUT", `connect to ${where} timed out`, { cause: err });
  }
  if (code === "ECONNRESET" || name === "ConnectionReset") {
    return new MeshletError("CONNECT_RESET", `connection to ${where} reset`, { cause: err });
  }
  return new MeshletError("CONNECT_FAILED", `connect to ${where} failed: ${String((err as Error)?.message ?? err)}`, { cause: err });
}

export function connectTimeout(addr: Addr, ms: number): MeshletError {
  return new MeshletError("CONNECT_TIMEOUT", `connect to ${formatAddr(addr)} timed out after ${ms} ms`);
}

/** An aborted connect: CONNECT_TIMEOUT when the reason is a TimeoutError (AbortSignal.timeout), else CONNECT_FAILED. */
export function connectAborted(addr: Addr, signal: AbortSignal): MeshletError {
  const reason = signal.reason as { name?: unknown } | undefined;
  const code = reason?.name === "TimeoutError" ? "CONNECT_TIMEOUT" : "CONNECT_FAILED";
  return new MeshletError(code, `connect to ${formatAddr(addr)} aborted`, { cause: signal.reason });
}
