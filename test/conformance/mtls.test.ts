// Mesh mTLS: two meshlet proxies (the client side on this suite's runtime, the server side on another runtime)
// speak mTLS with SPIFFE identities; the app learns the client's identity; the inbound port's authorization
// policy allows and denies HTTP, gRPC and TCP clients; openssl s_client plays outside clients; certificates
// rotate under load without a failed request.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { writeFileSync, renameSync } from "node:fs";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { LocalCa } from "../../adapters/shared/certs.ts";
import { runClient, startGrpcServer, type GrpcServer } from "./grpc-peers.ts";
import * as h from "./harness.ts";

const TD = "mesh.test";
const ID = {
  client: `spiffe://${TD}/ns/web/sa/client`,
  server: `spiffe://${TD}/ns/api/sa/server`,
  ops: `spiffe://${TD}/ns/ops/sa/admin`,
  other: `spiffe://${TD}/ns/other/sa/intruder`,
};

/** The server side runs on another runtime than the client side, so every pair of runtimes meets. */
const PEER: Record<h.RuntimeName, h.RuntimeName> = { node: "bun", bun: "deno", deno: "node", "bun-binary": "node" };

let seq = 0;
interface IdentityFiles {
  id: string;
  trustAnchorsFile: string;
  certFile: string;
  keyFile: string;
}

