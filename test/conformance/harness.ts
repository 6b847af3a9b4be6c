// Black-box harness for the conformance suite: starts the proxy under the runtime chosen by
// MESHLET_RUNTIME (node | bun | deno | bun-binary), plus small upstreams, raw sockets and curl.
// Every wait has a timeout, every process we start is ours to kill (by its own process group).
//
// MESHLET_PROXY_CMD="node /path/to/other.mjs" replaces the runtime's command prefix (debugging aid);
// the proxy arguments (`proxy -c FILE`, `check-config FILE`) are appended to it.

import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test, type TestContext } from "node:test";
import { WebSocketServer } from "ws";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const HOST = "127.0.0.1";

export type RuntimeName = "node" | "bun" | "deno" | "bun-binary";
export const RUNTIMES: readonly RuntimeName[] = ["node", "bun", "deno", "bun-binary"];

export const runtime: RuntimeName = (() => {
  const r = process.env.MESHLET_RUNTIME ?? "node";
  if (!(RUNTIMES as readonly string[]).includes(r)) {
    throw new Error(`MESHLET_RUNTIME=${r}: expected one of ${RUNTIMES.join(", ")}`);
  }
  return r as RuntimeName;
})();

/** The command (and its leading arguments) that runs the meshlet CLI under the chosen runtime (or `rt`). */
export function cliCommand(rt: RuntimeName = runtime): { cmd: string; args: string[] } {
  const custom = process.env.MESHLET_PROXY_CMD?.trim();
  if (custom && rt === runtime) {
    const [cmd, ...args] = custom.split(/\s+/);
    return { cmd: cmd!, args };
  }
  const bin = (name: string) => join(REPO_ROOT, "node_modules", ".bin", name);
  switch (rt) {
    case "node":
      return { cmd: process.execPath, args: [join(REPO_ROOT, "dist/node/main.js")] };
    case "bun":
      return { cmd: bin("bun"), args: [join(REPO_ROOT, "adapters/bun/main.ts")] };
    case "deno":
      return { cmd: bin("deno"), args: ["run", "-A", join(REPO_ROOT, "adapters/deno/main.ts")] };
    case "bun-binary":
      return { cmd: join(REPO_ROOT, "dist/meshlet-bun"), args: [] };
  }
}

// ---------------------------------------------------------------------------------------------
// small utilities

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thrown from a waitFor predicate to stop waiting at once (other errors are retried until the timeout). */
export class StopWaiting extends Error {}

/** Polls `pred` every `intervalMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(
  pred: () => T | Promise<T>,
  timeoutMs: number,
  what: string | (() => string),
  intervalMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      if (e instanceof StopWaiting) throw e;
      lastErr = e;
    }
    if (Date.now() > deadline) {
      const msg = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${msg}` + (lastErr ? ` (last error: ${String(lastErr)})` : ""));
    }
    await sleep(intervalMs);
  }
}

/** Rejects with a clear message if `p` does not settle in `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function sha256(b: Buffer | Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Deterministic body bytes: byte i is (i * 31 + 7) & 0xff, generated in blocks. */
const PATTERN_BLOCK = (() => {
  const b = Buffer.alloc(64 * 1024);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
})();
/** A chunk of the pattern for bytes [offset, offset+len); PATTERN_BLOCK length is a multiple of 256. */
export function patternChunk(offset: number, len: number): Buffer {
  const start = offset % PATTERN_BLOCK.length;
  if (start + len <= PATTERN_BLOCK.length) return PATTERN_BLOCK.subarray(start, start + len);
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) out[i] = ((offset + i) * 31 + 7) & 0xff;
  return out;
}
/** sha256 of the first n pattern bytes. */
export function patternSha256(n: number): string {
  const h = createHash("sha256");
  for (let off = 0; off < n; off += PATTERN_BLOCK.length) h.update(patternChunk(off, Math.min(PATTERN_BLOCK.length, n - off)));
  return h.digest("hex");
}

// ---------------------------------------------------------------------------------------------
// temp dir and config

let tempDir: string | undefined;
export function tempPath(name: string): string {
  tempDir ??= mkdtempSync(join(tmpdir(), "meshlet-conf-"));
  return join(tempDir, name);
}

export interface ServiceSpec {
  name: string;
  hostnames?: string[];
  endpoints: (string | { host: string; port: number; weight?: number; identity?: string })[];
  listen?: { port: 0; protocol: "opaque" | "detect" };
  /** The rest of a service's config keys (balancer, failureAccrual, retryBudget, maxPending). */
  [key: string]: unknown;
}

