// Shared helpers for the engine-level proxy tests: a scripted upstream that parses whole requests (head and
// body, Content-Length or chunked) and keeps their raw bytes, a client that parses whole responses, and a proxy
// built from a file-form config over FakeNet/FakeClock with a seeded random. Everything is deterministic:
// time moves only through FakeClock.advance, and waiting means turning the event loop a bounded number of times.

import { parseConfig } from "../../../core/config/parse.ts";
import type { MeshletConfig, ServiceConfig } from "../../../core/config/types.ts";
import type { Runtime } from "../../../core/ports.ts";
import { createProxy, type Proxy } from "../../../core/proxy/proxy.ts";
import { MetricsStore, type RouteCounters, type ServiceCounters } from "../../../core/telemetry/metrics.ts";
import { FakeClock, FakeNet, type FakeConn } from "../../support/fake-runtime.ts";
import { mulberry32 } from "../../support/prng.ts";

/** Latin-1 both ways, so a string is exactly the bytes on the wire. */
export const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));
export const dec = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
export const tick = (): Promise<void> => new Promise<void>((r) => setImmediate(r));

/** Parses a file-form config (throws with the issues when it is invalid). */
export function config(raw: Record<string, unknown>): MeshletConfig {
  const r = parseConfig(raw);
  if (!r.ok) throw new Error(`bad test config: ${JSON.stringify(r.errors)}`);
  return r.config;
}

/** The normalized config of one service given in file form. */
export function service(raw: Record<string, unknown>): ServiceConfig {
  return config({ services: [raw] }).services[0]!;
}

// ---- upstream -------------------------------------------------------------------------------------------

export interface UpRequest {
  readonly method: string;
  readonly target: string;
  /** Lower-case names, in order. */
  readonly headers: readonly (readonly [string, string])[];
  /** The request head (request line and fields), without the blank line. */
  readonly head: string;
  /** The decoded body (chunks joined). */
  readonly body: string;
  /** Every byte of the request as received: head, blank line, body with its framing. */
  readonly raw: string;
  readonly conn: FakeConn;
}

export function header(req: { headers: readonly (readonly [string, string])[] }, name: string): string | undefined {
  const all = req.headers.filter(([n]) => n === name).map(([, v]) => v);
  return all.length === 0 ? undefined : all.join(", ");
}

export interface Reply {
  status: number;
  headers?: readonly (readonly [string, string])[];
  body?: string;
}
/**
 * What an upstream does with a request: answer it; stay silent (answer later with `respond`); destroy the
 * connection; or, with "partial", send the head and half of a 10-byte body and stall.
 */
export type Action = Reply | "silent" | "reset" | "partial";

export function reply(status: number, body = `status ${status}`, headers: Reply["headers"] = []): Reply {
  return { status, body, headers };
}

export function encodeReply(r: Reply): string {
  const body = r.body ?? "";
  let s = `HTTP/1.1 ${r.status} X\r\ncontent-length: ${body.length}\r\n`;
  for (const [n, v] of r.headers ?? []) s += `${n}: ${v}\r\n`;
  return `${s}\r\n${body}`;
}

export interface Upstream {
  readonly port: number;
  readonly requests: UpRequest[];
  readonly conns: FakeConn[];
  /** Answers a request that was left silent. */
  respond(req: UpRequest, r: Reply): void;
}

/**
 * An HTTP/1.1 upstream on 127.0.0.1:port. `act` decides per request (0-based count over all connections);
 * with `onHead` the decision is made as soon as the head is in (the body, if any, is then still recorded).
 */
