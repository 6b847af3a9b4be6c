// `meshlet` on Deno (`deno run -A adapters/deno/main.ts`).
import { runCli } from "../shared/cli.ts";
import { createRuntime } from "./runtime.ts";

const rt = createRuntime();
runCli(rt, {
  args: Deno.args,
  onSignal: (sig, fn) => Deno.addSignalListener(sig, fn),
  exit: (code) => {
    rt.flush?.();
    Deno.exit(code);
  },
}).catch((err: unknown) => {
  rt.stderr(`meshlet: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  rt.flush?.();
  Deno.exit(1);
});