/** The contract's minimal config, all ports 0, with `overrides` merged on top (shallow). */
export function makeConfig(opts: {
  services: ServiceSpec[];
  app?: string;
  overrides?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    admin: { port: 0 },
    outbound: { port: 0 },
    // inbound defaults to 0.0.0.0 (a sidecar's inbound is reached from other hosts); tests stay on loopback
    inbound: { host: HOST, port: 0, app: opts.app ?? "127.0.0.1:9" },
    services: opts.services.map((s) => ({ hostnames: [s.name], ...s })),
    accessLog: { enabled: true },
    shutdownGrace: "3s",
    ...opts.overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// the proxy process

const running = new Set<ProxyProcess>();
process.on("exit", () => {
  for (const p of running) p.killNow("SIGKILL");
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

export interface AccessLogLine {
  time: string;
  direction: string;
  method: string;
  authority: string;
  path: string;
  status: number;
  duration_ms: number;
  endpoint: string;
  request_bytes: number;
  response_bytes: number;
  error?: string;
  [k: string]: unknown;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ProxyProcess {
  readonly stdoutLines: string[] = [];
  stdout = "";
  stderr = "";
  listeners: Record<string, string> = {};
  exitInfo: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;
  private partial = "";

  constructor(
    readonly child: ChildProcess,
    readonly configPath: string,
    readonly commandLine: string,
  ) {
    running.add(this);
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (s: string) => {
      this.stdout += s;
      this.partial += s;
      const lines = this.partial.split("\n");
      this.partial = lines.pop()!;
      for (const l of lines) if (l.trim()) this.stdoutLines.push(l);
    });
    child.stderr!.on("data", (s: string) => {
      this.stderr += s;
    });
    this.exited = new Promise((res) => {
      child.on("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        running.delete(this);
        res(this.exitInfo);
      });
      child.on("error", (err) => {
        this.stderr += `\n[harness] spawn error: ${err.message}\n`;
        this.exitInfo ??= { code: null, signal: null };
        running.delete(this);
        res(this.exitInfo);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** A listener's port from the ready line: "outbound", "inbound", "admin", "service:NAME". */
  port(name: string): number {
    const a = this.listeners[name];
    if (!a) throw new Error(`no listener "${name}" in the ready line: ${JSON.stringify(this.listeners)}`);
    return Number(a.slice(a.lastIndexOf(":") + 1));
  }
  get outbound(): number {
    return this.port("outbound");
  }
  get admin(): number {
    return this.port("admin");
  }

  /** Parsed JSON stdout lines that look like access-log records. */
  accessLog(): AccessLogLine[] {
    const out: AccessLogLine[] = [];
    for (const l of this.stdoutLines) {
      try {
        const j = JSON.parse(l);
        if (j && typeof j === "object" && "direction" in j && "status" in j) out.push(j as AccessLogLine);
      } catch {
        /* not JSON */
      }
    }
    return out;
  }

  /** Tail of the process output, for assertion messages. */
  diagnostics(): string {
    const tail = (s: string) => (s.length > 3000 ? "…" + s.slice(-3000) : s);
    return `\n--- proxy (${runtime}, pid ${this.child.pid}): ${this.commandLine}\n--- exit: ${JSON.stringify(this.exitInfo ?? "running")}\n--- stdout:\n${tail(this.stdout)}\n--- stderr:\n${tail(this.stderr)}\n---`;
  }

  writeConfig(cfg: unknown): void {
    writeFileSync(this.configPath, typeof cfg === "string" ? cfg : JSON.stringify(cfg, null, 2));
  }

  /** Sends a signal to the proxy's own process group (the proxy and anything it spawned). */
  signal(sig: NodeJS.Signals): void {
    this.killNow(sig);
  }

  killNow(sig: NodeJS.Signals): void {
    if (this.exitInfo || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      try {
        this.child.kill(sig);
      } catch {
        /* gone */
      }
    }
  }

  /** Waits for the exit; throws with diagnostics after timeoutMs. */
  async waitExit(timeoutMs: number): Promise<ExitInfo> {
    return withTimeout(this.exited, timeoutMs, `proxy exit${this.diagnostics()}`);
  }

  /** SIGTERM, then SIGKILL if it is still running after graceMs. */
  async stop(graceMs = 6000): Promise<ExitInfo> {
    if (this.exitInfo) return this.exitInfo;
    this.killNow("SIGTERM");
    const timer = setTimeout(() => this.killNow("SIGKILL"), graceMs);
    try {
      return await withTimeout(this.exited, graceMs + 3000, "proxy to die after SIGKILL");
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sum of VmHWM (peak RSS) in KiB over every live process in the proxy's process group. */
  peakRssKb(): number {
    return sumStatusField(this.pid, "VmHWM");
  }
  rssKb(): number {
    return sumStatusField(this.pid, "VmRSS");
  }
}

function sumStatusField(pgid: number, field: string): number {
  let total = 0;
  for (const ent of readdirSync("/proc")) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = readFileSync(`/proc/${ent}/stat`, "utf8");
      // fields after the ")" of comm: state ppid pgrp ...
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(rest[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${ent}/status`, "utf8");
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
      if (m) total += Number(m[1]);
    } catch {
      /* raced with exit */
    }
  }
  return total;
}

/** Spawns the CLI with `args` in its own process group, cwd = repo root. */
export function spawnCli(args: string[], configPath = "", rt: RuntimeName = runtime): ProxyProcess {
  const { cmd, args: pre } = cliCommand(rt);
  const child = spawn(cmd, [...pre, ...args], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  return new ProxyProcess(child, configPath, [cmd, ...pre, ...args].join(" "));
}

export interface StartOptions {
  readyTimeoutMs?: number;
  /** File name inside the temp dir; defaults to a unique one. */
  fileName?: string;
  /** Run this proxy on another runtime than the suite's (cross-runtime cases). */
  runtime?: RuntimeName;
}

let configSeq = 0;

/** Writes `config` as JSON, starts `proxy -c FILE` and waits for the ready line. */
export async function startProxy(config: unknown, opts: StartOptions = {}): Promise<ProxyProcess> {
  const file = tempPath(opts.fileName ?? `meshlet-${process.pid}-${++configSeq}.json`);
  writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config, null, 2));
  const p = spawnCli(["proxy", "-c", file], file, opts.runtime);
  const timeoutMs = opts.readyTimeoutMs ?? Number(process.env.MESHLET_READY_TIMEOUT_MS ?? 20000);
  try {
    const ready = await waitFor(
      () => {
        if (p.exitInfo) throw new StopWaiting("exited");
        for (const l of p.stdoutLines) {
          try {
            const j = JSON.parse(l);
            if (j && j.msg === "ready" && j.listeners) return j as { listeners: Record<string, string> };
          } catch {
            /* not JSON */
          }
        }
        return undefined;
      },
      timeoutMs,
      "the ready line",
      10,
    ).catch((e: Error) => {
      if (p.exitInfo || e instanceof StopWaiting) throw new Error(`proxy exited before it was ready${p.diagnostics()}`);
      throw new Error(`${e.message}${p.diagnostics()}`);
    });
    p.listeners = ready.listeners;
    return p;
  } catch (e) {
    await p.stop(1000).catch(() => undefined);
    throw e;
  }
}

/** Runs the CLI to completion (e.g. `check-config FILE`), with a timeout. */
export async function runCli(args: string[], timeoutMs = 20000): Promise<{ code: number | null; stdout: string; stderr: string; p: ProxyProcess }> {
  const p = spawnCli(args);
  const timer = setTimeout(() => p.killNow("SIGKILL"), timeoutMs);
  try {
    const info = await p.exited;
    return { code: info.code, stdout: p.stdout, stderr: p.stderr, p };
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP upstream

export interface RecordedRequest {
  method: string;
  url: string;
  httpVersion: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
}

export interface Upstream {
  port: number;
  /** "127.0.0.1:PORT" */
  addr: string;
  server: http.Server;
  /** TCP connections accepted so far. */
  connections: number;
  requests: RecordedRequest[];
  /** Bytes handed to the socket so far by the latest /bytes/N response (respects backpressure). */
  streamProgress: number;
  /** Bytes read so far by the latest /sink request. */
  sinkProgress: number;
  close(): Promise<void>;
}

/**
 * A node:http upstream. Every response carries `x-upstream: PORT` and `x-upstream-path: URL`.
 * Paths:
 *   /delay/MS[/...]   answer the default after MS milliseconds
 *   /reset            destroy the connection (RST) without answering
 *   /malformed        write a malformed response head and close
 *   /status/CODE      answer CODE with no body (304 also sends etag and content-length: 5)
 *   /bytes/N          stream N pattern bytes (content-length; `?chunked` for chunked), with backpressure
 *   /trailers         chunked body "hello world" with trailer x-trailer: yes
 *   /hop-response     response carrying hop-by-hop headers
 *   /echo-body        stream the request body back
 *   /sink?pauseMs=MS  wait MS before reading the body, then answer the default
 *   anything else     read the whole body, answer JSON {port, method, url, httpVersion, headers, rawHeaders,
 *                     bodyBytes, bodySha256, trailers}
 * WebSocket upgrades on any path: the server sends "hello from PORT", then echoes every message.
 */
export async function startUpstream(): Promise<Upstream> {
  const sockets = new Set<net.Socket>();
  const wss = new WebSocketServer({ noServer: true });
  let self!: Upstream;
  const server = http.createServer({ keepAliveTimeout: 30000 }, (req, res) => {
    self.requests.push({
      method: req.method!,
      url: req.url!,
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
    });
    const url = new URL(req.url!, "http://x");
    const parts = url.pathname.split("/").filter(Boolean);
    res.setHeader("x-upstream", String(self.port));
    res.setHeader("x-upstream-path", req.url!);
    const answerDefault = () => {
      const h = createHash("sha256");
      let n = 0;
      req.on("data", (c: Buffer) => {
        n += c.length;
        self.sinkProgress = n;
        h.update(c);
      });
      req.on("end", () => {
        const body = JSON.stringify({
          port: self.port,
          method: req.method,
          url: req.url,
          httpVersion: req.httpVersion,
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          bodyBytes: n,
          bodySha256: h.digest("hex"),
          trailers: req.trailers,
        });
        res.setHeader("content-type", "application/json");
        res.setHeader("content-length", Buffer.byteLength(body));
        res.end(body);
      });
      req.on("error", () => undefined);
      req.resume(); // /sink paused it explicitly; a 'data' listener alone does not resume then
    };
    switch (parts[0]) {
      case "delay": {
        const t = setTimeout(answerDefault, Number(parts[1] ?? 0));
        res.on("close", () => clearTimeout(t));
        return;
      }
      case "reset": {
        const s = req.socket as net.Socket & { resetAndDestroy?: () => void };
        if (s.resetAndDestroy) s.resetAndDestroy();
        else s.destroy();
        return;
      }
      case "malformed":
        req.socket.end("HTTP/1.1 abc not-a-status\r\nthis is: not\r\n a valid head\r\n\r\n");
        return;
      case "status": {
        const code = Number(parts[1]);
        if (code === 304) {
          res.setHeader("etag", '"v1"');
          res.setHeader("content-length", "5");
        }
        res.writeHead(code);
        res.end();
        return;
      }
      case "bytes": {
        const total = Number(parts[1]);
        if (url.searchParams.has("chunked")) res.setHeader("transfer-encoding", "chunked");
        else res.setHeader("content-length", String(total));
        res.setHeader("content-type", "application/octet-stream");
        self.streamProgress = 0;
        let off = 0;
        let closed = false;
        res.on("close", () => (closed = true));
        const pump = () => {
          while (!closed && off < total) {
            const n = Math.min(64 * 1024, total - off);
            const ok = res.write(patternChunk(off, n));
            off += n;
            self.streamProgress = off;
            if (!ok) {
              res.once("drain", pump);
              return;
            }
          }
          if (!closed) res.end();
        };
        req.resume();
        req.on("end", pump);
        return;
      }
      case "trailers":
        req.resume();
        req.on("end", () => {
          res.setHeader("trailer", "x-trailer");
          res.setHeader("content-type", "text/plain");
          res.write("hello ");
          res.write("world");
          res.addTrailers({ "x-trailer": "yes" });
          res.end();
        });
        return;
      case "hop-response":
        req.resume();
        req.on("end", () => {
          res.setHeader("connection", "keep-alive, x-resp-hop");
          res.setHeader("x-resp-hop", "1");
          res.setHeader("proxy-connection", "keep-alive");
          res.setHeader("x-end-to-end", "kept");
          res.end("ok");
        });
        return;
      case "echo-body":
        res.setHeader("content-type", "application/octet-stream");
        req.pipe(res);
        return;
      case "sink": {
        const pauseMs = Number(url.searchParams.get("pauseMs") ?? 0);
        self.sinkProgress = 0;
        req.pause();
        setTimeout(answerDefault, pauseMs);
        return;
      }
      default:
        answerDefault();
    }
  });
  server.on("connection", (s: net.Socket) => {
    self.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req, socket, head) => {
    self.requests.push({ method: req.method!, url: req.url!, httpVersion: req.httpVersion, headers: req.headers, rawHeaders: req.rawHeaders });
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(`hello from ${self.port}`);
      ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as net.AddressInfo).port;
  self = {
    port,
    addr: `${HOST}:${port}`,
    server,
    connections: 0,
    requests: [],
    streamProgress: 0,
    sinkProgress: 0,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return self;
}

// ---------------------------------------------------------------------------------------------
// TCP upstream

export interface TcpUpstream {
  port: number;
  addr: string;
  connections: number;
  close(): Promise<void>;
}

/** A raw TCP server (allowHalfOpen) that runs `onConn` for every accepted socket. */
export async function startTcpUpstream(onConn: (s: net.Socket) => void): Promise<TcpUpstream> {
  const sockets = new Set<net.Socket>();
  let self!: TcpUpstream;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    self.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as net.AddressInfo).port;
  self = {
    port,
    addr: `${HOST}:${port}`,
    connections: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return self;
}

/** An address where nothing listens (bound, then closed). */
export async function closedPort(): Promise<string> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, HOST, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `${HOST}:${port}`;
}

// ---------------------------------------------------------------------------------------------
// raw sockets and a small HTTP/1 response parser

export interface RawResponse {
  httpVersion: string;
  status: number;
  reason: string;
  /** lower-case names; repeated headers keep every value */
  headers: Record<string, string[]>;
  head: string;
  body: Buffer;
  trailers: Record<string, string[]>;
  /** true if the body is delimited by the connection closing */
  closeDelimited: boolean;
}

export function header(r: { headers: Record<string, string[]> }, name: string): string | undefined {
  const v = r.headers[name.toLowerCase()];
  return v ? v.join(", ") : undefined;
}

function parseFields(lines: string[]): Record<string, string[]> {
  const h: Record<string, string[]> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    if (i <= 0) throw new Error(`malformed header line ${JSON.stringify(l)}`);
    const k = l.slice(0, i).trim().toLowerCase();
    (h[k] ??= []).push(l.slice(i + 1).trim());
  }
  return h;
}

/**
 * Parses one response at the start of `buf`. Returns undefined if more bytes are needed (`eof`: the peer
 * closed, so a close-delimited body is complete). `method` decides whether a body follows (HEAD: none).
 */
export function parseResponse(buf: Buffer, method: string, eof: boolean): { res: RawResponse; consumed: number } | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const head = buf.subarray(0, end).toString("latin1");
  const [statusLine, ...lines] = head.split("\r\n");
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine!);
  if (!m) throw new Error(`malformed status line ${JSON.stringify(statusLine)}`);
  const status = Number(m[2]);
  const headers = parseFields(lines);
  const res: RawResponse = { httpVersion: m[1]!, status, reason: m[3] ?? "", headers, head, body: Buffer.alloc(0), trailers: {}, closeDelimited: false };
  let pos = end + 4;
  const noBody = method === "HEAD" || (status >= 100 && status < 200) || status === 204 || status === 304 || (method === "CONNECT" && status >= 200 && status < 300);
  if (noBody) return { res, consumed: pos };
  const te = header(res, "transfer-encoding");
  if (te && /chunked\s*$/i.test(te)) {
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", pos);
      if (lineEnd < 0) return undefined;
      const sizeStr = buf.subarray(pos, lineEnd).toString("latin1").split(";")[0]!.trim();
      if (!/^[0-9a-fA-F]+$/.test(sizeStr)) throw new Error(`bad chunk size ${JSON.stringify(sizeStr)}`);
      const size = parseInt(sizeStr, 16);
      pos = lineEnd + 2;
      if (size === 0) {
        const tEnd = buf.indexOf("\r\n", pos);
        if (tEnd < 0) return undefined;
        if (tEnd === pos) {
          pos += 2;
        } else {
          const tEnd2 = buf.indexOf("\r\n\r\n", pos);
          if (tEnd2 < 0) return undefined;
          res.trailers = parseFields(buf.subarray(pos, tEnd2).toString("latin1").split("\r\n"));
          pos = tEnd2 + 4;
        }
        res.body = Buffer.concat(chunks);
        return { res, consumed: pos };
      }
      if (buf.length < pos + size + 2) return undefined;
      chunks.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
  const cl = header(res, "content-length");
  if (cl !== undefined) {
    const n = Number(cl);
    if (buf.length < pos + n) return undefined;
    res.body = buf.subarray(pos, pos + n);
    return { res, consumed: pos + n };
  }
  if (!eof) return undefined;
  res.body = buf.subarray(pos);
  res.closeDelimited = true;
  return { res, consumed: buf.length };
}

/** A client TCP connection that buffers everything it receives. */
export class RawConn {
  buf: Buffer = Buffer.alloc(0);
  ended = false;
  closed = false;
  error: Error | undefined;
  private waiters = new Set<() => void>();

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", (e) => {
      this.error = e;
      this.wake();
    });
  }

  static open(port: number, timeoutMs = 5000): Promise<RawConn> {
    return withTimeout(
      new Promise<RawConn>((res, rej) => {
        const s = net.connect({ port, host: HOST, allowHalfOpen: true });
        s.once("connect", () => {
          s.removeListener("error", rej);
          res(new RawConn(s));
        });
        s.once("error", rej);
      }),
      timeoutMs,
      `connect to ${HOST}:${port}`,
    );
  }

  private wake() {
    for (const w of this.waiters) w();
  }

  /** Resolves when `pred` is true, re-checked on every socket event. */
  async until<T>(pred: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    let wake!: () => void;
    try {
      return await withTimeout(
        new Promise<T>((res, rej) => {
          wake = () => {
            try {
              const v = pred();
              if (v !== undefined) res(v);
            } catch (e) {
              rej(e);
            }
          };
          this.waiters.add(wake);
          wake();
        }),
        timeoutMs,
        `${what} (received so far: ${JSON.stringify(this.buf.subarray(0, 600).toString("latin1"))}${this.buf.length > 600 ? "…" : ""}, ended=${this.ended}, error=${this.error?.message})`,
      );
    } finally {
      this.waiters.delete(wake);
    }
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Reads one response (skipping 1xx unless keepInformational) and removes it from the buffer. */
  async readResponse(opts: { method?: string; timeoutMs?: number; keepInformational?: boolean } = {}): Promise<RawResponse> {
    const method = opts.method ?? "GET";
    for (;;) {
      const r = await this.until(
        () => {
          const done = this.ended || this.closed || this.error !== undefined;
          const p = parseResponse(this.buf, method, done);
          if (p) return p;
          if (done && this.buf.length === 0) throw new Error(`connection closed before a response (error=${this.error?.message ?? "none"})`);
          if (done) throw new Error(`connection closed in the middle of a response: ${JSON.stringify(this.buf.subarray(0, 300).toString("latin1"))}`);
          return undefined;
        },
        opts.timeoutMs ?? 5000,
        "a response",
      );
      this.buf = this.buf.subarray(r.consumed);
      if (r.res.status >= 100 && r.res.status < 200 && r.res.status !== 101 && !opts.keepInformational) continue;
      return r.res;
    }
  }

  /** Waits until the peer closes (FIN or reset); returns how. */
  async waitClose(timeoutMs = 5000): Promise<"end" | "reset"> {
    return this.until(() => (this.error ? "reset" : this.ended || this.closed ? "end" : undefined), timeoutMs, "the connection to close");
  }

  /** Everything received until the peer closes. */
  async readAll(timeoutMs = 5000): Promise<Buffer> {
    await this.waitClose(timeoutMs);
    return this.buf;
  }

  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// node:http client helper

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  trailers: NodeJS.Dict<string>;
  reusedSocket: boolean;
}

export async function httpRequest(opts: {
  port: number;
  host?: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: http.Agent | false;
  timeoutMs?: number;
}): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 10000;
  return withTimeout(
    new Promise<HttpResult>((res, rej) => {
      const req = http.request(
        {
          host: HOST,
          port: opts.port,
          path: opts.path ?? "/",
          method: opts.method ?? "GET",
          headers: { host: opts.host ?? "web", ...opts.headers },
          agent: opts.agent ?? false,
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () => res({ status: r.statusCode!, headers: r.headers, body: Buffer.concat(chunks), trailers: r.trailers, reusedSocket: req.reusedSocket }));
          r.on("error", rej);
        },
      );
      req.on("error", rej);
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
      req.end(opts.body);
    }),
    timeoutMs + 1000,
    `${opts.method ?? "GET"} ${opts.host ?? "web"}${opts.path ?? "/"} via port ${opts.port}`,
  );
}

export function keepAliveAgent(maxSockets = 1): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets });
}

// ---------------------------------------------------------------------------------------------
// curl

export interface CurlResult {
  exitCode: number | null;
  status: number;
  /** every header block curl saw (1xx, CONNECT 200, final), in order */
  headerBlocks: Array<{ status: number; headers: Record<string, string[]> }>;
  headers: Record<string, string[]>;
  body: Buffer;
  stderr: string;
  elapsedMs: number;
}

let curlSeq = 0;

/** Runs curl with `args` (add the URL yourself); -sS and --max-time are added. */
export async function curl(args: string[], opts: { input?: Buffer; timeoutMs?: number } = {}): Promise<CurlResult> {
  const timeoutMs = opts.timeoutMs ?? 15000;
  const id = ++curlSeq;
  const hdr = tempPath(`curl-${process.pid}-${id}.headers`);
  const out = tempPath(`curl-${process.pid}-${id}.body`);
  const started = Date.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    const child = execFile(
      "curl",
      ["-sS", "--max-time", String(Math.ceil(timeoutMs / 1000)), "-D", hdr, "-o", out, "-w", "%{http_code}", ...args],
      { timeout: timeoutMs + 5000, maxBuffer: 1 << 20, encoding: "utf8" },
      (err, stdout, stderr) => {
        const c = err ? ((err as NodeJS.ErrnoException & { code?: unknown }).code as unknown) : 0;
        res({ code: typeof c === "number" ? c : err ? -1 : 0, stdout, stderr });
      },
    );
    if (opts.input) child.stdin!.end(opts.input);
    else child.stdin!.end();
    child.stdin!.on("error", () => undefined);
  });
  const read = (f: string) => {
    try {
      return readFileSync(f);
    } catch {
      return Buffer.alloc(0);
    }
  };
  const blocks: CurlResult["headerBlocks"] = [];
  for (const block of read(hdr).toString("latin1").split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/).filter(Boolean);
    if (!lines.length) continue;
    const m = /^HTTP\/[\d.]+ (\d{3})/.exec(lines[0]!);
    if (!m) continue;
    blocks.push({ status: Number(m[1]), headers: parseFields(lines.slice(1).filter((l) => l.includes(":"))) });
  }
  const body = read(out);
  rmSync(hdr, { force: true });
  rmSync(out, { force: true });
  return {
    exitCode: code,
    status: Number(stdout.trim().slice(-3)) || 0,
    headerBlocks: blocks,
    headers: blocks.at(-1)?.headers ?? {},
    body,
    stderr,
    elapsedMs: Date.now() - started,
  };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let lm: RegExpExecArray | null;
    while ((lm = re.exec(m[2] ?? ""))) labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, "$1");
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of every sample named `name` whose labels include `match`. */
export function sumMetric(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  let s = 0;
  for (const x of samples) {
    if (x.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => x.labels[k] === v)) s += x.value;
  }
  return s;
}

export async function scrape(p: ProxyProcess): Promise<Sample[]> {
  const r = await httpRequest({ port: p.admin, host: `127.0.0.1:${p.admin}`, path: "/metrics" });
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parseMetrics(r.body.toString("utf8"));
}

// ---------------------------------------------------------------------------------------------
// diagnostics

/** Wraps a test body so a failure message ends with the proxy's exit status and output tail. */
export function withDiagnostics(getProxy: () => ProxyProcess | undefined, fn: (t: TestContext) => Promise<void>): (t: TestContext) => Promise<void> {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const p = getProxy();
      if (p && e instanceof Error) e.message += p.diagnostics();
      throw e;
    }
  };
}

// ---------------------------------------------------------------------------------------------
// the common fixture

export interface WebFixture {
  /** The upstream behind service "web". */
  readonly up: Upstream;
  /** The proxy under test, routing hosts web and web.test to `up`. */
  readonly proxy: ProxyProcess;
  /** node:test's test(), with the proxy's diagnostics appended to failures. */
  test(name: string, fn: (t: TestContext) => Promise<void>): void;
}

/**
 * One upstream and a proxy in front of it, started before and stopped after the enclosing describe(). The config
 * defaults to service "web" (hosts web, web.test) routed to the upstream.
 */
export function webFixture(
  config: (up: Upstream) => unknown = (up) => makeConfig({ services: [{ name: "web", endpoints: [up.addr] }] }),
): WebFixture {
  let up: Upstream | undefined;
  let proxy: ProxyProcess | undefined;
  before(async () => {
    up = await startUpstream();
    proxy = await startProxy(config(up));
  });
  after(async () => {
    await proxy?.stop();
    await up?.close();
  });
  return {
    get up() {
      if (!up) throw new Error("webFixture: used outside a test");
      return up;
    },
    get proxy() {
      if (!proxy) throw new Error("webFixture: used outside a test");
      return proxy;
    },
    test: (name, fn) => void test(name, withDiagnostics(() => proxy, fn)),
  };
}

// ---------------------------------------------------------------------------------------------
// traffic-policy helpers: a scripted upstream, bulk traffic, metrics and admin reads

/** What a scripted upstream does with one request (every field optional: the default is 200 at once). */
export interface Behaviour {
  /** Response status; default 200. */
  status?: number;
  /** Wait this long (after the request body has been read, unless `early`) before the response head. */
  delayMs?: number;
  /** Never answer (the request is read, the connection stays open until the client closes it). */
  hang?: boolean;
  /** Act as soon as the request head arrives, without waiting for the request body to end. */
  early?: boolean;
  /** Answer only once this settles (then after delayMs): a gate the test opens when it is ready. */
  until?: Promise<unknown>;
  /** Destroy the connection (RST) instead of answering. */
  reset?: boolean;
  /**
   * A chunked response of `chunks` chunks, one every `intervalMs` (the first with the head); `stall`: after
   * the chunks, never end the response.
   */
  stream?: { chunks: number; intervalMs: number; stall?: boolean };
  /** Response body; default: JSON {port, seq, method, url, headers, bodyBytes, bodySha256}. */
  body?: string;
  headers?: Record<string, string>;
}

export interface ScriptedRequest {
  /** 1-based arrival order at this upstream. */
  seq: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** performance.now() when the request head arrived. */
  receivedAt: number;
  /** Request body bytes read so far, and its sha256 once it was read to the end. */
  bodyBytes: number;
  bodySha256?: string;
  /** The behaviour chosen for it. */
  behaviour: Behaviour;
  /** performance.now() when the response was finished. */
  answeredAt?: number;
  /** performance.now() when the connection closed before the response was finished (the client gave up). */
  abortedAt?: number;
}

export interface ScriptedUpstream {
  port: number;
  addr: string;
  /** Every request, in arrival order. */
  requests: ScriptedRequest[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Requests whose response is neither finished nor aborted. */
  readonly inFlight: number;
  /** Decides each request's behaviour; may be replaced at any time. */
  behave: (r: ScriptedRequest) => Behaviour;
  /** Requests whose URL path starts with `prefix`. */
  count(prefix?: string): number;
  close(): Promise<void>;
}

/**
 * A node:http upstream whose every response is decided by `behave` (replaceable as `up.behave`). Responses carry
 * `x-upstream: PORT` and `x-upstream-seq: SEQ`; it records when each request arrived, was answered, or was cut.
 */
export async function startScriptedUpstream(behave: (r: ScriptedRequest) => Behaviour = () => ({})): Promise<ScriptedUpstream> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    return t;
  };
  let self!: ScriptedUpstream;
  const server = http.createServer({ keepAliveTimeout: 30000 }, (req, res) => {
    const rec: ScriptedRequest = {
      seq: self.requests.length + 1,
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      receivedAt: performance.now(),
      bodyBytes: 0,
      behaviour: {},
    };
    self.requests.push(rec);
    let b: Behaviour;
    try {
      b = self.behave(rec);
    } catch (e) {
      b = { status: 500, body: `behave threw: ${String(e)}` };
    }
    rec.behaviour = b;
    res.on("close", () => {
      if (res.writableFinished) rec.answeredAt ??= performance.now();
      else rec.abortedAt ??= performance.now();
    });
    res.on("error", () => undefined);
    const h = createHash("sha256");
    req.on("data", (c: Buffer) => {
      rec.bodyBytes += c.length;
      h.update(c);
    });
    req.on("error", () => undefined);
    const headers = { "x-upstream": String(self.port), "x-upstream-seq": String(rec.seq), ...b.headers };
    const answer = () => {
      if (res.destroyed) return;
      if (b.stream) {
        const { chunks, intervalMs, stall } = b.stream;
        res.writeHead(b.status ?? 200, { ...headers, "content-type": "text/plain" });
        let sent = 0;
        const next = () => {
          if (res.destroyed) return;
          res.write(`chunk ${sent}\n`);
          if (++sent < chunks) later(intervalMs, next);
          else if (!stall) later(intervalMs, () => res.destroyed || res.end());
        };
        next();
        return;
      }
      const body =
        b.body ??
        JSON.stringify({ port: self.port, seq: rec.seq, method: rec.method, url: rec.url, headers: rec.headers, bodyBytes: rec.bodyBytes, bodySha256: rec.bodySha256 });
      res.writeHead(b.status ?? 200, { ...headers, "content-type": b.body === undefined ? "application/json" : "text/plain", "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
    const act = () => {
      if (b.reset) {
        const s = req.socket as net.Socket & { resetAndDestroy?: () => void };
        if (s.resetAndDestroy) s.resetAndDestroy();
        else s.destroy();
        return;
      }
      if (b.hang) return;
      const go = () => {
        if (b.delayMs) later(b.delayMs, answer);
        else answer();
      };
      if (b.until) b.until.then(go, go);
      else go();
    };
    req.on("end", () => {
      rec.bodySha256 = h.digest("hex");
      if (!b.early) act();
    });
    if (b.early) act();
  });
  server.on("connection", (s: net.Socket) => {
    self.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as net.AddressInfo).port;
  self = {
    port,
    addr: `${HOST}:${port}`,
    requests: [],
    connections: 0,
    get inFlight() {
      return this.requests.filter((r) => r.answeredAt === undefined && r.abortedAt === undefined).length;
    },
    behave,
    count(prefix = "/") {
      return this.requests.filter((r) => r.url.startsWith(prefix)).length;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return self;
}

/** A gate for Behaviour.until: `open()` lets every request waiting on it be answered. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** A behaviour that fails a random `fraction` of requests with `status` (else the default answer). */
export function failFraction(fraction: number, status = 503): () => Behaviour {
  return () => (Math.random() < fraction ? { status } : {});
}

/** A behaviour that does `first` on the first request for each URL and `rest` on later ones (a retry's view). */
export function firstTryOfEachUrl(first: Behaviour, rest: Behaviour = {}): (r: ScriptedRequest) => Behaviour {
  const seen = new Set<string>();
  return (r) => {
    if (seen.has(r.url)) return rest;
    seen.add(r.url);
    return first;
  };
}

export interface BulkResult {
  /** 0 when the request failed without a response. */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** performance.now() when the request was sent and when its response ended. */
  sentAt: number;
  doneAt: number;
  error?: string;
}

/**
 * Bulk traffic from the test process: `concurrency` workers, each on its own keep-alive connection, send
 * `total` requests (or keep sending until `durationMs` has passed). `path`/`headers` may depend on the index.
 */
export async function bulk(opts: {
  port: number;
  host?: string;
  total?: number;
  durationMs?: number;
  concurrency?: number;
  path?: string | ((i: number) => string);
  method?: string;
  headers?: Record<string, string> | ((i: number) => Record<string, string>);
  body?: string | Buffer;
  localAddress?: string;
  timeoutMs?: number;
}): Promise<BulkResult[]> {
  const concurrency = opts.concurrency ?? 4;
  const total = opts.total ?? Number.POSITIVE_INFINITY;
  if (total === Number.POSITIVE_INFINITY && opts.durationMs === undefined) throw new Error("bulk: give total or durationMs");
  const until = opts.durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + opts.durationMs;
  const timeoutMs = opts.timeoutMs ?? 10000;
  const out: BulkResult[] = [];
  let next = 0;
  const worker = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (;;) {
        const i = next++;
        if (i >= total || performance.now() >= until) return;
        const path = typeof opts.path === "function" ? opts.path(i) : (opts.path ?? `/bulk/${i}`);
        const headers = typeof opts.headers === "function" ? opts.headers(i) : (opts.headers ?? {});
        const sentAt = performance.now();
        const r = await new Promise<BulkResult>((res) => {
          const req = http.request(
            {
              host: HOST,
              port: opts.port,
              path,
              method: opts.method ?? "GET",
              headers: { host: opts.host ?? "web", ...headers },
              agent,
              ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
            },
            (resp) => {
              const chunks: Buffer[] = [];
              resp.on("data", (c: Buffer) => chunks.push(c));
              resp.on("end", () => res({ status: resp.statusCode!, headers: resp.headers, body: Buffer.concat(chunks), sentAt, doneAt: performance.now() }));
              resp.on("error", (e) => res({ status: 0, headers: {}, body: Buffer.alloc(0), sentAt, doneAt: performance.now(), error: e.message }));
            },
          );
          req.on("error", (e) => res({ status: 0, headers: {}, body: Buffer.alloc(0), sentAt, doneAt: performance.now(), error: e.message }));
          req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
          req.end(opts.body);
        });
        out.push(r);
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/** Counts of `key(x)` over `xs`, as a plain object. */
export function tally<T>(xs: readonly T[], key: (x: T) => string | number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) {
    const k = String(key(x));
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** One metric's sum over the samples whose labels include `match`, scraped now. */
export async function metricValue(p: ProxyProcess, name: string, match: Record<string, string> = {}): Promise<number> {
  return sumMetric(await scrape(p), name, match);
}

/** GET an admin path and parse the JSON answer (e.g. /config). */
export async function adminJson(p: ProxyProcess, path: string): Promise<any> {
  const r = await httpRequest({ port: p.admin, host: `127.0.0.1:${p.admin}`, path });
  if (r.status !== 200) throw new Error(`admin ${path} answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
  return JSON.parse(r.body.toString("utf8"));
}

/** A request through the proxy that records timing; the answer of httpRequest plus elapsed ms. */
export async function timedRequest(opts: Parameters<typeof httpRequest>[0]): Promise<HttpResult & { elapsedMs: number; sentAt: number }> {
  const sentAt = performance.now();
  const r = await httpRequest(opts);
  return { ...r, elapsedMs: performance.now() - sentAt, sentAt };
}
