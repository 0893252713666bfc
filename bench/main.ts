/**
 * podvisor's benchmarks: `npm run bench -- <name> [options]`.
 *
 *   actors   the actor runtime: ask round trips, tell throughput, broadcast-and-gather,
 *            under Node and under Deno, printed as one table.
 *
 * The teardown benchmark (many sandboxes, against a sequential baseline and the raw floor)
 * comes with the batch-stop issue; it does not exist yet.
 */
import { Command } from "commander";
import { runActorRuntimeBench } from "./actor-runtime/run.ts";

const program = new Command("bench").description("podvisor benchmarks").showHelpAfterError();
program
  .command("actors")
  .description("actor runtime micro-benchmark, under Node and Deno")
  .option("--runtime <runtime>", "node, deno or both", "both")
  .option("--json <file>", "also write the results to this JSON file")
  .action(runActorRuntimeBench);
await program.parseAsync(process.argv);