/** Issues a certificate for `id` and writes it with its key (rename-over, as cert agents do). */
async function writeIdentity(ca: LocalCa, anchors: string, id: string, into?: IdentityFiles, validity: { notBefore?: number; notAfter?: number } = {}): Promise<IdentityFiles> {
  const issued = await ca.issueFor(id, validity);
  const files = into ?? { id, trustAnchorsFile: anchors, certFile: h.tempPath(`id-${++seq}.crt`), keyFile: h.tempPath(`id-${seq}.key`) };
  for (const [path, text] of [[files.keyFile, issued.keyPem], [files.certFile, issued.certPem]] as const) {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  return files;
}

interface SClientResult {
  /** Everything s_client printed (the response when the handshake succeeded). */
  out: string;
  code: number | null;
}

/** openssl s_client as an outside client: sends `request` over TLS and returns what came back. */
function sClient(port: number, opts: { cert?: string; key?: string; caFile: string; request: string; alpn?: string }): Promise<SClientResult> {
  return new Promise((resolve) => {
    const args = ["s_client", "-connect", `${h.HOST}:${port}`, "-quiet", "-verify_return_error", "-CAfile", opts.caFile, "-ign_eof"];
    if (opts.cert !== undefined) args.push("-cert", opts.cert, "-key", opts.key!);
    if (opts.alpn !== undefined) args.push("-alpn", opts.alpn);
    const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString("latin1")));
    child.stderr.on("data", (d: Buffer) => (out += d.toString("latin1")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
    child.stdin.end(opts.request);
  });
}

const GET = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: app\r\n${extra}Connection: close\r\n\r\n`;
const statusOf = (out: string) => Number(/HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0);

function opensslAvailable(): Promise<boolean> {
  return new Promise((r) => execFile("openssl", ["version"], (err) => r(err === null)));
}

describe(`mTLS between proxies: ${h.runtime} client side, ${PEER[h.runtime]} server side`, { timeout: 120_000 }, () => {
  let ca: LocalCa, app: h.Upstream, server: h.ProxyProcess | undefined, client: h.ProxyProcess | undefined;
  let anchors: string, clientFiles: IdentityFiles, serverFiles: IdentityFiles;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => server ?? client, fn));

  before(async () => {
    ca = await LocalCa.create({ trustDomain: TD });
    anchors = h.tempPath(`anchors-${process.pid}.pem`);
    writeFileSync(anchors, ca.rootPem);
    clientFiles = await writeIdentity(ca, anchors, ID.client);
    serverFiles = await writeIdentity(ca, anchors, ID.server);
    app = await h.startUpstream();
    server = await h.startProxy(
      h.makeConfig({
        services: [],
        app: app.addr,
        overrides: {
          identity: serverFiles,
          inbound: {
            host: h.HOST, port: 0, app: app.addr,
            authorization: {
              default: "allow",
              routes: [{ name: "admin", matches: [{ path: { type: "PathPrefix", value: "/admin" } }], rules: [{ name: "ops", identities: [ID.ops] }] }],
            },
          },
        },
      }),
      { runtime: PEER[h.runtime] },
    );
    const inbound = server.port("inbound");
    client = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "api", endpoints: [{ host: h.HOST, port: inbound, identity: ID.server }] },
          { name: "impostor", endpoints: [{ host: h.HOST, port: inbound, identity: ID.other }] },
        ],
        overrides: { identity: clientFiles },
      }),
    );
  });
  after(async () => {
    await Promise.all([client?.stop(), server?.stop()]);
    await app?.close();
  });

  t("the app receives the client's verified identity; a forged x-meshlet-client-id is replaced", async () => {
    const r = await h.httpRequest({ port: client!.outbound, host: "api", path: "/hello", headers: { "x-meshlet-client-id": ID.ops } });
    assert.equal(r.status, 200, r.body.toString());
    const seen = JSON.parse(r.body.toString());
    assert.equal(seen.headers["x-meshlet-client-id"], ID.client);
  });

  t("both sides label metrics and logs with tls and the peer's identity", async () => {
    await h.httpRequest({ port: client!.outbound, host: "api", path: "/labels" });
    await h.waitFor(async () => (await h.metricValue(server!, "response_total", { direction: "inbound", tls: "true", client_id: ID.client })) > 0 || undefined, 5000, "inbound tls metrics");
    assert.ok((await h.metricValue(client!, "response_total", { direction: "outbound", tls: "true", server_id: ID.server })) > 0);
    assert.ok((await h.metricValue(server!, "inbound_http_authz_allow_total", { tls: "true", client_id: ID.client, authz_rule: "default" })) > 0);
    const expiry = await h.metricValue(server!, "identity_cert_expiration_timestamp_seconds");
    assert.ok(expiry > Date.now() / 1000 + 3600, `expiry ${expiry}`);
    const line = await h.waitFor(() => server!.accessLog().find((l) => l.path === "/labels"), 5000, "server access log");
    assert.equal((line as unknown as Record<string, unknown>).tls, "true");
    assert.equal((line as unknown as Record<string, unknown>).client_id, ID.client);
    const out = await h.waitFor(() => client!.accessLog().find((l) => l.path === "/labels"), 5000, "client access log");
    assert.equal((out as unknown as Record<string, unknown>).server_id, ID.server);
  });

  t("an endpoint that presents another identity than expected gets 502 tls-identity-mismatch", async () => {
    const before = app.requests.length;
    const r = await h.httpRequest({ port: client!.outbound, host: "impostor", path: "/x" });
    assert.equal(r.status, 502);
    assert.equal(r.headers["x-meshlet-error"], "tls-identity-mismatch");
    assert.match(r.body.toString(), new RegExp(`presented ${ID.server.replace(/[/.]/g, "\\$&")}, expected`));
    assert.equal(app.requests.length, before, "nothing reached the app");
  });

  t("a route policy denies a client the port allows: 403 unauthorized, the app never sees it", async () => {
    const before = app.requests.length;
    const r = await h.httpRequest({ port: client!.outbound, host: "api", path: "/admin/users" });
    assert.equal(r.status, 403);
    assert.equal(r.headers["x-meshlet-error"], "unauthorized");
    assert.equal(app.requests.length, before);
    assert.ok((await h.metricValue(server!, "inbound_http_authz_deny_total", { route: "admin", client_id: ID.client })) > 0);
  });

  t("HTTP/2 clients go over mTLS with ALPN h2", async () => {
    const r = await h.curl(["--http2-prior-knowledge", "-H", "host: api", `http://${h.HOST}:${client!.outbound}/h2`]);
    assert.equal(r.status, 200, r.body.toString());
    const line = await h.waitFor(() => server!.accessLog().find((l) => l.path === "/h2"), 5000, "server access log");
    assert.equal((line as unknown as Record<string, unknown>).protocol, "HTTP/2");
    assert.equal(JSON.parse(r.body.toString()).headers["x-meshlet-client-id"], ID.client);
  });

  t("plaintext clients are still served when the policy allows them, without a client identity", async () => {
    const r = await h.httpRequest({ port: server!.port("inbound"), host: "app", path: "/plain", headers: { "x-meshlet-client-id": ID.ops } });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body.toString()).headers["x-meshlet-client-id"], undefined);
    const line = await h.waitFor(() => server!.accessLog().find((l) => l.path === "/plain"), 5000, "access log");
    assert.equal((line as unknown as Record<string, unknown>).tls, "no_identity");
  });
});

