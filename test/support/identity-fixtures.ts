// Shared by the identity and TLS tests: the runtime running them, the example SPIFFE IDs, and polling.

const g = globalThis as { Bun?: unknown; Deno?: unknown };
/** The runtime running this test file (the adapter cases run under each runtime's own test runner). */
export const runtimeName: "node" | "bun" | "deno" = g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";

export const HOST = "127.0.0.1";
export const TD = "example.org";
export const WEB = `spiffe://${TD}/ns/default/sa/web`;
export const API = `spiffe://${TD}/ns/default/sa/api`;
export const HOUR = 3_600_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms until it holds, failing after `ms`. */
export async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}
