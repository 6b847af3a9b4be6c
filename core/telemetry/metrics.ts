// MetricsStore: plain numeric counters behind the ProxyMetrics contract.
//
// Hot path: the engine asks tcp()/http() once per connection/route and caches the returned object; every
// event after that is a field increment (plus, for a response, one small Map lookup by status code and a
// short bucket scan). Nothing is allocated per event once a (label set, status) has been seen.
// Exporters call snapshot() at scrape time, which walks the tables and builds label objects.

import type {
  Classification,
  Direction,
  HistogramSample,
  HttpMetrics,
  MetricFamily,
  MetricsSource,
  ProxyMetrics,
  ScalarSample,
  TcpMetrics,
} from "./types.ts";

/**
 * Linkerd's `response_latency_ms` bucket bounds (ms, inclusive), as in linkerd2-proxy
 * `linkerd/metrics/src/latency.rs` (the long-standing set; recent linkerd2-proxy trimmed it to
 * LINKERD_COMPACT_LATENCY_BOUNDS_MS below). A final +Inf bucket is implied.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 10_000,
  20_000, 30_000, 40_000, 50_000,
]);

/** The trimmed set used by recent linkerd2-proxy releases; pass it as `latencyBoundsMs` to match them. */
export const LINKERD_COMPACT_LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 10, 50, 100, 200, 300, 400, 500, 1_000, 5_000, 10_000,
]);

/** Label value that replaces an authority/target once a direction has reached its cardinality cap. */
export const OVERFLOW_LABEL = "overflow";

export const DEFAULT_MAX_LABEL_VALUES = 1000;

/** Metric names (Linkerd's). */
export const METRIC = {
  requestTotal: "request_total",
  responseTotal: "response_total",
  responseLatencyMs: "response_latency_ms",
  tcpOpenTotal: "tcp_open_total",
  tcpCloseTotal: "tcp_close_total",
  tcpOpenConnections: "tcp_open_connections",
  tcpReadBytesTotal: "tcp_read_bytes_total",
  tcpWriteBytesTotal: "tcp_write_bytes_total",
} as const;

/** Linkerd's default response classification: a response is a failure when its status is 5xx. */
export function classifyStatus(status: number): Classification {
  return status >= 500 ? "failure" : "success";
}

export class TcpCounters implements TcpMetrics {
  openTotal = 0;
  closeTotal = 0;
  readBytes = 0;
  writeBytes = 0;
  constructor(
    readonly direction: Direction,
    readonly peer: "src" | "dst",
    readonly target: string,
  ) {}
  opened(): void {
    this.openTotal++;
  }
  closed(): void {
    this.closeTotal++;
  }
  read(bytes: number): void {
    this.readBytes += bytes;
  }
  written(bytes: number): void {
    this.writeBytes += bytes;
  }
}

/** Responses of one status code under one (direction, authority). */
export class StatusCounters {
  success = 0;
  failure = 0;
  latencySum = 0;
  /** Non-cumulative bucket counts: one per bound, plus a last one for +Inf. */
  readonly buckets: number[];
  constructor(bucketCount: number) {
    this.buckets = new Array<number>(bucketCount).fill(0);
  }
}

export class HttpCounters implements HttpMetrics {
  requests = 0;
  /** Keyed by status code (100..999; anything else is recorded as 0). */
  readonly byStatus = new Map<number, StatusCounters>();
  // Most responses repeat the previous status: skip the Map lookup then.
  private lastCode = -1;
  private lastStatus: StatusCounters | undefined;
  constructor(
    readonly direction: Direction,
    readonly authority: string,
    private readonly bounds: readonly number[],
  ) {}
  request(): void {
    this.requests++;
  }
  response(status: number, classification: Classification, latencyMs: number): void {
    const code = status >= 100 && status <= 999 ? status | 0 : 0;
    let s = code === this.lastCode ? this.lastStatus : this.byStatus.get(code);
    if (s === undefined) {
      s = new StatusCounters(this.bounds.length + 1);
      this.byStatus.set(code, s);
    }
    this.lastCode = code;
    this.lastStatus = s;
    if (classification === "failure") s.failure++;
    else s.success++;
    const v = latencyMs >= 0 ? latencyMs : 0; // also maps NaN to 0
    // Binary search for the first bound >= v (bounds.length means +Inf).
    const bounds = this.bounds;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v > bounds[mid]!) lo = mid + 1;
      else hi = mid;
    }
    s.buckets[lo]!++;
    s.latencySum += v;
  }
}

/** A label-value -> counters table with a cap; values past the cap share one overflow entry. */
class BoundedTable<T> {
  readonly map = new Map<string, T>();
  overflow: T | undefined;
  constructor(
    private readonly max: number,
    private readonly create: (label: string) => T,
  ) {}
  get(label: string): T {
    const hit = this.map.get(label);
    if (hit !== undefined) return hit;
    if (this.map.size < this.max) {
      const made = this.create(label);
      this.map.set(label, made);
      return made;
    }
    return (this.overflow ??= this.create(OVERFLOW_LABEL));
  }
  *entries(): IterableIterator<T> {
    yield* this.map.values();
    if (this.overflow !== undefined) yield this.overflow;
  }
}

