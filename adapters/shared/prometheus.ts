// Prometheus exposition of the MetricsStore through prom-client.
//
// The proxy's counters live in the store as plain numbers; nothing is pushed into prom-client on the hot
// path. Each metric family is a small object registered on a prom-client Registry that implements the
// registry's read side (`get()` returning name/help/type/values, the same shape prom-client's own
// Counter/Gauge/Histogram return), filled from one store snapshot per scrape. prom-client does the text
// formatting and escaping, and its default runtime metrics (process_*, nodejs_*) sit in the same registry.

import type { Metric } from "prom-client";
import type { HistogramFamily, MetricFamily, MetricLabels, MetricsSource } from "../../core/telemetry/types.ts";

export interface MetricsRegistryOptions {
  /**
   * Add prom-client's default metrics (process_cpu_*, process_resident_memory_bytes, nodejs_eventloop_lag_*,
   * nodejs_heap_* ...). Default true. They load and render on Node, Bun and Deno; on Bun the V8 heap-space
   * gauges read 0 (JavaScriptCore has no such spaces).
   */
  processMetrics?: boolean;
}

export interface MetricsRegistry {
  readonly contentType: string;
  render(): Promise<string>;
  /** The underlying prom-client registry, for adding more metrics. */
  readonly registry: import("prom-client").Registry;
}

interface PromValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

/** One store family, presented to prom-client as a metric. */
class StoreFamilyMetric {
  readonly aggregator = "sum";
  current: MetricFamily | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricFamily["type"],
  ) {}

  get(): { name: string; help: string; type: string; values: PromValue[]; aggregator: string } {
    const f = this.current;
    const values: PromValue[] = f === undefined ? [] : f.type === "histogram" ? histogramValues(f) : scalarValues(f);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    // Values live in the store; there is nothing to reset here.
  }
}

function scalarValues(f: Exclude<MetricFamily, HistogramFamily>): PromValue[] {
  return f.samples.map((s) => ({ labels: s.labels as Record<string, string>, value: s.value }));
}

function histogramValues(f: HistogramFamily): PromValue[] {
  const les = f.bounds.map(String);
  const bucket = `${f.name}_bucket`;
  const out: PromValue[] = [];
  for (const s of f.samples) {
    const labels: MetricLabels = s.labels;
    for (let i = 0; i < les.length; i++) {
      out.push({ metricName: bucket, labels: { ...labels, le: les[i]! }, value: s.cumulative[i]! });
    }
    out.push({ metricName: bucket, labels: { ...labels, le: "+Inf" }, value: s.count });
    out.push({ metricName: `${f.name}_sum`, labels: { ...labels }, value: s.sum });
    out.push({ metricName: `${f.name}_count`, labels: { ...labels }, value: s.count });
  }
  return out;
}

/** Async because prom-client is imported on first use: it costs a Node process about 12 MiB at startup. */
export async function createMetricsRegistry(store: MetricsSource, opts: MetricsRegistryOptions = {}): Promise<MetricsRegistry> {
  const { Registry, collectDefaultMetrics } = await import("prom-client");
  const registry = new Registry();
  const families = new Map<string, StoreFamilyMetric>();
  for (const f of store.snapshot()) {
    const m = new StoreFamilyMetric(f.name, f.help, f.type);
    families.set(f.name, m);
    registry.registerMetric(m as unknown as Metric);
  }
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  return {
    contentType: registry.contentType,
    registry,
    render(): Promise<string> {
      // Fill every family from one snapshot, then let prom-client format. registry.metrics() calls each
      // metric's get() synchronously before its first await, so concurrent renders cannot interleave here.
      for (const f of store.snapshot()) {
        const m = families.get(f.name);
        if (m !== undefined) m.current = f;
      }
      return registry.metrics();
    },
  };
}
