// `meshlet demo` (what `npm start` runs): example upstream services behind the proxy, with a bundled config. The
// api service sits behind its own in-process sidecar, reached over mTLS: the demo proxy's key is generated in
// memory and certified by a demo CA (its files in a temp directory), the sidecar lets only the demo namespace in.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../core/config/parse.ts";
import type { Addr, Runtime } from "../../core/ports.ts";
import { createProxy } from "../../core/proxy/proxy.ts";
import { endpointKey } from "../../core/proxy/routes.ts";
import { MetricsStore } from "../../core/telemetry/metrics.ts";
import { LocalCa } from "./certs.ts";
import type { Platform } from "./cli.ts";
import { runProxy } from "./run-proxy.ts";

const TRUST_DOMAIN = "demo.local";
const DEMO_ID = `spiffe://${TRUST_DOMAIN}/ns/demo/sa/client`;
const API_ID = `spiffe://${TRUST_DOMAIN}/ns/demo/sa/api`;

/** The bundled config; the example services' endpoints are filled in once they listen. */
export const DEMO_CONFIG = {
  admin: { port: 4191 },
  outbound: { port: 4140 },
  services: [
    { name: "web", hostnames: ["web", "web.demo.svc.cluster.local"], endpoints: [] as string[] },
    { name: "web-v2", hostnames: ["web-v2"], endpoints: [] as string[] },
    { name: "api", hostnames: ["api", "api.demo.svc.cluster.local"], endpoints: [] as string[] },
  ],
  routes: [
    {
      name: "web",
      parentRefs: [{ name: "web" }],
      rules: [
        { matches: [{ headers: [{ name: "x-canary", value: "1" }] }], backendRefs: [{ name: "web-v2" }] },
        { matches: [{ path: { type: "PathPrefix", value: "/limited" } }], rateLimit: { requestsPerSecond: 1, burst: 2 } },
        {
          backendRefs: [{ name: "web", weight: 90 }, { name: "web-v2", weight: 10 }],
          retry: { attempts: 2 },
          timeouts: { request: "5s" },
        },
      ],
    },
  ],
  accessLog: { enabled: true },
};

/** The api service's sidecar: an inbound-only proxy in this process, with a certificate for API_ID. */
async function startApiSidecar(rt: Runtime, ca: LocalCa, app: string): Promise<Addr> {
  const parsed = parseConfig({
    admin: { port: 0 },
    outbound: { port: 0 },
    inbound: {
      host: "127.0.0.1", port: 0, app,
      authorization: { default: "deny", rules: [{ name: "demo-namespace", identities: [`spiffe://${TRUST_DOMAIN}/ns/demo/*`] }] },
    },
    accessLog: false,
  });
  if (!parsed.ok) throw new Error(`demo sidecar config is invalid: ${JSON.stringify(parsed.errors)}`);
  const sidecar = createProxy(rt, parsed.config, { metrics: new MetricsStore(), log: () => {} });
  const issued = await ca.issueFor(API_ID);
  sidecar.setCredentials({
    id: API_ID, certChainPem: issued.certPem, keyPem: issued.keyPem, trustAnchorsPem: ca.rootPem,
    notBefore: issued.notBefore, notAfter: issued.notAfter,
  });
  return (await sidecar.start()).inbound!;
}

export async function runDemo(rt: Runtime, p: Platform): Promise<void> {
  const cfg: typeof DEMO_CONFIG & { identity?: unknown } = structuredClone(DEMO_CONFIG);
  const ca = await LocalCa.create({ trustDomain: TRUST_DOMAIN, extractable: true });
  const dir = mkdtempSync(join(tmpdir(), "meshlet-demo-"));
  const caCert = join(dir, "ca.pem");
  const caKey = join(dir, "ca.key");
  writeFileSync(caCert, ca.rootPem);
  writeFileSync(caKey, await ca.rootKeyPem(), { mode: 0o600 });
  cfg.identity = { id: DEMO_ID, trustAnchorsFile: caCert, issuer: { certFile: caCert, keyFile: caKey, lifetime: "1h" } };
  const upstreams: Record<string, number> = { web: 2, "web-v2": 1, api: 1 };
  for (const svc of cfg.services) {
    for (let i = 0; i < upstreams[svc.name]!; i++) {
      const instance = `${svc.name}-${i + 1}`;
      const l = await rt.http.serve({ host: "127.0.0.1", port: 0 }, async (req) => {
        const url = new URL(req.url);
        const body = req.body ? (await req.arrayBuffer()).byteLength : 0;
        const clientId = req.headers.get("x-meshlet-client-id") ?? undefined;
        return Response.json(
          { service: svc.name, instance, method: req.method, path: url.pathname, request_body_bytes: body, client_id: clientId },
          { headers: { "x-demo-instance": instance } },
        );
      });
      svc.endpoints.push(endpointKey(l.local));
    }
  }
  const api = cfg.services.find((s) => s.name === "api")!;
  const sidecar = await startApiSidecar(rt, ca, api.endpoints[0] as string);
  (api as { endpoints: unknown[] }).endpoints = [{ host: sidecar.host, port: sidecar.port, identity: API_ID }];
  const parsed = parseConfig(cfg);
  if (!parsed.ok) throw new Error(`bundled demo config is invalid: ${JSON.stringify(parsed.errors)}`);
  await runProxy(rt, p, {
    config: parsed.config,
    onReady(listeners) {
      const out = listeners.outbound;
      const admin = listeners.admin;
      rt.stderr(`
meshlet demo is running: services web (2 endpoints), web-v2 and api (1 endpoint each) behind the outbound
proxy. Requests for web are split 90/10 between web and web-v2 (the canary), retried on failure, and balanced
by PeakEWMA P2C. api sits behind its own sidecar and is reached over mTLS: this proxy is ${DEMO_ID}
(a key generated in memory, certified by a demo CA in ${dir}).

Try:
  curl -s http://${out}/hello -H 'Host: web'            # web-1 or web-2, now and then web-v2-1
  curl -s http://${out}/hello -H 'Host: web' -H 'x-canary: 1'   # always the canary
  for i in 1 2 3; do curl -si http://${out}/limited -H 'Host: web' | head -1; done   # 429 after a burst of 2
  curl -s http://${out}/users -H 'Host: api'            # over mTLS: "client_id" is this proxy's verified identity
  curl -s http://${admin}/metrics | grep 'server_id='     # responses labelled tls="true" with api's identity
  curl -s -x http://${out} http://web/absolute-form      # the proxy as an HTTP proxy
  curl -s http://${out}/ -H 'Host: nowhere'              # 404 with x-meshlet-error: no-route
  curl -s http://${admin}/metrics | grep request_total    # Prometheus metrics
  curl -s http://${admin}/config                          # the effective config
  curl -s -X POST http://${admin}/shutdown                # graceful shutdown

Admin: http://${admin}/   Access log: JSON lines on stdout.   Ctrl-C stops the demo.
`);
    },
  });
}