export interface MetricsStoreOptions {
  /** Distinct authorities per direction (HTTP) and targets per direction and peer (TCP); default 1000. */
  maxLabelValues?: number;
  /** Latency histogram bounds in ms, ascending; default LATENCY_BOUNDS_MS. */
  latencyBoundsMs?: readonly number[];
}

const DIRECTIONS: readonly Direction[] = ["inbound", "outbound"];

export class MetricsStore implements ProxyMetrics, MetricsSource {
  readonly latencyBoundsMs: readonly number[];
  private readonly httpTables: Record<Direction, BoundedTable<HttpCounters>>;
  private readonly tcpTables: Record<Direction, Record<"src" | "dst", BoundedTable<TcpCounters>>>;

  constructor(opts: MetricsStoreOptions = {}) {
    const max = opts.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES;
    const bounds = Object.freeze([...(opts.latencyBoundsMs ?? LATENCY_BOUNDS_MS)]);
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError("latencyBoundsMs must be strictly ascending");
    }
    this.latencyBoundsMs = bounds;
    // The hot path reads a private plain copy: element reads on frozen arrays are slow on JavaScriptCore.
    const scan = [...bounds];
    const http = (d: Direction) => new BoundedTable(max, (a) => new HttpCounters(d, a, scan));
    const tcp = (d: Direction, p: "src" | "dst") => new BoundedTable(max, (t) => new TcpCounters(d, p, t));
    this.httpTables = { inbound: http("inbound"), outbound: http("outbound") };
    this.tcpTables = {
      inbound: { src: tcp("inbound", "src"), dst: tcp("inbound", "dst") },
      outbound: { src: tcp("outbound", "src"), dst: tcp("outbound", "dst") },
    };
  }

  tcp(direction: Direction, peer: "src" | "dst", target: string): TcpCounters {
    return this.tcpTables[direction][peer].get(target);
  }

  http(direction: Direction, authority: string): HttpCounters {
    return this.httpTables[direction].get(authority);
  }

  snapshot(): MetricFamily[] {
    const requests: ScalarSample[] = [];
    const responses: ScalarSample[] = [];
    const latency: HistogramSample[] = [];
    for (const d of DIRECTIONS) {
      for (const h of this.httpTables[d].entries()) {
        requests.push({ labels: { direction: d, authority: h.authority }, value: h.requests });
        for (const [code, s] of h.byStatus) {
          const status_code = String(code);
          if (s.success > 0) {
            responses.push({
              labels: { direction: d, authority: h.authority, status_code, classification: "success" },
              value: s.success,
            });
          }
          if (s.failure > 0) {
            responses.push({
              labels: { direction: d, authority: h.authority, status_code, classification: "failure" },
              value: s.failure,
            });
          }
          const cumulative = new Array<number>(this.latencyBoundsMs.length);
          let acc = 0;
          for (let i = 0; i < cumulative.length; i++) cumulative[i] = acc += s.buckets[i]!;
          latency.push({
            labels: { direction: d, authority: h.authority, status_code },
            cumulative,
            count: s.success + s.failure,
            sum: s.latencySum,
          });
        }
      }
    }

    const open: ScalarSample[] = [];
    const close: ScalarSample[] = [];
    const conns: ScalarSample[] = [];
    const read: ScalarSample[] = [];
    const write: ScalarSample[] = [];
    for (const d of DIRECTIONS) {
      for (const peer of ["src", "dst"] as const) {
        for (const t of this.tcpTables[d][peer].entries()) {
          const labels = { direction: d, peer, target_addr: t.target };
          open.push({ labels, value: t.openTotal });
          close.push({ labels, value: t.closeTotal });
          conns.push({ labels, value: t.openTotal - t.closeTotal });
          read.push({ labels, value: t.readBytes });
          write.push({ labels, value: t.writeBytes });
        }
      }
    }

    return [
      { name: METRIC.requestTotal, help: "Total count of HTTP requests.", type: "counter", samples: requests },
      { name: METRIC.responseTotal, help: "Total count of HTTP responses.", type: "counter", samples: responses },
      {
        name: METRIC.responseLatencyMs,
        help: "Elapsed times between a request's headers being received and its response's headers being sent, in milliseconds.",
        type: "histogram",
        bounds: this.latencyBoundsMs,
        samples: latency,
      },
      { name: METRIC.tcpOpenTotal, help: "Total count of opened connections.", type: "counter", samples: open },
      { name: METRIC.tcpCloseTotal, help: "Total count of closed connections.", type: "counter", samples: close },
      { name: METRIC.tcpOpenConnections, help: "Number of currently-open connections.", type: "gauge", samples: conns },
      { name: METRIC.tcpReadBytesTotal, help: "Total count of bytes read from peers.", type: "counter", samples: read },
      { name: METRIC.tcpWriteBytesTotal, help: "Total count of bytes written to peers.", type: "counter", samples: write },
    ];
  }
}
