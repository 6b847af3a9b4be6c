// `meshlet proxy -c FILE`: load and validate the config, start the proxy and the admin server, watch the file,
// drain on SIGTERM/SIGINT or POST /shutdown.

import { createAdminApp } from "../../core/admin/app.ts";
import { isLoopbackAddress } from "../../core/admin/loopback.ts";
import type { MeshletConfig } from "../../core/config/types.ts";
import { formatConfigIssues } from "../../core/config/parse.ts";
import type { Addr, Runtime } from "../../core/ports.ts";
import { createProxy, type LogFn } from "../../core/proxy/proxy.ts";
import { endpointKey } from "../../core/proxy/routes.ts";
import { formatAccessLog } from "../../core/telemetry/access-log.ts";
import { MetricsStore } from "../../core/telemetry/metrics.ts";
import type { Platform } from "./cli.ts";
import { loadConfigFile, watchConfigFile } from "./config-file.ts";
import { createMetricsRegistry } from "./prometheus.ts";
import { startIdentitySource, type IdentitySource } from "./identity-source.ts";
import type { CertificateIssuer } from "../../core/identity/issuer.ts";
import { dirname, resolve } from "node:path";

export interface RunProxyOptions {
  file?: string;
  /** A config given directly (the demo); `file` is then only watched if set. */
  config?: MeshletConfig;
  /** Overrides accessLog.enabled from the file. */
  accessLog?: boolean;
  /** Called with the bound addresses once everything listens. */
  onReady?(listeners: Record<string, string>): void;
  /** Embedding programs: certify the proxy's generated key with this issuer (instead of the identity files). */
  issuer?: CertificateIssuer;
}

export function makeLogger(rt: Runtime): LogFn {
  return (level, msg, fields) => {
    rt.stderr(JSON.stringify({ time: new Date(rt.clock.wallNow()).toISOString(), level, msg, ...fields }));
  };
}

export async function runProxy(rt: Runtime, p: Platform, opts: RunProxyOptions): Promise<void> {
  const log = makeLogger(rt);
  let config: MeshletConfig;
  let initialText: string | undefined;
  if (opts.config) config = opts.config;
  else {
    const loaded = await loadConfigFile(opts.file!);
    if (!loaded.ok) {
      rt.stderr(formatConfigIssues(loaded.errors, opts.file));
      return p.exit(loaded.reason === "unreadable" ? 2 : 1);
    }
    config = loaded.config;
    initialText = loaded.text;
  }
  const withOverrides = (c: MeshletConfig): MeshletConfig =>
    opts.accessLog === undefined ? c : { ...c, accessLog: { ...c.accessLog, enabled: opts.accessLog } };
  config = withOverrides(config);

  const store = new MetricsStore();
  let registry: ReturnType<typeof createMetricsRegistry> | undefined; // created on the first scrape
  const proxy = createProxy(rt, config, {
    metrics: store,
    log,
    accessLog: (rec) => rt.stdout(formatAccessLog(rec)),
  });

  // The identity comes before the listeners: the inbound port must be able to terminate mTLS from the start.
  let identity: IdentitySource | undefined;
  if (config.identity !== undefined) {
    try {
      identity = await startIdentitySource({
        config: config.identity,
        baseDir: opts.file !== undefined ? dirname(resolve(opts.file)) : resolve("."),
        clock: rt.clock,
        log,
        ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
        onCredentials: (c) => {
          proxy.setCredentials(c);
          store.setCertExpiration(Math.floor(c.notAfter / 1000));
          log("info", "identity certificate installed", { id: c.id, not_after: new Date(c.notAfter).toISOString() });
        },
      });
    } catch (err) {
      log("error", "cannot start: no identity certificate", { error: err instanceof Error ? err.message : String(err) });
      return p.exit(1);
    }
  }

  let ready = false;
  let stopping = false;
  let admin: { close(): Promise<void> } | undefined;
  let watcher: { close(): void } | undefined;
  const shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    log("info", "draining", { reason: why, open_connections: proxy.openConnections, grace_ms: proxy.config.shutdownGraceMs });
    watcher?.close();
    identity?.close();
    void proxy.shutdown().then(async () => {
      await admin?.close();
      log("info", "stopped");
      p.exit(0);
    });
  };

  let bound: Record<string, Addr>;
  try {
    bound = await proxy.start();
    const app = createAdminApp({
      isReady: () => ready,
      renderMetrics: async () => {
        const r = await (registry ??= createMetricsRegistry(store));
        return { contentType: r.contentType, body: await r.render() };
      },
      effectiveConfig: () => proxy.config,
      shutdown: () => shutdown("admin /shutdown"),
      isLoopback: isLoopbackAddress,
      onError: (err) => log("error", "admin handler failed", { error: String(err) }),
    });
    const adminListener = await rt.http.serve({ host: config.admin.host, port: config.admin.port }, (req, info) => app.fetch(req, info));
    admin = adminListener;
    bound.admin = adminListener.local;
  } catch (err) {
    log("error", "cannot start: a listener could not be bound", { error: err instanceof Error ? err.message : String(err) });
    return p.exit(1);
  }

  p.onSignal("SIGTERM", () => shutdown("SIGTERM"));
  p.onSignal("SIGINT", () => shutdown("SIGINT"));

  if (opts.file) {
    watcher = watchConfigFile(
      opts.file,
      (next) => {
        if (JSON.stringify(next.identity) !== JSON.stringify(proxy.config.identity)) {
          log("warn", "identity settings changed in the config; they apply on restart (certificate files are watched on their own)");
        }
        proxy.update(withOverrides(next));
        log("info", "config reloaded", { file: opts.file, services: next.services.length });
      },
      (issues) => log("warn", "config change rejected; keeping the last good config", {
        file: opts.file,
        errors: issues.map((i) => `${i.path || "(file)"}: ${i.message}`),
      }),
      { initialText, persistent: false, log: (line) => log("warn", line) },
    );
  }

  ready = true;
  const listeners: Record<string, string> = {};
  for (const [k, a] of Object.entries(bound)) listeners[k] = endpointKey(a);
  rt.stdout(JSON.stringify({ msg: "ready", listeners }));
  opts.onReady?.(listeners);
}
