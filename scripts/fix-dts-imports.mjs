// tsc keeps ".ts" in relative imports of emitted declarations; consumers resolve ".js" to ".d.ts". Rewrite them.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const walk = (dir) => readdirSync(dir).flatMap((n) => {
  const p = join(dir, n);
  return statSync(p).isDirectory() ? walk(p) : p.endsWith(".d.ts") ? [p] : [];
});
let changed = 0;
for (const file of walk(process.argv[2] ?? "dist/types")) {
  const src = readFileSync(file, "utf8");
  const out = src.replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']+)\.ts\2/g, "$1$2$3.js$2");
  if (out !== src) { writeFileSync(file, out); changed++; }
}
console.log(`fix-dts-imports: rewrote ${changed} declaration files`);