describe(`inbound authorization against outside clients [${h.runtime}]`, { timeout: 120_000 }, () => {
  let ca: LocalCa, app: h.Upstream, tcp: h.TcpUpstream, proxy: h.ProxyProcess | undefined, tcpProxy: h.ProxyProcess | undefined;
  let anchors: string, otherAnchors: string;
  let httpConfig: (policy: unknown) => Record<string, unknown>;
  const files: Record<string, IdentityFiles> = {};
  let hasOpenssl = false;
  const t = (name: string, fn: (tc: { skip(m: string): void }) => Promise<void>) =>
    test(name, h.withDiagnostics(() => proxy, (tc) => fn(tc)));

  before(async () => {
    hasOpenssl = await opensslAvailable();
    ca = await LocalCa.create({ trustDomain: TD });
    const other = await LocalCa.create({ trustDomain: TD });
    anchors = h.tempPath(`anchors-b-${process.pid}.pem`);
    otherAnchors = h.tempPath(`anchors-other-${process.pid}.pem`);
    writeFileSync(anchors, ca.rootPem);
    writeFileSync(otherAnchors, other.rootPem);
    files.server = await writeIdentity(ca, anchors, ID.server);
    files.good = await writeIdentity(ca, anchors, ID.client);
    files.wrongCa = await writeIdentity(other, otherAnchors, ID.client);
    files.expired = await writeIdentity(ca, anchors, ID.client, undefined, { notBefore: Date.now() - 7200_000, notAfter: Date.now() - 3600_000 });
    files.wrongId = await writeIdentity(ca, anchors, ID.other);
    app = await h.startUpstream();
    tcp = await h.startTcpUpstream((s) => s.on("data", (d: Buffer) => s.write(d)));
    const policy = { default: "deny", rules: [{ name: "web", identities: [`spiffe://${TD}/ns/web/*`] }] };
    httpConfig = (p: unknown) =>
      h.makeConfig({ services: [], app: app.addr, overrides: { identity: files.server, inbound: { host: h.HOST, port: 0, app: app.addr, authorization: p } } });
    proxy = await h.startProxy(httpConfig(policy));
    tcpProxy = await h.startProxy(
      h.makeConfig({ services: [], app: tcp.addr, overrides: { identity: files.server, inbound: { host: h.HOST, port: 0, app: tcp.addr, authorization: policy } } }),
    );
  });
  after(async () => {
    await Promise.all([proxy?.stop(), tcpProxy?.stop()]);
    await Promise.all([app?.close(), tcp?.close()]);
  });

  t("openssl s_client with the right identity is served and the app sees it", async (tc) => {
    if (!hasOpenssl) return tc.skip("openssl is not installed");
    const r = await sClient(proxy!.port("inbound"), { cert: files.good!.certFile, key: files.good!.keyFile, caFile: anchors, request: GET("/ok") });
    assert.equal(statusOf(r.out), 200, r.out);
    assert.match(r.out, new RegExp(`"x-meshlet-client-id":"${ID.client.replace(/[/.]/g, "\\$&")}"`));
  });

  const denied: [string, () => { cert?: string; key?: string }][] = [
    ["a certificate from another CA", () => ({ cert: files.wrongCa!.certFile, key: files.wrongCa!.keyFile })],
    ["no client certificate", () => ({})],
    ["an expired certificate", () => ({ cert: files.expired!.certFile, key: files.expired!.keyFile })],
    ["a valid certificate of an identity the policy does not allow", () => ({ cert: files.wrongId!.certFile, key: files.wrongId!.keyFile })],
  ];
  for (const [what, creds] of denied) {
    t(`openssl s_client with ${what} gets 403 and reaches nothing`, async (tc) => {
      if (!hasOpenssl) return tc.skip("openssl is not installed");
      const before = app.requests.length;
      const r = await sClient(proxy!.port("inbound"), { ...creds(), caFile: anchors, request: GET("/denied") });
      assert.equal(statusOf(r.out), 403, r.out);
      assert.match(r.out, /x-meshlet-error: unauthorized/);
      assert.equal(app.requests.length, before);
    });
  }

  t("a client that does not trust the proxy's CA refuses the handshake itself", async (tc) => {
    if (!hasOpenssl) return tc.skip("openssl is not installed");
    const r = await sClient(proxy!.port("inbound"), { cert: files.good!.certFile, key: files.good!.keyFile, caFile: otherAnchors, request: GET("/x") });
    assert.equal(statusOf(r.out), 0);
    assert.match(r.out, /verify error|certificate verify failed/i);
  });

  t("plaintext HTTP is denied with 403, and gRPC with PERMISSION_DENIED", async () => {
    const r = await h.httpRequest({ port: proxy!.port("inbound"), host: "app", path: "/plain" });
    assert.equal(r.status, 403);
    assert.equal(r.headers["x-meshlet-error"], "unauthorized");
    // A grpc-js client (h2c, plaintext): the denial is a trailers-only PERMISSION_DENIED.
    const g = await runClient(proxy!.port("inbound"), "app", ["status_of_empty_call"]);
    assert.equal(g.status_of_empty_call?.code, 7, JSON.stringify(g));
    assert.match(g.status_of_empty_call?.details ?? "", /not authorized on this port/);
    assert.ok((await h.metricValue(proxy!, "inbound_http_authz_deny_total", { tls: "no_identity" })) >= 2);
  });

  t("a policy change in the config file applies on reload; an invalid one is refused and the last good one stays", async () => {
    const port = proxy!.port("inbound");
    assert.equal((await h.httpRequest({ port, host: "app", path: "/before" })).status, 403);
    proxy!.writeConfig(httpConfig({ default: "deny", rules: [{ name: "lan", unauthenticated: true, networks: [{ cidr: "127.0.0.0/8" }] }] }));
    await h.waitFor(async () => ((await h.httpRequest({ port, host: "app", path: "/after" })).status === 200) || undefined, 10_000, "the new policy");
    proxy!.writeConfig(httpConfig({ default: "deny", rules: [{ name: "bad", identities: ["spiffe://Upper.Case/x"] }] }));
    await h.waitFor(() => /inbound\.authorization\.rules\[0\]\.identities\[0\]/.test(proxy!.stderr) || undefined, 10_000, "the rejection to be logged");
    assert.equal((await h.httpRequest({ port, host: "app", path: "/still" })).status, 200, "the last good policy stays");
  });

  t("opaque TCP: an unauthorized client's connection is closed, an authorized mTLS client is forwarded", async (tc) => {
    const before = tcp.connections;
    const s = net.connect(tcpProxy!.port("inbound"), h.HOST);
    s.on("error", () => undefined);
    s.write(Buffer.from([0xff, 0x00, 0x01, 0x02, 0x03]));
    await h.withTimeout(new Promise<void>((r) => s.on("close", () => r())), 15_000, "the denied connection to close");
    assert.equal(tcp.connections, before, "the app saw no connection");
    assert.ok((await h.metricValue(tcpProxy!, "inbound_tcp_authz_deny_total", { tls: "no_identity" })) >= 1);
    if (!hasOpenssl) return tc.skip("openssl is not installed");
    const r = await sClient(tcpProxy!.port("inbound"), { cert: files.good!.certFile, key: files.good!.keyFile, caFile: anchors, request: "\u00ffping-over-mtls" });
    assert.match(r.out, /ping-over-mtls/);
    assert.ok((await h.metricValue(tcpProxy!, "inbound_tcp_authz_allow_total", { client_id: ID.client })) >= 1);
  });
});

