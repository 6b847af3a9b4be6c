import { defineConfig } from "tsup";

// JavaScript for Node (ESM + CJS). Type declarations come from `tsc -p tsconfig.build.json`, because
// TypeScript 7's native tsc has no JS API for tsup's dts step.
export default defineConfig([
  {
    entry: { index: "core/mod.ts", "node/mod": "adapters/node/mod.ts" },
    format: ["esm", "cjs"],
    target: "node20",
    platform: "node",
    outDir: "dist",
    clean: true,
    sourcemap: true,
    dts: false,
    splitting: false,
  },
  {
    entry: { "node/main": "adapters/node/main.ts" },
    format: ["esm"],
    target: "node20",
    platform: "node",
    outDir: "dist",
    sourcemap: true,
    dts: false,
    banner: { js: "#!/usr/bin/env node" },
  },
]);
