// The HttpServe port over node:http, converting to and from web Request/Response.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { FetchHandler, HttpServe, Listener, ListenOptions } from "../../core/ports.ts";
import { toAddr } from "../shared/addr.ts";

function toRequest(req: http.IncomingMessage, signal: AbortSignal): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
    init.duplex = "half";
  }
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, init);
}

function waitWritable(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

async function writeResponse(res: http.ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== "set-cookie") headers[k] = v;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!res.write(value)) await waitWritable(res);
    if (res.destroyed) {
      await reader.cancel();
      return;
    }
  }
  res.end();
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, handler: FetchHandler): Promise<void> {
  const ac = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) ac.abort();
  });
  try {
    const request = toRequest(req, ac.signal);
    const response = await handler(request, { remote: toAddr(req.socket.remoteAddress, req.socket.remotePort) });
    await writeResponse(res, response);
  } catch (err) {
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error\n");
    } else res.destroy(err as Error);
  }
}

function serve(opts: ListenOptions, handler: FetchHandler): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => void handle(req, res, handler));
    server.once("error", reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off("error", reject);
      const a = server.address() as AddressInfo;
      resolve({
        local: toAddr(a.address, a.port),
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

export function createHttpServe(): HttpServe {
  return { serve };
}
