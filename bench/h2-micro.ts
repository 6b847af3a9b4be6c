// Microbenchmark of the HTTP/2 engine (core/http2): a client-role and a server-role Http2Connection wired together
// in memory, running GET exchanges with h2load-like request fields and an nginx-like 5-byte response. Reports CPU
// µs per exchange (process.cpuUsage; one exchange = the client encodes a request, the server decodes and checks it,
// encodes the response, the client decodes and checks it; frames read and written on both sides. A proxied h2
// request does about one exchange's worth of engine work: the server side downstream, the client side upstream).
//
//   npx tsx bench/h2-micro.ts [--core DIR] [--n 50000] [--segments 5] [--warmup 30000] [--concurrency 32] [--json]
//   node_modules/.bin/bun bench/h2-micro.ts ...            node_modules/.bin/deno run -A bench/h2-micro.ts ...
//   node --expose-gc --min-semi-space-size=128 --max-semi-space-size=128 --import tsx bench/h2-micro.ts --alloc
//        (Node: bytes allocated per exchange, from heap growth over runs without a GC)
//   npx tsx bench/h2-micro.ts --alloc-profile FILE.heapprofile     (Node: where the allocations come from)
//
// --core points at a copy of core/ (default: this tree's), so two trees can be compared: see bench/h2-micro-ab.mjs.
// --grpc: a POST with a 12-byte body and a response with trailers (gRPC unary) instead of the GET.
// Requests are HPACK-encoded as meshlet encodes them (h2load's nghttp2 indexes the same fields). Responses are
// encoded as nginx does, every field a literal without indexing (names from the static table, values Huffman-coded
// when shorter), which is what meshlet's upstream side decodes in bench/h2.sh; --indexed-responses encodes them
// with meshlet's own policy instead (most fields indexed after the first response).

import process from "node:process";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

interface Args {
  core: string;
  n: number;
  segments: number;
  warmup: number;
  concurrency: number;
  json: boolean;
  alloc: boolean;
  grpc: boolean;
  allocProfile: string;
  indexedResponses: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    core: resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../core"),
    n: 50_000,
    segments: 5,
    warmup: 30_000,
    concurrency: 32,
    json: false,
    alloc: false,
    grpc: false,
    allocProfile: "",
    indexedResponses: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === "--core") a.core = resolve(v());
    else if (k === "--n") a.n = Number(v());
    else if (k === "--segments") a.segments = Number(v());
    else if (k === "--warmup") a.warmup = Number(v());
    else if (k === "--concurrency") a.concurrency = Number(v());
    else if (k === "--json") a.json = true;
    else if (k === "--alloc") a.alloc = true;
    else if (k === "--grpc") a.grpc = true;
    else if (k === "--alloc-profile") a.allocProfile = v();
    else if (k === "--indexed-responses") a.indexedResponses = true;
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const args = parseArgs(process.argv.slice(2));
if (process.env.H2_CORE) args.core = resolve(process.env.H2_CORE);

// Loaded from the chosen tree: only the public engine (connection.ts) is used.
const mod = await import(pathToFileURL(`${args.core}/http2/connection.ts`).href);
const Http2Connection = mod.Http2Connection as new (conn: unknown, opts: unknown, handlers: unknown) => any;

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

// ---- an in-memory Conn pair: a write is delivered to the peer in a microtask, batched per turn ------------------

class BenchConn {
  readonly local = { host: "127.0.0.1", port: 1 };
  readonly remote = { host: "127.0.0.1", port: 2 };
  peer!: BenchConn;
  private h: { data(c: Uint8Array): void; end(): void; close(err?: Error): void } | null = null;
  private inbox: Uint8Array[] = [];
  private scheduled = false;
  bytes = 0;
  writes = 0;
  setHandlers(h: BenchConn["h"]): void {
    this.h = h;
    if (this.inbox.length > 0) this.schedule();
  }
  write(chunk: Uint8Array): boolean {
    this.bytes += chunk.length;
    this.writes++;
    this.peer.inbox.push(chunk);
    this.peer.schedule();
    return true;
  }
  onDrain(_fn: (() => void) | null): void {}
  pause(): void {}
  resume(): void {}
  closeWrite(): void {}
  close(): void {}
  destroy(): void {}
  private schedule(): void {
    if (this.scheduled || this.h === null) return;
    this.scheduled = true;
    queueMicrotask(this.deliver);
  }
  private readonly deliver = (): void => {
    this.scheduled = false;
    const list = this.inbox;
    this.inbox = [];
    for (let i = 0; i < list.length; i++) this.h!.data(list[i]!);
  };
}

const clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer(ms: number, fn: () => void) {
    const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
    t.unref?.();
    return () => clearTimeout(t as unknown as number);
  },
};

// ---- the exchange ---------------------------------------------------------------------------------------------

const enc = new TextEncoder();
const BODY = enc.encode("hello");
// gRPC unary: the 5-byte message prefix + protobuf field 1 = "hello".
const GRPC_BODY = new Uint8Array([0, 0, 0, 0, 7, 0x0a, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]);

let dateSec = -1;
let dateStr = "";
function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== dateSec) {
    dateSec = sec;
    dateStr = new Date(now).toUTCString();
  }
  return dateStr;
}

const REQUEST_FIELDS = ["user-agent", "h2load nghttp2/1.52.0", "accept", "*/*"];
const GET_HEAD = { method: "GET", scheme: "http", authority: "127.0.0.1:8080", path: "/hello", headers: REQUEST_FIELDS };
const GRPC_HEAD = {
  method: "POST",
  scheme: "http",
  authority: "127.0.0.1:8080",
  path: "/grpc.testing.TestService/UnaryCall",
  headers: ["user-agent", "h2load nghttp2/1.52.0", "content-type", "application/grpc", "te", "trailers"],
};

const [cm, sm] = [new BenchConn(), new BenchConn()];
cm.peer = sm;
sm.peer = cm;

let failed: string | null = null;
const server = new Http2Connection(
  sm,
  { role: "server", clock },
  {
    stream(s: any, head: any) {
      if (head.method !== (args.grpc ? "POST" : "GET")) failed = `server got ${head.method}`;
      s.setHandlers({
        data() {},
        end() {
          if (args.grpc) {
            s.respond(200, ["content-type", "application/grpc", "date", httpDate(), "server", "nginx/1.22.1"], false);
            s.write(GRPC_BODY);
            s.end(["grpc-status", "0"]);
          } else {
            s.respond(200, ["content-type", "text/plain", "content-length", "5", "date", httpDate(), "server", "nginx/1.22.1"], false);
            s.write(BODY);
            s.end(null);
          }
        },
        reset(code: number) {
          failed = `server stream reset ${code}`;
        },
      });
    },
    close(err?: Error) {
      failed ??= `server closed ${err?.message}`;
    },
  },
);

if (!args.indexedResponses) {
  // nginx's encoder: no dynamic table (the engine's encoder is internal; its policy is swapped from outside).
  const enc = (server as { encoder?: { represent?: unknown } }).encoder;
  if (enc === undefined || !("represent" in enc)) throw new Error("cannot reach the server's HPACK encoder");
  enc.represent = () => "no-index";
}

let target = 0;
let started = 0;
let done = 0;
let received = 0;
let finish: (() => void) | null = null;

const clientHandlers = {
  head(h: { status: number }) {
    if (h.status !== 200) failed = `status ${h.status}`;
  },
  data(c: Uint8Array) {
    received += c.length;
  },
  end() {
    done++;
    if (started < target) issue();
    else if (done === target) finish?.();
  },
  reset(code: number) {
    failed = `client stream reset ${code}`;
    finish?.();
  },
};

const client = new Http2Connection(
  cm,
  { role: "client", clock },
  {
    close(err?: Error) {
      failed ??= `client closed ${err?.message}`;
    },
  },
);

function issue(): void {
  started++;
  if (args.grpc) {
    const s = client.request(GRPC_HEAD, false, clientHandlers);
    s.write(GRPC_BODY);
    s.end(null);
  } else client.request(GET_HEAD, true, clientHandlers);
}

