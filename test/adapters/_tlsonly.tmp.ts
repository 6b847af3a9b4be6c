import { createRuntime } from "/work/main/adapters/node/runtime.ts";
import { fullCapabilities, portCases } from "/work/main/test/adapters/ports.cases.ts";
const rt = createRuntime();
const c = portCases.find((c) => c.name.startsWith("tls"))!;
await c.run(rt, { skip: (m) => console.log("skip", m), caps: fullCapabilities });
console.log("done");
const u0 = process.cpuUsage();
setTimeout(() => {
  const u = process.cpuUsage(u0);
  console.log("cpu us over 500ms", u.user + u.system);
  console.log((process as any)._getActiveHandles().map((h: any) => h.constructor.name));
}, 500).unref();