export function upstream(
  net: FakeNet,
  port: number,
  act: (req: UpRequest, i: number) => Action = () => reply(200, `from ${port}`),
  opts: { onHead?: boolean } = {},
): Upstream {
  const requests: UpRequest[] = [];
  const conns: FakeConn[] = [];
  const perform = (c: FakeConn, req: UpRequest, a: Action) => {
    if (a === "silent") return;
    if (a === "reset") return c.destroy();
    if (a === "partial") return void c.write(enc("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf"));
    c.write(enc(encodeReply(a)));
  };
  void net.listen({ host: "127.0.0.1", port }, (conn) => {
    const c = conn as FakeConn;
    conns.push(c);
    let buf = "";
    let answeredHead: string | null = null; // the head already acted on (onHead mode), while its body comes in
    c.setHandlers({
      data(chunk) {
        buf += dec(chunk);
        for (;;) {
          const parsed = parseRequest(buf);
          if (parsed === "incomplete-head") return;
          if (parsed.kind === "head-only") {
            if (opts.onHead && answeredHead !== parsed.head) {
              answeredHead = parsed.head;
              const req = { ...parsed.req, conn: c, raw: buf, body: "" };
              const i = requests.length;
              requests.push(req);
              perform(c, req, act(req, i));
            }
            return;
          }
          buf = buf.slice(parsed.length);
          if (opts.onHead && answeredHead === parsed.head) {
            // Complete now: fill in the body and raw bytes of the request already acted on.
            answeredHead = null;
            const last = requests[requests.length - 1]!;
            requests[requests.length - 1] = { ...last, body: parsed.body, raw: parsed.raw };
            continue;
          }
          const req: UpRequest = { ...parsed.req, body: parsed.body, raw: parsed.raw, conn: c };
          const i = requests.length;
          requests.push(req);
          perform(c, req, act(req, i));
        }
      },
      end() {
        c.close();
      },
      close() {},
    });
  });
  return {
    port,
    requests,
    conns,
    respond(req, r) {
      req.conn.write(enc(encodeReply(r)));
    },
  };
}

type HeadInfo = Omit<UpRequest, "body" | "raw" | "conn">;
type Parsed =
  | "incomplete-head"
  | { kind: "head-only"; head: string; req: HeadInfo }
  | { kind: "complete"; head: string; req: HeadInfo; body: string; raw: string; length: number };

function parseRequest(buf: string): Parsed {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return "incomplete-head";
  const head = buf.slice(0, end);
  const lines = head.split("\r\n");
  const [method = "", target = ""] = lines[0]!.split(" ");
  const headers = lines.slice(1).map((l): [string, string] => {
    const colon = l.indexOf(":");
    return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()];
  });
  const req: HeadInfo = { method, target, headers, head };
  const bodyStart = end + 4;
  const te = header({ headers }, "transfer-encoding");
  if (te !== undefined && /chunked/i.test(te)) {
    let at = bodyStart;
    let body = "";
    for (;;) {
      const eol = buf.indexOf("\r\n", at);
      if (eol < 0) return { kind: "head-only", head, req };
      const size = parseInt(buf.slice(at, eol), 16);
      if (size === 0) {
        // Trailers (if any) end with an empty line.
        const fin = buf.indexOf("\r\n\r\n", eol);
        const blank = buf.startsWith("\r\n", eol + 2) ? eol + 4 : fin < 0 ? -1 : fin + 4;
        if (blank < 0) return { kind: "head-only", head, req };
        return { kind: "complete", head, req, body, raw: buf.slice(0, blank), length: blank };
      }
      if (buf.length < eol + 2 + size + 2) return { kind: "head-only", head, req };
      body += buf.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
  }
  const cl = Number(header({ headers }, "content-length") ?? "0");
  if (buf.length < bodyStart + cl) return { kind: "head-only", head, req };
  return { kind: "complete", head, req, body: buf.slice(bodyStart, bodyStart + cl), raw: buf.slice(0, bodyStart + cl), length: bodyStart + cl };
}

// ---- client ---------------------------------------------------------------------------------------------

export interface Res {
  status: number;
  /** Lower-case names, in order. */
  headers: [string, string][];
  body: string;
  raw: string;
}

/** A client connection that parses the responses it receives. */
export class Client {
  private buf = "";
  readonly responses: Res[] = [];
  closed = false;
  constructor(readonly conn: FakeConn) {
    conn.setHandlers({
      data: (b) => {
        this.buf += dec(b);
        this.parse();
      },
      end: () => {},
      close: () => {
        this.closed = true;
      },
    });
  }

  write(s: string): void {
    this.conn.write(enc(s));
  }

  /** Bytes received that are not (yet) a whole response. */
  get pending(): string {
    return this.buf;
  }

