// The HttpServe port over Bun.serve; server.requestIP(req) gives the remote address.
import type { FetchHandler, HttpServe, Listener, ListenOptions } from "../../core/ports.ts";
import { toAddr } from "../shared/addr.ts";

function serve(opts: ListenOptions, handler: FetchHandler): Promise<Listener> {
  try {
    const server = Bun.serve({
      hostname: opts.host,
      port: opts.port,
      development: false,
      fetch(req, srv) {
        const ip = srv.requestIP(req);
        return handler(req, { remote: toAddr(ip?.address, ip?.port) });
      },
      error() {
        return new Response("internal error\n", { status: 500, headers: { "content-type": "text/plain" } });
      },
    });
    return Promise.resolve({
      local: toAddr(server.hostname, server.port),
      close: () => server.stop(false),
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

export function createHttpServe(): HttpServe {
  return { serve };
}
