/**
 * Which JavaScript runtime podvisor runs on, and the few behaviours that differ between them.
 * This folder is the only place in podvisor allowed to ask.
 */
export type RuntimeName = "node" | "deno";

const denoVersion: string | undefined = (process.versions as Record<string, string | undefined>).deno;

/** `"deno"` under Deno 2 (which also sets `process.versions.node`), `"node"` otherwise. */
export const runtimeName: RuntimeName = denoVersion === undefined ? "node" : "deno";

/** The runtime's own version: Node's `process.versions.node`, or Deno's version. */
export const runtimeVersion: string = denoVersion ?? process.versions.node;

/**
 * Whether `worker.terminate()` really stops a thread caught in a synchronous loop.
 * Node stops it within milliseconds. Deno resolves the promise but the thread keeps running
 * (an open upstream bug), so there a hung worker can only be abandoned, and the process restarted.
 * `test/actor-system/worker-supervision.test.ts` checks this against what the runtime really does.
 */
export const canTerminateSpinningWorker: boolean = runtimeName === "node";

/**
 * The command that runs this same program again with the same arguments: for a daemon that must
 * restart itself (a hung worker on Deno cannot be stopped, only left behind with its process).
 */
export function commandOfThisProcess(): { file: string; args: string[] } {
  const [, script, ...args] = process.argv;
  if (runtimeName === "deno") return { file: process.execPath, args: ["run", "-A", script, ...args] };
  return { file: process.execPath, args: [...process.execArgv, script, ...args] };
}
