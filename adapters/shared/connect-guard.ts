// Adds ConnectOptions (timeoutMs, signal) on top of a runtime's connect attempt.
import type { Addr, ConnectOptions } from "../../core/ports.ts";
import { connectAborted, connectError, connectTimeout } from "./connect-errors.ts";

const noop = () => {};

/**
 * Settles with the attempt, unless the timeout or the signal comes first: then `cancel` stops the attempt and
 * a late success is handed to `dispose`. Failures are mapped to MeshletError codes.
 */
export function guardConnect<T>(
  addr: Addr,
  opts: ConnectOptions | undefined,
  attempt: Promise<T>,
  cancel: () => void,
  dispose: (late: T) => void,
): Promise<T> {
  const signal = opts?.signal;
  const ms = opts?.timeoutMs;
  if (signal?.aborted) {
    cancel();
    attempt.then(dispose, noop);
    return Promise.reject(connectAborted(addr, signal));
  }
  if (signal === undefined && ms === undefined) {
    return attempt.catch((e: unknown) => {
      throw connectError(e, addr);
    });
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const giveUp = (e: Error) => {
      if (settled) return;
      finish();
      cancel();
      reject(e);
    };
    const onAbort = () => giveUp(connectAborted(addr, signal!));
    if (ms !== undefined) timer = setTimeout(() => giveUp(connectTimeout(addr, ms)), Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
    attempt.then(
      (v) => {
        if (settled) return dispose(v);
        finish();
        resolve(v);
      },
      (e: unknown) => {
        if (settled) return;
        finish();
        reject(connectError(e, addr));
      },
    );
  });
}
