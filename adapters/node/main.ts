// `meshlet` on Node (the npm bin).
import { runCli } from "../shared/cli.ts";
import { createRuntime } from "./runtime.ts";

const rt = createRuntime();
runCli(rt, {
  args: process.argv.slice(2),
  onSignal: (sig, fn) => void process.on(sig, fn),
  exit: (code) => {
    rt.flush();
    process.exit(code);
  },
}).catch((err: unknown) => {
  rt.stderr(`meshlet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  rt.flush();
  process.exit(1);
});
