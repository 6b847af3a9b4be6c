// Byte-for-byte relay between two connections, with backpressure and half-close in both directions.

import type { Conn } from "../ports.ts";
import type { TcpMetrics } from "../telemetry/types.ts";

export interface TunnelSide {
  conn: Conn;
  /** Counts bytes read from and written to this side. */
  metrics?: TcpMetrics;
}

/**
 * Relays a <-> b until both directions have ended or either side fails. `onClose` runs once when both
 * connections are closed. Bytes already read from a side (during detection or parsing) go in `aPending`/`bPending`
 * and are written to the other side first.
 */
export function tunnel(
  a: TunnelSide,
  b: TunnelSide,
  opts: { aPending?: Uint8Array; bPending?: Uint8Array; aEnded?: boolean; onClose?: (err?: Error) => void } = {},
): { destroy(err?: Error): void } {
  let open = 2;
  let ended = 0;
  let failure: Error | undefined;
  const closed = (err?: Error) => {
    if (err && !failure) failure = err;
    if (--open === 0) opts.onClose?.(failure);
  };
  const relay = (from: TunnelSide, to: TunnelSide, pending: Uint8Array | undefined, fromEnded: boolean) => {
    let fromClosed = false;
    // Pending bytes go first, then the new handlers, then reading (re)starts unless the other side is full.
    let blocked = false;
    if (pending && pending.length > 0) {
      to.metrics?.written(pending.length);
      if (!to.conn.write(pending)) {
        blocked = true;
        to.conn.onDrain(() => from.conn.resume());
      }
    }
    if (fromEnded) {
      to.conn.closeWrite();
      ended++;
    }
    from.conn.setHandlers({
      data(chunk) {
        from.metrics?.read(chunk.length);
        to.metrics?.written(chunk.length);
        if (!to.conn.write(chunk)) {
          from.conn.pause();
          to.conn.onDrain(() => from.conn.resume());
        }
      },
      end() {
        to.conn.closeWrite();
        if (++ended === 2) {
          a.conn.close();
          b.conn.close();
        }
      },
      close(err) {
        if (fromClosed) return;
        fromClosed = true;
        // A reset on one side resets the other; a clean close lets the other side flush first.
        if (err) to.conn.destroy(err);
        else to.conn.close();
        closed(err);
      },
    });
    if (blocked) from.conn.pause();
    else from.conn.resume();
  };
  relay(a, b, opts.aPending, opts.aEnded ?? false);
  relay(b, a, opts.bPending, false);
  return {
    destroy(err?: Error) {
      a.conn.destroy(err);
      b.conn.destroy(err);
    },
  };
}
