// The schema of the identity (mTLS) settings and of inbound authorization, and the SPIFFE ID validator for
// meshed endpoints. Not wired into the config file yet (schema.ts): these are the building blocks, in the style
// of routes-schema.ts (strict mappings, every bad field reported at its own path, what was expected and received).
//
//   identity:
//     id: spiffe://example.org/ns/default/sa/web   # the proxy's own SPIFFE ID
//     trustAnchorsFile: /etc/mesh/ca.pem   # PEM trust anchors for peers' certificates
//     certFile: /etc/mesh/cert.pem         # a certificate and its key from files (both or neither) ...
//     keyFile: /etc/mesh/key.pem
//     issuer: {certFile: ca.pem, keyFile: ca.key, lifetime: 24h}  # ... or a CA that certifies a generated key
//     keyOutFile: /run/mesh/key.pem        # with issuer: where to write the generated key (only if set)
//   authorization:
//     default: deny                        # "allow" (default) or "deny" when no rule matches
//     rules:
//       - name: web-clients
//         identities: ["spiffe://example.org/ns/web/*"]
//       - name: probes
//         unauthenticated: true
//         networks: [{cidr: 10.0.0.0/8, except: [10.0.99.0/24]}]

import * as v from "valibot";
import { exceptWithin, parseCidr, parseIdentityPattern, type AuthzPolicy, type AuthzRule } from "../identity/authz.ts";
import { parseSpiffeId, parseTrustDomain } from "../identity/spiffe.ts";
import { Bool, duration, fromParser, int, isObj, keyPath, list, never, nonEmptyList, picklist, strict, type Obj } from "./kit.ts";
import { Match, objectName } from "./routes-schema.ts";
import type { HttpRouteMatch } from "../routing/types.ts";
import type { EndpointConfig } from "./types.ts";
import { addressExpected, describe, parseAddressString, parseHost, parsePort, type ValueResult } from "./values.ts";

// ---- values --------------------------------------------------------------------------------------------

/** A SPIFFE trust domain name ("example.org"). */
export const TrustDomain = fromParser((input): ValueResult<string> => {
  const expected = 'a SPIFFE trust domain such as "example.org" (lower-case letters, digits, ".", "-" and "_")';
  if (typeof input !== "string") return { ok: false, message: `expected ${expected}, received ${describe(input)}` };
  const r = parseTrustDomain(input);
  return r.ok ? { ok: true, value: r.trustDomain } : { ok: false, message: `expected ${expected}, received ${describe(input)} (${r.error})` };
});

/** A file path: a non-empty string without NUL characters (relative paths are resolved by whoever reads it). */
export const FilePath = fromParser((input): ValueResult<string> =>
  typeof input === "string" && input.length > 0 && !input.includes("\u0000")
    ? { ok: true, value: input }
    : { ok: false, message: `expected a file path (a non-empty string), received ${describe(input)}` },
);

/** A workload's SPIFFE ID ("spiffe://example.org/ns/default/sa/web"): valid, and with a path (X509-SVID §3.1). */
export const SpiffeIdString = fromParser((input): ValueResult<string> => {
  const expected = 'a SPIFFE ID such as "spiffe://example.org/ns/default/sa/web"';
  if (typeof input !== "string") return { ok: false, message: `expected ${expected}, received ${describe(input)}` };
  const r = parseSpiffeId(input);
  if (!r.ok) return { ok: false, message: `expected ${expected}, received ${describe(input)} (${r.error})` };
  if (r.id.path === "") {
    return { ok: false, message: `expected ${expected}, received ${describe(input)} (a workload's SPIFFE ID has a path after the trust domain)` };
  }
  return { ok: true, value: r.id.toString() };
});

/** A network: a CIDR (or a single address); the output is the text as written. */
const CidrString = fromParser((input): ValueResult<string> => {
  const r = parseCidr(input);
  return r.ok ? { ok: true, value: input as string } : r;
});

/** An identity pattern: a SPIFFE ID, "spiffe://td/path/*" or "*". */
const IdentityPattern = fromParser((input): ValueResult<string> => {
  const r = parseIdentityPattern(input);
  return r.ok ? { ok: true, value: input as string } : r;
});

// ---- identity ------------------------------------------------------------------------------------------

/** A CA that certifies the proxy's own key (development and tests; the control plane's CA replaces it later). */
export interface IdentityIssuerConfig {
  /** PEM certificate of the signing CA (it must chain to the trust anchors, or be one). */
  certFile: string;
  /** PEM PKCS#8 key of the signing CA. */
  keyFile: string;
  /** Lifetime of the certificates it issues; renewal comes at 70 % of it (at least 10 s after the last one). */
  lifetimeMs: number;
}

