#!/usr/bin/env node
// The podvisor command on Node. Node 22.18+ runs the TypeScript sources directly; on an older
// Node (the machines' own Node 20 is past end of life) re-run on the Node the project installs.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const bundled = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (!existsSync(bundled)) {
    console.error(`podvisor needs Node >= 22.18 (this is ${process.versions.node}); run "npm ci" to install one`);
    process.exit(1);
  }
  const result = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
await import("../src/cli/main.ts");
