// The Net port over Bun.listen / Bun.connect (native sockets, half-open allowed).
import type { Addr, Conn, ConnectOptions, Listener, ListenOptions, Net } from "../../core/ports.ts";
import { guardConnect } from "../shared/connect-guard.ts";
import type { BunConn } from "./conn.ts";
import { socketHandlers } from "./handlers.ts";

const connectHandlers = socketHandlers();

function listen(opts: ListenOptions, onConn: (c: Conn) => void): Promise<Listener> {
  try {
    const l = Bun.listen<BunConn | undefined>({
      hostname: opts.host,
      port: opts.port,
      allowHalfOpen: true,
      data: undefined,
      socket: socketHandlers(onConn),
    });
    return Promise.resolve({
      local: { host: l.hostname, port: l.port },
      close() {
        l.stop(false);
        return Promise.resolve();
      },
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

function connect(addr: Addr, opts?: ConnectOptions): Promise<Conn> {
  let attempt: Promise<Conn>;
  try {
    attempt = Bun.connect<BunConn | undefined>({
      hostname: addr.host,
      port: addr.port,
      allowHalfOpen: true,
      data: undefined,
      socket: connectHandlers,
    }).then((s) => s.data!);
  } catch (err) {
    attempt = Promise.reject(err);
  }
  // Bun.connect cannot be cancelled: a connection that completes after a timeout/abort is destroyed.
  return guardConnect(addr, opts, attempt, () => {}, (c) => c.destroy());
}

export function createNet(): Net {
  return { listen, connect };
}
