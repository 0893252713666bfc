/**
 * podvisor's benchmarks: `npm run bench -- <name> [options]`.
 *
 *   actors   the actor runtime: ask round trips, tell throughput, broadcast-and-gather,
 *            under Node and under Deno, printed as one table.
 *   teardown N sandboxes × M containers stopped all at once by a podvisor daemon, against the
 *            reference's sequential way and the raw floor of the same host work.
 *   crash    crash trials: a daemon killed with SIGKILL at a random moment of a stop-all, restarted
 *            on the same root; counts leaks and lost exit codes.
 */
import { Command } from "commander";
import { runActorRuntimeBench } from "./actor-runtime/run.ts";
import { runCrashBench } from "./crash/run.ts";
import { runTeardownBench } from "./teardown/run.ts";

const program = new Command("bench").description("podvisor benchmarks").showHelpAfterError();
program
  .command("actors")
  .description("actor runtime micro-benchmark, under Node and Deno")
  .option("--runtime <runtime>", "node, deno or both", "both")
  .option("--json <file>", "also write the results to this JSON file")
  .action(runActorRuntimeBench);
program
  .command("teardown")
  .description("stop-all latency: podvisor (parallel / sequential) against the raw floor, in one run")
  .option("--sandboxes <n>", "sandboxes", "100")
  .option("--containers <m>", "containers per sandbox (plus its infra)", "3")
  .option("--workload <w>", "graceful, ignore-term, slow-exit, forking or lagging", "graceful")
  .option("--timeout <seconds>", "stop timeout", "10")
  .option("--runtime <runtime>", "the daemon's runtime: node or deno", "node")
  .option("--strategy <strategy>", "parallel, sequential or both", "parallel")
  .option("--no-floor", "skip the raw floor")
  .option("--out <dir>", "where the JSON and SVG go", "bench/results")
  .action(runTeardownBench);
program
  .command("crash")
  .description("crash trials: SIGKILL the daemon during a stop-all, restart it, check for leaks and lost exit codes")
  .option("--trials <n>", "trials per runtime", "20")
  .option("--sandboxes <n>", "sandboxes per trial", "50")
  .option("--containers <m>", "containers per sandbox (plus its infra)", "3")
  .option("--runtime <runtime>", "the daemon's runtime: node, deno or both", "node")
  .option("--timeout <seconds>", "the stop-all's timeout", "2")
  .option("--seed <n>", "seed of the first trial (trial i uses seed + i); default: from the clock, printed")
  .option("--kill-at <ms>", "kill the daemon this long after the stop-all is sent, instead of a seeded moment")
  .option("--daemon-log-level <level>", "the daemons' log level; a failed trial prints the last daemon's last lines", "warn")
  .action(runCrashBench);
await program.parseAsync(process.argv);
