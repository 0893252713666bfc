/** How to run a TypeScript entry point under each runtime podvisor supports (from node_modules/.bin). */
export const runtimes = ["node", "deno"] as const;
export type Runtime = (typeof runtimes)[number];

export function commandFor(runtime: Runtime, script: string, args: string[] = []): [string, string[]] {
  return runtime === "node" ? ["node", [script, ...args]] : ["deno", ["run", "-A", script, ...args]];
}
