// Any Conn as a node:stream Duplex, so node:tls can run over a connection a runtime adapter accepted.
import { Duplex } from "node:stream";
import type { Conn } from "../../core/ports.ts";

export function connToDuplex(conn: Conn, preread?: Uint8Array): Duplex {
  let pendingWrite: ((err?: Error | null) => void) | null = null;
  const d = new Duplex({
    allowHalfOpen: true,
    read() {
      conn.resume();
    },
    write(chunk: Uint8Array, _enc, cb) {
      if (conn.write(chunk)) cb();
      else pendingWrite = cb;
    },
    final(cb) {
      conn.closeWrite();
      cb();
    },
    destroy(err, cb) {
      conn.destroy(err ?? undefined);
      const w = pendingWrite;
      pendingWrite = null;
      w?.(err);
      cb(err);
    },
  });
  conn.onDrain(() => {
    const w = pendingWrite;
    pendingWrite = null;
    w?.();
  });
  if (preread !== undefined && preread.byteLength > 0) d.push(preread);
  conn.setHandlers({
    data(chunk) {
      if (!d.push(chunk)) conn.pause();
    },
    end() {
      d.push(null);
    },
    close(err) {
      if (err !== undefined) d.destroy(err);
      else {
        d.push(null);
        d.destroy();
      }
    },
  });
  return d;
}
