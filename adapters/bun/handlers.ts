// One handler object for every Bun socket: each event is forwarded to the BunConn kept in socket.data.
import type { SocketHandler } from "bun";
import { BunConn } from "./conn.ts";

type Data = BunConn | undefined;

export function socketHandlers(onOpen?: (c: BunConn) => void): SocketHandler<Data> {
  return {
    open(s) {
      const c = new BunConn(s);
      s.data = c;
      onOpen?.(c);
    },
    data(s, chunk) {
      s.data?.onData(chunk);
    },
    end(s) {
      s.data?.onEnd();
    },
    drain(s) {
      s.data?.onWritable();
    },
    close(s, err) {
      s.data?.onClosed(err);
    },
    error(s, err) {
      s.data?.onError(err);
    },
    connectError() {
      // Bun.connect rejects after this; having the handler keeps the rejection from being reported as unhandled.
    },
  };
}
