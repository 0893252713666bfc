#!/usr/bin/env node
// The podvisor command on Node. Node 22.18+ runs the TypeScript sources directly; on an older
// Node (the machines' own Node 20 is past end of life) re-run on the Node the project installs.
// Plain JavaScript: this file must run on that older Node.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

/** The signals a service manager or a terminal ends a program with: each goes on to the child. */
const forwarded = ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"];

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const bundled = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
  if (!existsSync(bundled)) {
    console.error(`podvisor needs Node >= 22.18 (this is ${process.versions.node}); run "npm ci" to install one`);
    process.exit(1);
  }
  runOn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)]);
} else {
  await import("../src/cli/main.ts");
}

/**
 * Runs the command on `node` as a child, passes each signal this process gets on to it (SIGTERM to
 * this wrapper stops the daemon, not only the wrapper), and ends as the child ended: with its exit
 * status, or killed by the same signal.
 */
function runOn(node, args) {
  const child = spawn(node, args, { stdio: "inherit" });
  for (const signal of forwarded) {
    process.on(signal, () => {
      // A terminal's Ctrl-C reaches the child by itself (one process group); once more is harmless.
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  child.on("error", (error) => {
    console.error(`podvisor: cannot run ${node}: ${error.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    // Die of the same signal, so that whoever waits for this process sees what the child saw.
    for (const name of forwarded) process.removeAllListeners(name);
    process.kill(process.pid, signal);
    // A signal whose default is not to end a process: exit as a shell reports it, 128 + its number.
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 1_000);
  });
}
