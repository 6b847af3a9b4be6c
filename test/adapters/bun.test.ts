// Port conformance on Bun: npx bun test test/adapters/bun.test.ts (bun's runner runs node:test files).
// The adapter is imported by a computed specifier so the Node typecheck (tsconfig.json) does not follow it.
import { test } from "node:test";
import type { Runtime } from "../../core/ports.ts";
import { fullCapabilities, portCases } from "./ports.cases.ts";
import "./certs.cases.ts";
import "./tls.cases.ts";
import "./identity-source.cases.ts";

const adapter = "../../adapters/bun/runtime.ts";
const { createRuntime } = (await import(adapter)) as { createRuntime(): Runtime };
const rt = createRuntime();
// node:tls on Bun, serving over an accepted Conn, drops data written after the client's closeWrite()
// (the client sees end first). Native Bun TLS sockets (Bun.listen tls / upgradeTLS) should lift this.
const caps = { ...fullCapabilities, tlsServerWritesAfterPeerEnd: false };
for (const c of portCases) test(`bun: ${c.name}`, (t) => c.run(rt, { skip: (m) => t.skip(m), caps }));
