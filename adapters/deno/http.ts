// The HttpServe port over Deno.serve (silent onListen; info.remoteAddr for the peer).
import type { FetchHandler, HttpServe, Listener, ListenOptions } from "../../core/ports.ts";
import { toAddr } from "../shared/addr.ts";

function serve(opts: ListenOptions, handler: FetchHandler): Promise<Listener> {
  try {
    const server = Deno.serve(
      {
        hostname: opts.host,
        port: opts.port,
        onListen() {},
        onError() {
          return new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain" } });
        },
      },
      (req, info) => {
        const r = info.remoteAddr as Deno.NetAddr;
        return handler(req, { remote: toAddr(r.hostname, r.port) });
      },
    );
    const a = server.addr as Deno.NetAddr;
    return Promise.resolve({ local: toAddr(a.hostname, a.port), close: () => server.shutdown() });
  } catch (err) {
    return Promise.reject(err);
  }
}

export function createHttpServe(): HttpServe {
  return { serve };
}
