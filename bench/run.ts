/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command
 * line) in turn. Each exports `run(): Promise<void>` that prints its figures.
 * Benchmarks use real servers on loopback and stop by themselves.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

console.log(`MeshAI benchmarks on node ${process.version}, ${(await import("node:os")).cpus().length} cores`);
for (const file of files) {
  console.log(`\n== ${file.replace(/\.bench\.ts$/, "")}`);
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { run(): Promise<void> };
  await mod.run();
}
process.exit(0);
