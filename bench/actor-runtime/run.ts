import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import Table from "cli-table3";
import { execa } from "execa";
import type { ActorRuntimeResult } from "./measure.ts";

const measure = fileURLToPath(new URL("./measure.ts", import.meta.url));
const commands = {
  node: ["node", [measure]],
  deno: ["deno", ["run", "-A", measure]],
} as const;

/** Runs the measurement under each runtime asked for, one after the other, and prints one table. */
export async function runActorRuntimeBench(options: { runtime: string; json?: string }): Promise<void> {
  const runtimes = options.runtime === "both" ? (["node", "deno"] as const) : [options.runtime];
  const results: ActorRuntimeResult[] = [];
  for (const runtime of runtimes) {
    if (runtime !== "node" && runtime !== "deno") throw new RangeError(`Cannot run the benchmark: unknown runtime "${runtime}"`);
    const [file, args] = commands[runtime];
    const { stdout } = await execa(file, args, { preferLocal: true, stderr: "inherit" });
    results.push(JSON.parse(stdout.trim().split("\n").at(-1) as string) as ActorRuntimeResult);
  }
  const table = new Table({ head: ["actor runtime (2 workers)", ...results.map((r) => `${r.runtime} ${r.runtimeVersion}`)] });
  const row = (label: string, pick: (r: ActorRuntimeResult) => string) => table.push([label, ...results.map(pick)]);
  row("ask main↔worker p50 / p99 (µs)", (r) => `${r.askMainToWorkerUs.p50.toFixed(0)} / ${r.askMainToWorkerUs.p99.toFixed(0)}`);
  row("ask within a worker p50 / p99 (µs)", (r) => `${r.askWithinWorkerUs.p50.toFixed(1)} / ${r.askWithinWorkerUs.p99.toFixed(1)}`);
  row("tell throughput (messages/s)", (r) => Math.round(r.tellPerSecond).toLocaleString("en-US"));
  row("broadcast+gather, 10,000 actors: median / max (ms)", (r) => `${r.broadcastGatherMs.median.toFixed(1)} / ${r.broadcastGatherMs.max.toFixed(1)}`);
  console.log(table.toString());
  if (options.json !== undefined) await writeFile(options.json, `${JSON.stringify(results, null, 2)}\n`);
}
