#!/usr/bin/env node
// Writes the configs of one proxy pair of the mTLS benchmark (bench/mtls.sh; issue 5, item 9):
//   client -> [client side: plain HTTP/1.1 listener LISTEN] --mTLS--> [server side: TLS listener HOP] -> APP
// Both sides use the same certificate files (bench/mtls.sh makes them with openssl: one CA, EC P-256 leaves whose
// URI SAN is the SPIFFE ID; the server's leaf also carries the DNS SAN srv.bench.local, which nginx and haproxy
// verify as the upstream's name, meshlet checks the SPIFFE ID instead).
//
// Usage: node bench/write-mtls-config.mjs --kind meshlet|nginx|haproxy --mode tp|hs --dir DIR --certs CERTDIR
//          [--listen 127.0.0.1:18080] [--hop 127.0.0.1:18085] [--app 127.0.0.1:18081] [--stats 127.0.0.1:18086]
//          [--no-authz]
//   --mode tp   throughput: the client side keeps its mTLS connections to the server side alive and reuses them
//   --mode hs   new handshake per request: the client side opens a new mTLS connection (full handshake, no session
//               resumption) for every request; the server side keeps its connections to the app alive in both modes
//   --no-authz  meshlet's server side without its authorization rule (see below)
// Writes into DIR:
//   meshlet: server/meshlet.json, client/meshlet.json (each in a folder of its own: meshlet watches the config's folder)
//   nginx:   server/nginx.conf, client/nginx.conf (prefix folders with tmp/; one worker each, access_log off)
//   haproxy: server/haproxy.cfg, client/haproxy.cfg (nbthread 1 each; haproxy needs cert+key in one file: DIR/*.pem)
//
// What is the same on every kind:
//   - TLS 1.3 only on the hop (meshlet's runtimes negotiate 1.3 by default; nginx 1.22's proxy_ssl_protocols default
//     would be TLS 1.2 at most, so it is set); default ciphers and groups of each TLS library
//   - the client side verifies the server's chain against the CA; nginx/haproxy also the name srv.bench.local (DNS
//     SAN), meshlet the SPIFFE ID spiffe://bench.local/ns/srv/sa/srv (the endpoint's `identity`)
//   - the server side requires a client certificate that chains to the CA: nginx `ssl_verify_client on`, haproxy
//     `verify required`; meshlet's TLS listener asks for one and leaves the decision to its authorization, so its
//     server side gets `inbound.authorization: {default: deny, rules: [{identities: [the client's ID]}]}` (a client
//     without a valid certificate gets 403) unless --no-authz
//   - hs mode: meshlet `pool.maxIdlePerEndpoint: 0` (and meshlet never resumes TLS sessions), nginx no upstream
//     `keepalive` and `proxy_ssl_session_reuse off`, haproxy `option http-server-close` + `no-ssl-reuse`
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const usage =
  "usage: node bench/write-mtls-config.mjs --kind meshlet|nginx|haproxy --mode tp|hs --dir DIR --certs CERTDIR " +
  "[--listen H:P] [--hop H:P] [--app H:P] [--stats H:P] [--no-authz]\n";
const opts = { listen: "127.0.0.1:18080", hop: "127.0.0.1:18085", app: "127.0.0.1:18081", stats: "127.0.0.1:18086", authz: true };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--no-authz") {
    opts.authz = false;
    continue;
  }
  const m = /^--(kind|mode|dir|certs|listen|hop|app|stats)(?:=(.*))?$/.exec(a);
  if (!m) {
    process.stderr.write(`write-mtls-config: unknown argument ${a}\n` + usage);
    process.exit(2);
  }
  const v = m[2] ?? argv[++i];
  if (!v) {
    process.stderr.write(`write-mtls-config: ${a} needs a value\n` + usage);
    process.exit(2);
  }
  opts[m[1]] = v;
}
const fail = (msg) => {
  process.stderr.write(`write-mtls-config: ${msg}\n` + usage);
  process.exit(2);
};
if (!["meshlet", "nginx", "haproxy"].includes(opts.kind)) fail(`bad --kind ${JSON.stringify(opts.kind)}`);
if (!["tp", "hs"].includes(opts.mode)) fail(`bad --mode ${JSON.stringify(opts.mode)}`);
if (!opts.dir || !opts.certs) fail("--dir and --certs are required");

function split(addr) {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) fail(`bad address ${JSON.stringify(addr)} (want host:port)`);
  return { host: addr.slice(0, i), port };
}
const listen = split(opts.listen);
const hop = split(opts.hop);
split(opts.app);
const stats = split(opts.stats);

export const TRUST_DOMAIN = "bench.local";
const SRV_ID = `spiffe://${TRUST_DOMAIN}/ns/srv/sa/srv`;
const CLI_ID = `spiffe://${TRUST_DOMAIN}/ns/cli/sa/cli`;
const SRV_NAME = "srv.bench.local";
const C = (f) => join(opts.certs, f);
const hs = opts.mode === "hs";
const dir = opts.dir;
const write = (rel, text) => {
  const f = join(dir, rel);
  mkdirSync(join(f, ".."), { recursive: true });
  writeFileSync(f, text);
};

