// Port conformance on Node: npx tsx --test test/adapters/node.test.ts
import { test } from "node:test";
import { createRuntime } from "../../adapters/node/runtime.ts";
import { fullCapabilities, portCases } from "./ports.cases.ts";
import "./certs.cases.ts";
import "./tls.cases.ts";
import "./identity-source.cases.ts";

const rt = createRuntime();
const caps = fullCapabilities;
for (const c of portCases) test(`node: ${c.name}`, (t) => c.run(rt, { skip: (m) => t.skip(m), caps }));
