// The Net port over Deno.listen / Deno.connect.
import type { Addr, Conn, ConnectOptions, Listener, ListenOptions, Net } from "../../core/ports.ts";
import { toAddr } from "../shared/addr.ts";
import { guardConnect } from "../shared/connect-guard.ts";
import { DenoConn } from "./conn.ts";

async function acceptLoop(l: Deno.TcpListener, onConn: (c: Conn) => void, isClosed: () => boolean): Promise<void> {
  for (;;) {
    let c: Deno.TcpConn;
    try {
      c = await l.accept();
    } catch {
      if (isClosed()) return;
      // Transient accept failure (EMFILE...): back off briefly instead of spinning.
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    onConn(new DenoConn(c));
  }
}

function listen(opts: ListenOptions, onConn: (c: Conn) => void): Promise<Listener> {
  let l: Deno.TcpListener;
  try {
    l = Deno.listen({ hostname: opts.host, port: opts.port, transport: "tcp" });
  } catch (err) {
    return Promise.reject(err);
  }
  let closed = false;
  void acceptLoop(l, onConn, () => closed);
  const a = l.addr;
  return Promise.resolve({
    local: toAddr(a.hostname, a.port),
    close() {
      if (!closed) {
        closed = true;
        l.close();
      }
      return Promise.resolve();
    },
  });
}

function connect(addr: Addr, opts?: ConnectOptions): Promise<Conn> {
  const ac = new AbortController();
  const attempt = Deno.connect({ hostname: addr.host, port: addr.port, transport: "tcp", signal: ac.signal }).then(
    (c): Conn => new DenoConn(c),
  );
  return guardConnect(addr, opts, attempt, () => ac.abort(), (c) => c.destroy());
}

export function createNet(): Net {
  return { listen, connect };
}