/** Runs n exchanges with `concurrency` in flight. */
function run(n: number): Promise<void> {
  target += n;
  return new Promise<void>((res, rej) => {
    finish = () => {
      finish = null;
      if (failed !== null) rej(new Error(failed));
      else res();
    };
    const k = Math.min(args.concurrency, n);
    for (let i = 0; i < k; i++) issue();
  });
}

server.start();
client.start();
// Let SETTINGS and their ACKs cross.
for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 1));
if (!client.canOpenStream) throw new Error("client cannot open streams");

await run(args.warmup);
const bodyLen = args.grpc ? GRPC_BODY.length : BODY.length;
if (received !== args.warmup * bodyLen) throw new Error(`received ${received} body bytes for ${args.warmup} exchanges`);

const gc = (globalThis as { gc?: () => void }).gc;

if (args.allocProfile !== "") {
  // Node: where the allocations come from (the sampling heap profiler, collected objects included); the summary
  // goes to stdout, the .heapprofile to the file.
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  await run(args.n);
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as { profile: HeapNode & { head: HeapNode } };
  writeFileSync(args.allocProfile, JSON.stringify(profile));
  const self = new Map<string, number>();
  let total = 0;
  const walk = (nd: HeapNode, stack: string): void => {
    const f = nd.callFrame;
    const here = `${f.functionName || "(anon)"} ${f.url.replace(/^.*\/(core|bench)\//, "$1/")}:${f.lineNumber + 1}`;
    if (nd.selfSize > 0) {
      self.set(here, (self.get(here) ?? 0) + nd.selfSize);
      total += nd.selfSize;
    }
    for (const c of nd.children) walk(c, stack);
  };
  walk(profile.head, "");
  console.log(`sampled ${(total / args.n).toFixed(0)} bytes/exchange`);
  for (const [k, v] of [...self].sort((x, y) => y[1] - x[1]).slice(0, 40)) console.log(`${(v / args.n).toFixed(0).padStart(6)}  ${k}`);
} else if (args.alloc) {
  // Bytes allocated per exchange: heapUsed growth over a run short enough to fit in the young generation (start
  // Node with --expose-gc --max-semi-space-size=256); runs during which a GC happened are discarded.
  if (gc === undefined) throw new Error("--alloc needs --expose-gc");
  const { PerformanceObserver } = await import("node:perf_hooks");
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ["gc"] });
  const per: number[] = [];
  const n = Math.min(args.n, 5000);
  for (let i = 0; i < args.segments * 2 && per.length < args.segments; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
    const g0 = gcs;
    const before = process.memoryUsage().heapUsed;
    await run(n);
    const after = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 5));
    if (gcs === g0) per.push((after - before) / n);
  }
  obs.disconnect();
  per.sort((x, y) => x - y);
  const med = per[Math.floor(per.length / 2)] ?? Number.NaN;
  if (args.json) console.log(JSON.stringify({ core: args.core, bytesPerExchange: med, samples: per }));
  else console.log(`bytes/exchange: median ${med.toFixed(0)} over ${per.length} runs of ${n} [${per.map((x) => x.toFixed(0)).join(" ")}]`);
} else {
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < args.segments; i++) {
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    await run(args.n);
    const c1 = process.cpuUsage(c0);
    const w1 = performance.now();
    cpu.push((c1.user + c1.system) / args.n);
    wall.push(((w1 - w0) * 1000) / args.n);
  }
  const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const out = {
    core: args.core,
    runtime: typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "node",
    cpuUs: med(cpu),
    wallUs: med(wall),
    cpuSegments: cpu,
    bytesPerExchange: (cm.bytes + sm.bytes) / (target + 0),
    writesPerExchange: (cm.writes + sm.writes) / target,
  };
  if (args.json) console.log(JSON.stringify(out));
  else {
    console.log(
      `${out.runtime} ${args.grpc ? "grpc" : "get"} cpu µs/exchange: median ${out.cpuUs.toFixed(2)} [${cpu.map((x) => x.toFixed(2)).join(" ")}]` +
        ` wall ${out.wallUs.toFixed(2)}; ${out.bytesPerExchange.toFixed(0)} wire bytes, ${out.writesPerExchange.toFixed(2)} writes per exchange`,
    );
  }
}
if (failed !== null) throw new Error(failed);
client.destroy();
server.destroy();