describe(`certificate rotation under load [${h.runtime}]`, { timeout: 120_000 }, () => {
  let ca: LocalCa, app: h.Upstream, server: h.ProxyProcess | undefined, client: h.ProxyProcess | undefined;
  let anchors: string, clientFiles: IdentityFiles, serverFiles: IdentityFiles;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => server ?? client, fn));

  before(async () => {
    ca = await LocalCa.create({ trustDomain: TD });
    anchors = h.tempPath(`anchors-r-${process.pid}.pem`);
    writeFileSync(anchors, ca.rootPem);
    clientFiles = await writeIdentity(ca, anchors, ID.client);
    serverFiles = await writeIdentity(ca, anchors, ID.server);
    app = await h.startUpstream();
    server = await h.startProxy(h.makeConfig({ services: [], app: app.addr, overrides: { identity: serverFiles } }));
    client = await h.startProxy(
      h.makeConfig({
        services: [{ name: "api", endpoints: [{ host: h.HOST, port: server.port("inbound"), identity: ID.server }] }],
        // No idle connections kept: every request makes a new mTLS handshake, so each rotation is exercised.
        overrides: { identity: clientFiles, pool: { maxIdlePerEndpoint: 0 } },
      }),
    );
  });
  after(async () => {
    await Promise.all([client?.stop(), server?.stop()]);
    await app?.close();
  });

  t("rotating both proxies' certificates every 1.5 s fails no request", async () => {
    const expiries = new Set<number>();
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (!stop) {
        try {
          const r = await h.httpRequest({ port: client!.outbound, host: "api", path: "/rot" });
          if (r.status === 200) ok++;
          else failures.push(`${r.status} ${r.headers["x-meshlet-error"] ?? ""} ${r.body.toString().slice(0, 200)}`);
        } catch (e) {
          failures.push(String(e));
        }
      }
    };
    const initial = await h.metricValue(server!, "identity_cert_expiration_timestamp_seconds");
    assert.ok(initial > 0);
    expiries.add(initial);
    const workers = [worker(), worker(), worker(), worker()];
    for (let i = 0; i < 5; i++) {
      await h.sleep(1500);
      // Certificates are valid for a whole number of seconds past now: a new one always has a later expiry.
      await writeIdentity(ca, anchors, ID.server, serverFiles, { notAfter: Date.now() + 3600_000 + (i + 1) * 1000 });
      await writeIdentity(ca, anchors, ID.client, clientFiles, { notAfter: Date.now() + 3600_000 + (i + 1) * 1000 });
      expiries.add(await h.waitFor(async () => {
        const v = await h.metricValue(server!, "identity_cert_expiration_timestamp_seconds");
        return [...expiries].includes(v) || v === 0 ? undefined : v;
      }, 10_000, `rotation ${i + 1} on the server`));
    }
    await h.sleep(1000);
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(failures, []);
    assert.ok(ok > 50, `only ${ok} requests went through`);
    assert.equal(expiries.size, 6, "five rotations were installed");
  });
});

