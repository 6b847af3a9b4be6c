// The `meshlet` command line, shared by the three runtimes. Each adapter's main.ts passes its Runtime and a
// Platform (arguments, signals, exit), so this file knows no runtime.

import { checkConfigCommand } from "./check-config.ts";
import { runDemo } from "./demo.ts";
import { runProxy } from "./run-proxy.ts";
import type { Runtime } from "../../core/ports.ts";

export interface Platform {
  /** Arguments after the program name. */
  args: string[];
  onSignal(signal: "SIGTERM" | "SIGINT", fn: () => void): void;
  exit(code: number): never;
}

export const VERSION = "0.1.0";

const HELP: Record<string, string> = {
  main: `meshlet ${VERSION} — a lightweight service-mesh data plane

Usage: meshlet <command> [options]

Commands:
  proxy -c FILE        run the sidecar proxy with a config file (YAML or JSON)
  check-config FILE    validate a config file; exit 0 when valid, 1 when not
  demo                 run two example services behind the proxy with a bundled config
  help [COMMAND]       show help

Options:
  -h, --help           show help
  -v, --version        print the version`,
  proxy: `Usage: meshlet proxy -c FILE [--no-access-log]

Runs the proxy: the outbound listener (default 127.0.0.1:4140), the inbound listener when the config has
one (default 0.0.0.0:4143) and the admin server (default 127.0.0.1:4191: /live /ready /metrics /config,
POST /shutdown). The file is watched: valid changes apply live, invalid ones are logged and ignored.
SIGTERM/SIGINT or POST /shutdown drain in-flight requests, then exit 0.

Options:
  -c, --config FILE    the config file (required)
  --no-access-log      do not print the per-request JSON access log on stdout`,
  "check-config": `Usage: meshlet check-config FILE

Validates FILE and prints every problem with its field path. Exit 0 valid, 1 invalid, 2 unreadable.`,
  demo: `Usage: meshlet demo

Starts two example upstream services (web: two endpoints, api: one) and the proxy in front of them with a
bundled config, then prints the curl commands to try and the admin URL. Ctrl-C stops it.`,
};

export async function runCli(rt: Runtime, p: Platform): Promise<void> {
  const [cmd, ...rest] = p.args;
  const wantsHelp = rest.includes("-h") || rest.includes("--help");
  if (cmd === undefined || cmd === "-h" || cmd === "--help") return void rt.stdout(HELP.main!);
  if (cmd === "help") return void rt.stdout(HELP[rest[0] ?? "main"] ?? HELP.main!);
  if (cmd === "-v" || cmd === "--version") return void rt.stdout(VERSION);
  if (HELP[cmd] !== undefined && cmd !== "main" && wantsHelp) return void rt.stdout(HELP[cmd]!);
  switch (cmd) {
    case "proxy": {
      let file: string | undefined;
      let accessLog: boolean | undefined;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        if (a === "-c" || a === "--config") file = rest[++i];
        else if (a.startsWith("--config=")) file = a.slice(9);
        else if (a === "--no-access-log") accessLog = false;
        else return usageError(rt, p, `unknown option ${a}`, "proxy");
      }
      if (file === undefined) return usageError(rt, p, "missing -c FILE", "proxy");
      return runProxy(rt, p, { file, accessLog });
    }
    case "check-config": {
      const file = rest.find((a) => !a.startsWith("-"));
      if (file === undefined) return usageError(rt, p, "missing FILE", "check-config");
      const code = await checkConfigCommand(file, (l) => rt.stdout(l));
      return p.exit(code);
    }
    case "demo":
      return runDemo(rt, p);
    default:
      return usageError(rt, p, `unknown command ${cmd}`, "main");
  }
}

function usageError(rt: Runtime, p: Platform, msg: string, topic: string): never {
  rt.stderr(`meshlet: ${msg}\n\n${HELP[topic]}`);
  return p.exit(2);
}
