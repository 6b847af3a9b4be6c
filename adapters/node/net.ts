// The Net port over node:net: half-open sockets (allowHalfOpen), Nagle off.
import * as net from "node:net";
import type { Addr, Conn, ConnectOptions, Listener, ListenOptions, Net } from "../../core/ports.ts";
import { toAddr } from "../shared/addr.ts";
import { guardConnect } from "../shared/connect-guard.ts";
import { SocketConn } from "../shared/socket-conn.ts";

function listen(opts: ListenOptions, onConn: (c: Conn) => void): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => onConn(new SocketConn(sock)));
    server.once("error", reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off("error", reject);
      // Accept errors (EMFILE...) must not crash the process; node keeps listening.
      server.on("error", () => {});
      const a = server.address() as net.AddressInfo;
      resolve({
        local: toAddr(a.address, a.port),
        close() {
          server.close();
          return Promise.resolve();
        },
      });
    });
  });
}

function connect(addr: Addr, opts?: ConnectOptions): Promise<Conn> {
  const sock = net.connect({ host: addr.host, port: addr.port, allowHalfOpen: true, noDelay: true });
  const attempt = new Promise<Conn>((resolve, reject) => {
    const onError = (err: Error) => {
      sock.off("connect", onConnect);
      reject(err);
    };
    const onConnect = () => {
      sock.off("error", onError);
      resolve(new SocketConn(sock));
    };
    sock.once("error", onError);
    sock.once("connect", onConnect);
  });
  return guardConnect(addr, opts, attempt, () => sock.destroy(), (c) => c.destroy());
}

export function createNet(): Net {
  return { listen, connect };
}
