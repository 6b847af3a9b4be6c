// The admin server as a hono app: a fetch handler only. Each runtime serves it through Runtime.http.serve,
// which calls `app.fetch(request, info)`; hono hands that second argument to handlers as `c.env`, which is
// how /shutdown learns the peer address.

import { Hono } from "hono/tiny"; // the small router: the admin app has five fixed routes, and it saves ~4 MiB
import type { FetchInfo } from "../ports.ts";

export interface AdminDeps {
  /** True once the listeners are up and a config is loaded. */
  isReady(): boolean;
  /** Prometheus exposition text and its content type. */
  renderMetrics(): Promise<{ contentType: string; body: string }>;
  /** The effective config, JSON-serialisable (secrets already redacted by the caller). */
  effectiveConfig(): unknown;
  /** Starts a graceful drain. Must return promptly and must not abort the in-flight admin response. */
  shutdown(): void;
  /** Whether a peer host may ask for /shutdown (normally isLoopbackAddress). */
  isLoopback(remoteHost: string): boolean;
  /** Told about a handler that threw (the client gets a plain 500). */
  onError?(err: unknown): void;
}

export type AdminEnv = { Bindings: FetchInfo };
export type AdminApp = Hono<AdminEnv>;

const TEXT = "text/plain; charset=utf-8";

/** Routes and the methods they accept; anything else on a known path is 405 with an Allow header. */
const ALLOWED: Readonly<Record<string, string>> = {
  "/live": "GET, HEAD",
  "/ready": "GET, HEAD",
  "/metrics": "GET, HEAD",
  "/config": "GET, HEAD",
  "/shutdown": "POST",
};

function text(status: number, body: string, headers?: Record<string, string>): Response {
  return new Response(body, { status, headers: { "content-type": TEXT, ...headers } });
}

export function createAdminApp(deps: AdminDeps): AdminApp {
  const app = new Hono<AdminEnv>();

  app.get("/live", () => text(200, "live"));

  app.get("/ready", () => (deps.isReady() ? text(200, "ready") : text(503, "not ready")));

  app.get("/metrics", async () => {
    const { contentType, body } = await deps.renderMetrics();
    return new Response(body, { status: 200, headers: { "content-type": contentType } });
  });

  app.get("/config", () => {
    const body = JSON.stringify(deps.effectiveConfig() ?? null, null, 2) + "\n";
    return new Response(body, { status: 200, headers: { "content-type": "application/json; charset=utf-8" } });
  });

  app.post("/shutdown", (c) => {
    // c.env is whatever the server passed as fetch's second argument; fail closed when it is missing.
    const host = (c.env as Partial<FetchInfo> | undefined)?.remote?.host;
    if (typeof host !== "string" || !deps.isLoopback(host)) return text(403, "forbidden");
    deps.shutdown();
    return text(200, "shutting down");
  });

  for (const [path, allow] of Object.entries(ALLOWED)) {
    app.all(path, () => text(405, "method not allowed", { allow }));
  }

  app.notFound(() => text(404, "not found"));
  app.onError((err) => {
    deps.onError?.(err);
    return text(500, "internal error");
  });

  return app;
}
