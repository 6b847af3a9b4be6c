// `meshlet check-config FILE`: validates a config file and prints the result.
// Exit codes: 0 valid (one summary line), 1 invalid (every issue, one per line), 2 the file cannot be read.

import { formatConfigIssues } from "../../core/config/parse.ts";
import type { MeshletConfig } from "../../core/config/types.ts";
import type { Addr } from "../../core/ports.ts";
import { loadConfigFile } from "./config-file.ts";

export async function checkConfigCommand(path: string, out: (line: string) => void): Promise<number> {
  const r = await loadConfigFile(path);
  if (r.ok) {
    out(`${path}: valid; ${summarize(r.config)}`);
    return 0;
  }
  if (r.reason === "unreadable") {
    for (const issue of r.errors) out(`${path}: ${issue.message}`);
    return 2;
  }
  out(`${path}: invalid configuration, ${r.errors.length} problem${r.errors.length === 1 ? "" : "s"}:`);
  for (const line of formatConfigIssues(r.errors, path).split("\n")) out(`  ${line}`);
  return 1;
}

function summarize(c: MeshletConfig): string {
  const endpoints = c.services.reduce((n, s) => n + s.endpoints.length, 0);
  const parts = [
    `${c.services.length} service${c.services.length === 1 ? "" : "s"} (${endpoints} endpoint${endpoints === 1 ? "" : "s"})`,
    `outbound ${hostPort(c.outbound)}`,
    c.inbound ? `inbound ${hostPort(c.inbound)} -> ${hostPort(c.inbound.app)}` : "no inbound",
    `admin ${hostPort(c.admin)}`,
  ];
  return parts.join(", ");
}

function hostPort(a: Addr): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