if (opts.kind === "meshlet") {
  const server = {
    admin: { host: "127.0.0.1", port: 0 },
    outbound: { host: "127.0.0.1", port: 0 },
    inbound: { host: hop.host, port: hop.port, app: opts.app },
    identity: { id: SRV_ID, trustAnchorsFile: C("ca.crt"), certFile: C("srv.crt"), keyFile: C("srv.key") },
    accessLog: false,
  };
  if (opts.authz) {
    server.inbound.authorization = { default: "deny", rules: [{ name: "bench-client", identities: [CLI_ID] }] };
  }
  const client = {
    admin: { host: "127.0.0.1", port: 0 },
    outbound: { host: listen.host, port: listen.port },
    services: [
      {
        name: "srv",
        // "srv" plus every Host the harness's wrk and curl checks send (127.0.0.1:P, localhost:P, with or without the port)
        hostnames: ["srv", `${listen.host}:${listen.port}`, listen.host, `localhost:${listen.port}`, "localhost"],
        balancer: { kind: "round-robin" },
        endpoints: [{ host: hop.host, port: hop.port, identity: SRV_ID }],
      },
    ],
    identity: { id: CLI_ID, trustAnchorsFile: C("ca.crt"), certFile: C("cli.crt"), keyFile: C("cli.key") },
    accessLog: false,
  };
  if (hs) client.pool = { maxIdlePerEndpoint: 0 };
  write("server/meshlet.json", JSON.stringify(server, null, 2) + "\n");
  write("client/meshlet.json", JSON.stringify(client, null, 2) + "\n");
} else if (opts.kind === "nginx") {
  // as the harness's conf/nginx-proxy.conf.tmpl: one worker, no access log, long keep-alive both ways
  const head = (p) => `worker_processes 1;
daemon off;
pid ${p}/nginx.pid;
error_log ${p}/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; use epoll; }
http {
    access_log off;
    server_tokens off;
    client_body_temp_path ${p}/tmp/body;
    proxy_temp_path       ${p}/tmp/proxy;
    fastcgi_temp_path     ${p}/tmp/fastcgi;
    uwsgi_temp_path       ${p}/tmp/uwsgi;
    scgi_temp_path        ${p}/tmp/scgi;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    tcp_nodelay on;
`;
  const sp = join(dir, "server");
  const cp = join(dir, "client");
  // server side: mTLS listener (client certificate required), keep-alive to the app
  write(
    "server/nginx.conf",
    head(sp) +
      `
    upstream app {
        server ${opts.app};
        keepalive 256;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    server {
        listen ${hop.host}:${hop.port} ssl backlog=4096;
        ssl_protocols TLSv1.3;
        ssl_certificate     ${C("srv.crt")};
        ssl_certificate_key ${C("srv.key")};
        ssl_client_certificate ${C("ca.crt")};
        ssl_verify_client on;
        ssl_verify_depth 2;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    # connection/request counters of this side (bench/mtls-pair.sh reads them when the pair stops)
    server {
        listen ${stats.host}:${stats.port};
        location = /status { stub_status; }
    }
}
`,
  );
  write(
    "client/nginx.conf",
    head(cp) +
      `
    upstream mtls {
        server ${hop.host}:${hop.port};${hs ? "\n        # hs: no keepalive: one upstream connection (and full handshake) per request" : `
        keepalive 256;
        keepalive_requests 100000000;
        keepalive_timeout 300s;`}
    }
    server {
        listen ${listen.host}:${listen.port} backlog=4096;
        location / {
            proxy_pass https://mtls;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_protocols TLSv1.3;
            proxy_ssl_certificate     ${C("cli.crt")};
            proxy_ssl_certificate_key ${C("cli.key")};
            proxy_ssl_trusted_certificate ${C("ca.crt")};
            proxy_ssl_verify on;
            proxy_ssl_verify_depth 2;
            proxy_ssl_name ${SRV_NAME};
            proxy_ssl_session_reuse ${hs ? "off" : "on"};
        }
    }
}
`,
  );
  for (const p of ["server", "client"]) mkdirSync(join(dir, p, "tmp"), { recursive: true });
} else {
  // haproxy wants the certificate and its key in one file
  for (const n of ["srv", "cli"]) {
    writeFileSync(join(dir, `${n}.pem`), readFileSync(C(`${n}.crt`), "utf8") + readFileSync(C(`${n}.key`), "utf8"));
  }
  // as the harness's conf/haproxy.cfg.tmpl
  const head = `global
    nbthread 1
    maxconn 8000
    ssl-default-bind-options ssl-min-ver TLSv1.3
    ssl-default-server-options ssl-min-ver TLSv1.3

defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
`;
  write(
    "server/haproxy.cfg",
    head +
      `    http-reuse always

frontend mtls
    bind ${hop.host}:${hop.port} ssl crt ${join(dir, "srv.pem")} ca-file ${C("ca.crt")} verify required
    default_backend app

backend app
    server app ${opts.app}
`,
  );
  write(
    "client/haproxy.cfg",
    head +
      (hs
        ? `    # hs: a new server connection (full handshake, no-ssl-reuse) per request; the client's stays alive
    option http-server-close
    http-reuse never
`
        : `    http-reuse always
`) +
      `
frontend fe
    bind ${listen.host}:${listen.port}
    default_backend mtls

backend mtls
    server srv ${hop.host}:${hop.port} ssl crt ${join(dir, "cli.pem")} ca-file ${C("ca.crt")} verify required verifyhost ${SRV_NAME}${hs ? " no-ssl-reuse" : ""}

# counters of this side (bench/mtls-pair.sh reads them when the pair stops)
frontend stats
    bind ${stats.host}:${stats.port}
    stats enable
    stats uri /stats
`,
  );
}