describe(`gRPC over mTLS between proxies, with a route policy [${h.runtime} -> ${PEER[h.runtime]}]`, { timeout: 120_000 }, () => {
  let ca: LocalCa, grpcServer: GrpcServer | undefined, server: h.ProxyProcess | undefined, client: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => server ?? client, fn));

  before(async () => {
    ca = await LocalCa.create({ trustDomain: TD });
    const anchors = h.tempPath(`anchors-g-${process.pid}.pem`);
    writeFileSync(anchors, ca.rootPem);
    grpcServer = await startGrpcServer();
    server = await h.startProxy(
      h.makeConfig({
        services: [],
        app: grpcServer.addr,
        overrides: {
          identity: await writeIdentity(ca, anchors, ID.server),
          inbound: {
            host: h.HOST, port: 0, app: grpcServer.addr,
            authorization: {
              default: "deny",
              rules: [{ name: "web", identities: [`spiffe://${TD}/ns/web/*`] }],
              // EmptyCall is for ops only.
              routes: [{ name: "empty-call", matches: [{ path: { type: "Exact", value: "/grpc.testing.TestService/EmptyCall" } }], rules: [{ name: "ops", identities: [ID.ops] }] }],
            },
          },
        },
      }),
      { runtime: PEER[h.runtime] },
    );
    client = await h.startProxy(
      h.makeConfig({
        services: [{ name: "grpc-svc", endpoints: [{ host: h.HOST, port: server.port("inbound"), identity: ID.server }] }],
        overrides: { identity: await writeIdentity(ca, anchors, ID.client) },
      }),
    );
  });
  after(async () => {
    await Promise.all([client?.stop(), server?.stop()]);
    grpcServer?.close();
  });

  t("streaming and large calls pass; the method the policy reserves answers PERMISSION_DENIED", async () => {
    const r = await runClient(client!.outbound, "grpc-svc", ["large_unary", "ping_pong", "custom_metadata", "status_of_empty_call"]);
    for (const c of ["large_unary", "ping_pong", "custom_metadata"]) assert.equal(r[c]?.ok, true, `${c}: ${r[c]?.error}`);
    assert.equal(r.status_of_empty_call?.code, 7, JSON.stringify(r.status_of_empty_call));
    assert.match(r.status_of_empty_call?.details ?? "", /not authorized on route empty-call/);
    assert.ok((await h.metricValue(server!, "inbound_http_authz_deny_total", { route: "empty-call", client_id: ID.client })) >= 1);
    assert.ok((await h.metricValue(server!, "response_total", { direction: "inbound", tls: "true", client_id: ID.client, grpc_status_code: "0" })) >= 3);
  });
});

