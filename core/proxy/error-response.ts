// Responses the proxy makes itself (errors), always tagged with x-meshlet-error.

import { encodeLatin1 } from "../http1/headers.ts";

export const ERROR_HEADER = "x-meshlet-error";

const REASONS: Record<number, string> = {
  200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
  413: "Content Too Large", 414: "URI Too Long", 421: "Misdirected Request", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
  502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Error";
}

/** The text body of an error response made by the proxy. */
export function messageBody(message: string): string {
  return `meshlet: ${message}\n`;
}

/** A complete HTTP/1.1 response with a short text body naming the error. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  close: boolean,
  head = false,
  extra?: readonly (readonly [string, string])[],
): Uint8Array {
  const headers: (readonly [string, string])[] = [[ERROR_HEADER, code]];
  if (extra !== undefined) headers.push(...extra);
  return localResponse(status, headers, messageBody(message), close, head);
}

/** A complete HTTP/1.1 response made by the proxy (a redirect, an error). `body` is ASCII text. */
export function localResponse(
  status: number,
  headers: readonly (readonly [string, string])[],
  body: string,
  close: boolean,
  head = false,
): Uint8Array {
  let s = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  if (body !== "") s += "content-type: text/plain; charset=utf-8\r\n";
  s += `content-length: ${body.length}\r\n`;
  for (const [n, v] of headers) s += `${n}: ${v}\r\n`;
  if (close) s += "connection: close\r\n";
  s += "\r\n";
  if (!head) s += body;
  return encodeLatin1(s);
}
