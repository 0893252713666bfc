/**
 * podvisor's benchmarks: `npm run bench -- <name> [options]`.
 *
 *   actors   the actor runtime: ask round trips, tell throughput, broadcast-and-gather,
 *            under Node and under Deno, printed as one table.
 *   teardown N sandboxes × M containers stopped all at once by a podvisor daemon (process backend,
 *            runc or crun), against the reference's sequential way, the own floor of the same host
 *            work and the C floor (../shared/bench/rawfloor.c); `--via cri` adds kubelet's way
 *            through the CRI beside the JSON-RPC stop-all.
 *   crash    crash trials: a daemon killed with SIGKILL at a random moment of a stop-all, restarted
 *            on the same root; counts leaks and lost exit codes.
 */
import { Command } from "commander";
import { runActorRuntimeBench } from "./actor-runtime/run.ts";
import { runCrashBench } from "./crash/run.ts";
import { defaultCFloorSource, runTeardownBench } from "./teardown/run.ts";

const program = new Command("bench").description("podvisor benchmarks").showHelpAfterError();
program
  .command("actors")
  .description("actor runtime micro-benchmark, under Node and Deno")
  .option("--runtime <runtime>", "node, deno or both", "both")
  .option("--json <file>", "also write the results to this JSON file")
  .action(runActorRuntimeBench);
program
  .command("teardown")
  .description("stop-all latency: podvisor (parallel / sequential, per backend) against its own floor and the C floor, in one run")
  .option("--sandboxes <n>", "sandboxes", "100")
  .option("--containers <m>", "containers per sandbox (plus its infra)", "3")
  .option("--workload <w>", "graceful, ignore-term, slow-exit, forking or lagging", "graceful")
  .option("--timeout <seconds>", "stop timeout", "10")
  .option("--runtime <runtime>", "the daemon's runtime: node or deno", "node")
  .option("--strategy <strategy>", "parallel, sequential or both", "parallel")
  .option("--backend <names>", "the daemon's --backend: process, runc or crun; several comma-separated (process,runc) are measured one after the other", "process")
  .option("--network <modes>", "none, or cni: a bridge network of the benchmark's own (bridge + host-local from /usr/lib/cni), measured beside none, with the DEL floor (the plugins called directly)", "none")
  .option("--via <ways>", "json-rpc (one StopPodSandboxes {all}), or cri: kubelet's way over one gRPC connection (StopContainer of every container, then StopPodSandbox of every pod), measured beside json-rpc on a daemon of its own", "json-rpc")
  .option("--rootfs", "give every container a busybox rootfs (implied by runc and crun, which need one)", false)
  .option("--no-floor", "skip the own (stock tools) floor")
  .option("--c-floor <file>", "the C floor's source, built with gcc and run beside the own floor", defaultCFloorSource)
  .option("--no-c-floor", "skip the C floor")
  .option("--c-floor-fallback <n>", "when the C floor cannot run N (open-file limit): the N to run it at and extrapolate from (default: the largest that fits, less 3%)")
  .option("--out <dir>", "where the JSON and SVG go", "bench/results")
  .action(runTeardownBench);
program
  .command("crash")
  .description("crash trials: SIGKILL the daemon during a stop-all, restart it, check for leaks and lost exit codes")
  .option("--trials <n>", "trials per runtime", "20")
  .option("--sandboxes <n>", "sandboxes per trial", "50")
  .option("--containers <m>", "containers per sandbox (plus its infra)", "3")
  .option("--runtime <runtime>", "the daemon's runtime: node, deno or both", "node")
  .option("--backend <name>", "the daemon's --backend: process, runc or crun (these get a busybox rootfs)", "process")
  .option("--timeout <seconds>", "the stop-all's timeout", "2")
  .option("--seed <n>", "seed of the first trial (trial i uses seed + i); default: from the clock, printed")
  .option("--kill-at <ms>", "kill the daemon this long after the stop-all is sent, instead of a seeded moment")
  .option("--daemon-log-level <level>", "the daemons' log level; a failed trial prints the last daemon's last lines", "warn")
  .action(runCrashBench);
await program.parseAsync(process.argv);