  private parse(): void {
    for (;;) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = this.buf.slice(0, end).split("\r\n");
      const status = Number(lines[0]!.split(" ")[1]);
      const headers = lines.slice(1).map((l): [string, string] => {
        const colon = l.indexOf(":");
        return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()];
      });
      if (status < 200) {
        this.buf = this.buf.slice(end + 4);
        continue;
      }
      const start = end + 4;
      const te = header({ headers }, "transfer-encoding");
      let body = "";
      let length: number;
      if (te !== undefined && /chunked/i.test(te)) {
        let at = start;
        for (;;) {
          const eol = this.buf.indexOf("\r\n", at);
          if (eol < 0) return;
          const size = parseInt(this.buf.slice(at, eol), 16);
          if (size === 0) {
            if (!this.buf.startsWith("\r\n", eol + 2)) return;
            length = eol + 4;
            break;
          }
          if (this.buf.length < eol + 2 + size + 2) return;
          body += this.buf.slice(eol + 2, eol + 2 + size);
          at = eol + 2 + size + 2;
        }
      } else {
        const cl = Number(header({ headers }, "content-length") ?? "0");
        if (this.buf.length < start + cl) return;
        body = this.buf.slice(start, start + cl);
        length = start + cl;
      }
      this.responses.push({ status, headers, body, raw: this.buf.slice(0, length) });
      this.buf = this.buf.slice(length);
    }
  }
}

// ---- proxy ----------------------------------------------------------------------------------------------

export interface Harness {
  net: FakeNet;
  clock: FakeClock;
  metrics: MetricsStore;
  proxy: Proxy;
  /** Every value the proxy drew from its random source, in order. */
  draws: number[];
  /** A new client connection to the outbound listener (or another port). */
  client(port?: number): Promise<Client>;
  /**
   * Turns the event loop (and fires timers already due, as a real clock would) until `done` holds, at most
   * `max` turns; returns whether it held.
   */
  settle(done?: () => boolean, max?: number): Promise<boolean>;
  /** Sends a request on a new connection (or `on`) and waits for its response. */
  send(req: string, on?: Client): Promise<Res>;
  /** Sends a request on a new connection (or `on`) and returns the client without waiting. */
  start(req: string, on?: Client): Promise<Client>;
  route(route: string, service: string): RouteCounters;
  service(name: string): ServiceCounters;
  /** Applies a new file-form config (with the same outbound defaults as the first). */
  update(raw: Record<string, unknown>): void;
}

const BASE = { outbound: { port: 4140 }, accessLog: false };

export async function harness(
  raw: Record<string, unknown>,
  opts: { seed?: number; random?: () => number } = {},
): Promise<Harness> {
  const net = new FakeNet();
  const clock = new FakeClock();
  const metrics = new MetricsStore();
  const source = opts.random ?? mulberry32(opts.seed ?? 1);
  const draws: number[] = [];
  const random = () => {
    const x = source();
    draws.push(x);
    return x;
  };
  const rt: Runtime = {
    name: "node",
    net,
    clock,
    random,
    tls: { accept: () => Promise.reject(new Error("no tls")), connect: () => Promise.reject(new Error("no tls")) },
    http: { serve: () => Promise.reject(new Error("no http")) },
    stdout() {},
    stderr() {},
  };
  const proxy = createProxy(rt, config({ ...BASE, ...raw }), { metrics, log() {} });
  await proxy.start();
  const settle = async (done: () => boolean = () => false, max = 40) => {
    for (let i = 0; i < max; i++) {
      if (done()) return true;
      clock.advance(0);
      await tick();
    }
    return done();
  };
  const client = async (port = 4140) => new Client((await net.connect({ host: "127.0.0.1", port })) as FakeConn);
  const start = async (req: string, on?: Client) => {
    const c = on ?? (await client());
    c.write(req);
    return c;
  };
  return {
    net,
    clock,
    metrics,
    proxy,
    draws,
    client,
    settle,
    start,
    async send(req, on) {
      const c = on ?? (await client());
      const before = c.responses.length;
      c.write(req);
      if (!(await settle(() => c.responses.length > before, 200))) {
        throw new Error(`no response to ${JSON.stringify(req.slice(0, 60))}; got so far ${JSON.stringify(c.pending)}`);
      }
      return c.responses[before]!;
    },
    route: (route, svc) => metrics.route("outbound", route, svc),
    service: (name) => metrics.service("outbound", name),
    update: (next) => proxy.update(config({ ...BASE, ...next })),
  };
}

/** A GET with a Host header and extra header lines. */
export function get(host: string, path = "/", extra: Record<string, string> = {}): string {
  let s = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [n, v] of Object.entries(extra)) s += `${n}: ${v}\r\n`;
  return `${s}\r\n`;
}

export function resHeader(res: Res, name: string): string | undefined {
  return header(res, name);
}
