// The validated route model, in the shape of the Gateway API HTTPRoute (gateway.networking.k8s.io/v1).
// Config parsing (valibot, at the boundary) produces these; core/routing trusts them, except for what only
// compiling can check (regex syntax, ReplacePrefixMatch without a PathPrefix match), which compileRoutes rejects.

/** Path match. Exact and PathPrefix values start with "/"; RegularExpression must match the whole path. */
export type HttpPathMatch =
  | { readonly type: "Exact"; readonly value: string }
  | { readonly type: "PathPrefix"; readonly value: string }
  | { readonly type: "RegularExpression"; readonly value: string };

/** Header match: name case-insensitive; value compared with every field of that name joined by ",". */
export interface HttpHeaderMatch {
  readonly type?: "Exact" | "RegularExpression"; // default Exact
  readonly name: string;
  readonly value: string;
}

/** Query parameter match: name case-sensitive, first value of the parameter (percent-decoded). */
export interface HttpQueryParamMatch {
  readonly type?: "Exact" | "RegularExpression"; // default Exact
  readonly name: string;
  readonly value: string;
}

/** One match; every present condition must hold (AND). A rule matches if any of its matches does (OR). */
export interface HttpRouteMatch {
  readonly path?: HttpPathMatch; // default PathPrefix "/"
  readonly headers?: readonly HttpHeaderMatch[];
  readonly queryParams?: readonly HttpQueryParamMatch[];
  readonly method?: string; // upper-case, e.g. "GET"
}

export interface HttpHeader {
  readonly name: string;
  readonly value: string;
}

/** RequestHeaderModifier / ResponseHeaderModifier. */
export interface HeaderModifier {
  readonly set?: readonly HttpHeader[];
  readonly add?: readonly HttpHeader[];
  readonly remove?: readonly string[];
}

export type HttpPathModifier =
  | { readonly type: "ReplaceFullPath"; readonly replaceFullPath: string }
  | { readonly type: "ReplacePrefixMatch"; readonly replacePrefixMatch: string };

export interface RequestRedirect {
  readonly scheme?: "http" | "https";
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: HttpPathModifier;
  readonly statusCode?: 301 | 302; // default 302
}

export interface UrlRewrite {
  readonly hostname?: string;
  readonly path?: HttpPathModifier;
}

export type HttpRouteFilter =
  | { readonly type: "RequestHeaderModifier"; readonly requestHeaderModifier: HeaderModifier }
  | { readonly type: "ResponseHeaderModifier"; readonly responseHeaderModifier: HeaderModifier }
  | { readonly type: "RequestRedirect"; readonly requestRedirect: RequestRedirect }
  | { readonly type: "URLRewrite"; readonly urlRewrite: UrlRewrite };

export interface BackendRef {
  /** A service name known to the config. */
  readonly name: string;
  /** Relative weight, integer >= 0; default 1. 0 means "never chosen". */
  readonly weight?: number;
}

export interface HttpRouteRule {
  /** Empty or absent: one match, PathPrefix "/". */
  readonly matches?: readonly HttpRouteMatch[];
  readonly filters?: readonly HttpRouteFilter[];
  readonly backendRefs?: readonly BackendRef[];
}

export interface HttpRoute {
  readonly name: string;
  /** Lower-case; "*.example.com" wildcards allowed (one or more labels). Empty: every host. */
  readonly hostnames: readonly string[];
  readonly rules: readonly HttpRouteRule[];
  /** Creation order (lower is older), the first precedence tie-break; absent counts as newest. */
  readonly createdAt?: number;
}