export interface IdentityConfig {
  /** The proxy's own SPIFFE ID ("spiffe://example.org/ns/default/sa/web"). */
  id: string;
  /** PEM trust anchors for peers' certificates (clients and meshed endpoints). */
  trustAnchorsFile: string;
  /** A certificate (PEM, leaf first) and its key from files, re-read when they change; both or neither. */
  certFile?: string;
  keyFile?: string;
  /** Instead of certFile/keyFile: the key is generated in memory and this CA certifies it, renewed at 70 %. */
  issuer?: IdentityIssuerConfig;
  /** With issuer: where to write the generated key (it stays in memory otherwise). */
  keyOutFile?: string;
}

const DEFAULT_ISSUED_LIFETIME_MS = 24 * 60 * 60 * 1000;

const Issuer = strict(
  {
    certFile: FilePath,
    keyFile: FilePath,
    lifetime: v.optional(duration(1000), DEFAULT_ISSUED_LIFETIME_MS),
  },
  "the identity issuer (a CA certificate and key)",
);

export const Identity: v.GenericSchema<unknown, IdentityConfig> = v.pipe(
  strict(
    {
      id: SpiffeIdString,
      trustAnchorsFile: FilePath,
      certFile: v.optional(FilePath),
      keyFile: v.optional(FilePath),
      issuer: v.optional(Issuer),
      keyOutFile: v.optional(FilePath),
    },
    "the identity settings",
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    const id: unknown = dataset.value;
    if (!isObj(id)) return;
    const has = (k: string) => id[k] !== undefined;
    if (has("certFile") && !has("keyFile")) {
      addIssue({ message: "missing keyFile: certFile needs the private key that goes with it", path: keyPath(id, "keyFile") });
    }
    if (has("keyFile") && !has("certFile")) {
      addIssue({ message: "missing certFile: keyFile is the key of a static certificate, given with certFile", path: keyPath(id, "certFile") });
    }
    if (has("issuer") && (has("certFile") || has("keyFile"))) {
      addIssue({
        message: "issuer and certFile/keyFile exclude each other: the certificate comes either from files or from the issuer",
        path: keyPath(id, "issuer"),
      });
    }
    if (!has("issuer") && !has("certFile") && !has("keyFile")) {
      addIssue({ message: "expected certFile and keyFile (a certificate from files) or issuer (a CA that certifies a generated key), received neither" });
    }
    if (has("keyOutFile")) {
      if (!has("issuer")) {
        addIssue({ message: "keyOutFile is where a generated key is written: it needs issuer (with keyFile no key is generated)", path: keyPath(id, "keyOutFile") });
      }
      for (const other of ["trustAnchorsFile", "certFile"]) {
        if (has(other) && id[other] === id.keyOutFile) {
          addIssue({ message: `keyOutFile would overwrite ${other} (${describe(id[other])})`, path: keyPath(id, "keyOutFile") });
        }
      }
    }
  }),
  v.transform((i): IdentityConfig => {
    const out: IdentityConfig = { id: i.id, trustAnchorsFile: i.trustAnchorsFile };
    if (i.certFile !== undefined) out.certFile = i.certFile;
    if (i.keyFile !== undefined) out.keyFile = i.keyFile;
    if (i.issuer !== undefined) out.issuer = { certFile: i.issuer.certFile, keyFile: i.issuer.keyFile, lifetimeMs: i.issuer.lifetime };
    if (i.keyOutFile !== undefined) out.keyOutFile = i.keyOutFile;
    return out;
  }),
) as v.GenericSchema<unknown, IdentityConfig>;

// ---- authorization -------------------------------------------------------------------------------------

const Network = v.pipe(
  strict({ cidr: CidrString, except: v.optional(list(CidrString, "CIDRs")) }, "a network"),
  v.rawCheck(({ dataset, addIssue }) => {
    // Kubernetes ipBlock: "except values will be rejected if they are outside the cidr range".
    const n: unknown = dataset.value;
    if (!isObj(n) || !Array.isArray(n.except)) return;
    const cidr = parseCidr(n.cidr);
    if (!cidr.ok) return;
    const items: unknown[] = n.except;
    items.forEach((e, j) => {
      const x = parseCidr(e);
      if (!x.ok) return;
      const why = exceptWithin(x.value, cidr.value, e as string, n.cidr as string);
      if (why !== undefined) {
        addIssue({ message: why, path: [...keyPath(n, "except"), { type: "array", origin: "value", input: items, key: j, value: e }] });
      }
    });
  }),
);