describe(`a generated key certified by an issuer, renewed under load [${h.runtime}]`, { timeout: 120_000 }, () => {
  let app: h.Upstream, server: h.ProxyProcess | undefined, client: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => server ?? client, fn));

  before(async () => {
    const ca = await LocalCa.create({ trustDomain: TD, extractable: true });
    const anchors = h.tempPath(`anchors-i-${process.pid}.pem`);
    const caKey = h.tempPath(`issuer-${process.pid}.key`);
    writeFileSync(anchors, ca.rootPem);
    writeFileSync(caKey, await ca.rootKeyPem());
    app = await h.startUpstream();
    // A 14 s lifetime renews at 70 %, i.e. after 10 s (the shortest renewal delay).
    const issuer = { certFile: anchors, keyFile: caKey, lifetime: "14s" };
    server = await h.startProxy(h.makeConfig({ services: [], app: app.addr, overrides: { identity: { id: ID.server, trustAnchorsFile: anchors, issuer } } }));
    client = await h.startProxy(
      h.makeConfig({
        services: [{ name: "api", endpoints: [{ host: h.HOST, port: server.port("inbound"), identity: ID.server }] }],
        overrides: { identity: { id: ID.client, trustAnchorsFile: anchors, issuer }, pool: { maxIdlePerEndpoint: 0 } },
      }),
    );
  });
  after(async () => {
    await Promise.all([client?.stop(), server?.stop()]);
    await app?.close();
  });

  t("certificates are issued for the generated keys and renewed at 70 % with no failed request", async () => {
    const first = await h.metricValue(server!, "identity_cert_expiration_timestamp_seconds");
    assert.ok(Math.abs(first - (Date.now() / 1000 + 14)) < 6, `expiry ${first} is about 14 s ahead`);
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (!stop) {
        const r = await h.httpRequest({ port: client!.outbound, host: "api", path: "/issued" }).catch((e: Error) => ({ status: 0, body: Buffer.from(e.message), headers: {} as Record<string, string> }));
        if (r.status === 200) {
          ok++;
          assert.equal(JSON.parse(r.body.toString()).headers["x-meshlet-client-id"], ID.client);
        } else failures.push(`${r.status} ${r.body.toString().slice(0, 200)}`);
      }
    };
    const workers = [worker(), worker()];
    const renewed = await h.waitFor(async () => {
      const v = await h.metricValue(server!, "identity_cert_expiration_timestamp_seconds");
      return v > first ? v : undefined;
    }, 20_000, "the server's certificate to be renewed");
    await h.sleep(1000);
    stop = true;
    await Promise.all(workers);
    assert.ok(renewed >= first + 9, `renewed ${renewed - first} s later`);
    assert.deepEqual(failures, []);
    assert.ok(ok > 20, `only ${ok} requests`);
  });
});
