// The grpc-js interop peers of test/fixtures/grpc-interop.mjs as the conformance tests start them (run by Node
// whatever runtime runs the proxy).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as h from "./harness.ts";

const FIXTURE = `${h.REPO_ROOT}/test/fixtures/grpc-interop.mjs`;

export interface CaseResult {
  ok: boolean;
  error?: string;
  ms?: number;
  code?: number;
  details?: string;
  keyCalls?: number | null;
  elapsedMs?: number;
  remainingMs?: number;
}

export interface GrpcServer {
  port: number;
  addr: string;
  child: ChildProcess;
  stderr(): string;
  close(): void;
}

/** The grpc-js interop server, run by Node whatever runtime runs the proxy. */
export async function startGrpcServer(): Promise<GrpcServer> {
  const child = spawn(process.execPath, [FIXTURE, "server"], { stdio: ["ignore", "pipe", "pipe"] });
  const close = () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, "SIGTERM");
  };
  process.once("exit", close); // a test run cut short does not leave the server behind
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const listening = new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)).port);
    });
    child.on("exit", (code) => reject(new Error(`grpc interop server exited with ${code}: ${err}`)));
  });
  let port: number;
  try {
    port = await h.withTimeout(listening, 10_000, "the grpc interop server to listen");
  } catch (e) {
    close();
    throw e;
  }
  return { port, addr: `${h.HOST}:${port}`, child, stderr: () => err, close };
}

/** Runs the interop client against the proxy's outbound listener; resolves the per-case results. */
export function runClient(port: number, authority: string, cases: readonly string[], timeoutMs = 150_000): Promise<Record<string, CaseResult>> {
  const args = [FIXTURE, "client", "--target", `${h.HOST}:${port}`, "--authority", authority, "--cases", cases.join(",")];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split("\n").reverse().find((l) => l.startsWith('{"results"'));
      if (line) return resolve(JSON.parse(line).results);
      reject(new Error(`the interop client (${cases.join(",")}) gave no results: ${err?.message ?? ""}\n--- stdout:\n${stdout.slice(-2000)}\n--- stderr:\n${stderr.slice(-3000)}`));
    });
  });
}