const Rule = v.pipe(
  strict(
    {
      name: objectName("a rule name"),
      identities: v.optional(nonEmptyList(IdentityPattern, "identities")),
      networks: v.optional(nonEmptyList(Network, "networks")),
      unauthenticated: v.optional(Bool),
    },
    "an authorization rule",
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    // Linkerd's ServerAuthorization client: exactly one of meshTLS (identities) and unauthenticated.
    const r: unknown = dataset.value;
    if (!isObj(r)) return;
    const ids = r.identities !== undefined;
    const unauth = r.unauthenticated === true;
    if (ids && unauth) {
      addIssue({
        message: "identities and unauthenticated: true exclude each other: unauthenticated already admits every client",
        path: keyPath(r, "unauthenticated"),
      });
    } else if (!ids && !unauth) {
      addIssue({
        message: "expected identities (clients with those SPIFFE IDs) or unauthenticated: true (every client), received neither",
      });
    }
  }),
);

/** Reports a name used twice in a list of named objects at the second one's `name`. */
function uniqueNames(container: Obj, listKey: string, what: string, addIssue: (i: { message: string; path: [v.IssuePathItem, ...v.IssuePathItem[]] }) => void): void {
  const items: unknown = container[listKey];
  if (!Array.isArray(items)) return;
  const seen = new Map<string, number>();
  items.forEach((item: unknown, i: number) => {
    if (!isObj(item) || typeof item.name !== "string") return;
    const first = seen.get(item.name);
    if (first === undefined) {
      seen.set(item.name, i);
      return;
    }
    addIssue({
      message: `${what} name "${item.name}" is used twice (also ${listKey}[${first}])`,
      path: [
        ...keyPath(container, listKey),
        { type: "array", origin: "value", input: items, key: i, value: item },
        ...keyPath(item, "name"),
      ],
    });
  });
}

const toPolicy = (p: { default: "allow" | "deny"; rules: { name: string; identities?: string[]; networks?: { cidr: string; except?: string[] }[]; unauthenticated?: boolean }[] }): AuthzPolicy => ({
  defaultAction: p.default,
  rules: p.rules.map((r): AuthzRule => {
    const rule: AuthzRule = { name: r.name };
    if (r.identities !== undefined) rule.identities = r.identities;
    if (r.networks !== undefined) rule.networks = r.networks.map((n) => (n.except !== undefined ? { cidr: n.cidr, except: n.except } : { cidr: n.cidr }));
    if (r.unauthenticated !== undefined) rule.unauthenticated = r.unauthenticated;
    return rule;
  }),
});

/** A policy for the requests matching a route: it replaces the port's policy for them. */
export interface RouteAuthzPolicy extends AuthzPolicy {
  name: string;
  matches: HttpRouteMatch[];
}

/** The inbound port's policy, and per-route policies that take precedence for the requests they match. */
export interface PortAuthzPolicy extends AuthzPolicy {
  routes: RouteAuthzPolicy[];
}

const RouteAuthz = v.pipe(
  strict(
    {
      name: objectName("a route name"),
      matches: nonEmptyList(Match, "matches"),
      default: v.optional(picklist(["allow", "deny"] as const), "deny"),
      rules: v.optional(list(Rule, "authorization rules"), []),
    },
    "a route's authorization policy",
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (isObj(dataset.value)) uniqueNames(dataset.value, "rules", "rule", addIssue);
  }),
);

export const Authorization: v.GenericSchema<unknown, PortAuthzPolicy> = v.pipe(
  strict(
    {
      default: v.optional(picklist(["allow", "deny"] as const), "allow"),
      rules: v.optional(list(Rule, "authorization rules"), []),
      routes: v.optional(list(RouteAuthz, "route policies"), []),
    },
    "the authorization policy",
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    const p: unknown = dataset.value;
    if (!isObj(p)) return;
    uniqueNames(p, "rules", "rule", addIssue);
    uniqueNames(p, "routes", "route", addIssue);
  }),
  v.transform((p): PortAuthzPolicy => ({
    ...toPolicy(p),
    routes: p.routes.map((r): RouteAuthzPolicy => ({ name: r.name, matches: r.matches, ...toPolicy(r) })),
  })),
) as v.GenericSchema<unknown, PortAuthzPolicy>;

// ---- meshed endpoints ----------------------------------------------------------------------------------

export interface MeshedEndpointConfig extends EndpointConfig {
  /** The SPIFFE ID the endpoint must present (mTLS to it verifies this identity). */
  identity?: string;
}

const MeshedEndpointObject = strict(
  {
    host: fromParser(parseHost),
    port: fromParser((input) => parsePort(input, 1)),
    weight: v.optional(int(1, 10_000, "an endpoint weight")),
    identity: v.optional(SpiffeIdString),
  },
  "an address",
);

/** An endpoint: "host:port", or {host, port, weight?, identity?} where identity is the endpoint's SPIFFE ID. */
export const MeshedEndpoint: v.GenericSchema<unknown, MeshedEndpointConfig> = v.lazy((input) => {
  if (typeof input === "string") return fromParser(() => parseAddressString(input, 1));
  if (isObj(input)) return MeshedEndpointObject as v.GenericSchema<unknown, MeshedEndpointConfig>;
  return never(addressExpected());
});
