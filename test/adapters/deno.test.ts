// Port conformance on Deno: npx deno test -A test/adapters/deno.test.ts (Deno runs node:test files).
// The adapter is imported by a computed specifier so the Node typecheck (tsconfig.json) does not follow it.
import { test } from "node:test";
import type { Runtime } from "../../core/ports.ts";
import { fullCapabilities, portCases } from "./ports.cases.ts";
import "./certs.cases.ts";
import "./tls.cases.ts";
import "./identity-source.cases.ts";

const adapter = "../../adapters/deno/runtime.ts";
const { createRuntime } = (await import(adapter)) as { createRuntime(): Runtime };
const rt = createRuntime();
const caps = fullCapabilities;
for (const c of portCases) test(`deno: ${c.name}`, (t) => c.run(rt, { skip: (m) => t.skip(m), caps }));
