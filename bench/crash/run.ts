/**
 * `npm run bench -- crash`: crash trials against a real daemon (see `trial.ts`), one line per trial,
 * and at the end "N trials, N leaks, N lost exit codes". Exits non-zero if any trial found a leak, a
 * lost exit code, or another failure; each such trial prints the command that replays it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile } from "../stats.ts";
import { makeBusyboxRootfs } from "../teardown/busybox-rootfs.ts";
import type { CrashBackend, DaemonRuntime } from "./daemon.ts";
import { leakCount } from "./trial-checks.ts";
import type { CrashTrialResult } from "./trial-checks.ts";
import { isCleanTrial, runCrashTrials } from "./trials.ts";
import type { CrashTrialsSummary } from "./trials.ts";

export interface CrashFlags {
  trials: string;
  sandboxes: string;
  containers: string;
  runtime: string;
  /** The daemons' --backend: process, runc or crun (the OCI ones get a busybox rootfs). */
  backend: string;
  timeout: string;
  seed?: string;
  killAt?: string;
  daemonLogLevel: string;
}

export async function runCrashBench(flags: CrashFlags): Promise<void> {
  const runtimes: DaemonRuntime[] = flags.runtime === "both" ? ["node", "deno"] : [flags.runtime as DaemonRuntime];
  if (!runtimes.every((runtime) => runtime === "node" || runtime === "deno")) throw new RangeError(`Cannot run crash trials: unknown runtime "${flags.runtime}"`);
  const [trials, sandboxes, containers] = [flags.trials, flags.sandboxes, flags.containers].map(positiveInteger);
  const stopTimeoutMs = Number(flags.timeout) * 1_000;
  if (!(stopTimeoutMs > 0)) throw new RangeError(`Cannot run crash trials: --timeout must be a positive number of seconds, not "${flags.timeout}"`);
  const seed = flags.seed === undefined ? Date.now() % 1_000_000 : positiveInteger(flags.seed);
  const killAtMs = flags.killAt === undefined ? undefined : positiveInteger(flags.killAt);
  const backend = flags.backend as CrashBackend;
  if (!["process", "runc", "crun"].includes(backend)) throw new RangeError(`Cannot run crash trials: unknown backend "${flags.backend}" (process, runc or crun)`);
  // The OCI backends' containers need a root filesystem: one busybox-static folder, shared read-only (each gets its own overlay).
  const rootfsDir = backend === "process" ? undefined : await mkdtemp(join(tmpdir(), "pvcrash-rootfs-"));
  const summaries: CrashTrialsSummary[] = [];
  try {
    const rootfs = rootfsDir === undefined ? undefined : await makeBusyboxRootfs(rootfsDir);
    for (const runtime of runtimes) {
      console.log(`Crash trials, ${runtime} daemon, ${backend} backend: ${trials} × (${sandboxes} sandboxes × ${containers} containers), stop timeout ${stopTimeoutMs / 1_000} s, seed ${seed}`);
      const replay = `npm run bench -- crash --runtime ${runtime} --backend ${backend} --sandboxes ${sandboxes} --containers ${containers} --timeout ${flags.timeout} --trials 1`;
      const summary = await runCrashTrials({
        runtime, backend, rootfs, trials, sandboxes, containers, stopTimeoutMs, seed, killAtMs, daemonLogLevel: flags.daemonLogLevel,
        onTrial: (result, index) => console.log(describeTrial(result, `${index + 1}/${trials}`, `${replay} --seed ${result.seed} --kill-at ${result.killAtMs}`)),
      });
      console.log(`${runtime}: ${headline(summary)}`);
      console.log(`${runtime}: ${figures(summary.results)}`);
      summaries.push(summary);
    }
  } finally {
    if (rootfsDir !== undefined) await rm(rootfsDir, { recursive: true, force: true });
  }
  const total = summaries.reduce((sum, s) => ({ ...sum, trials: sum.trials + s.trials, leaks: sum.leaks + s.leaks, lostExitCodes: sum.lostExitCodes + s.lostExitCodes, failedTrials: sum.failedTrials + s.failedTrials }));
  if (total.failedTrials > 0) console.log(`${total.failedTrials} trial(s) failed otherwise (see above)`);
  console.log(headline(total));
  if (total.leaks + total.lostExitCodes + total.failedTrials > 0) process.exitCode = 1;
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`Cannot run crash trials: "${text}" is not a whole number`);
  return value;
}

function headline(summary: Pick<CrashTrialsSummary, "trials" | "leaks" | "lostExitCodes">): string {
  return `${summary.trials} trials, ${summary.leaks} leaks, ${summary.lostExitCodes} lost exit codes`;
}

/** One line per trial; a failed one adds what went wrong and how to replay it. */
export function describeTrial(result: CrashTrialResult, label: string, replay?: string): string {
  const seconds = (ms: number | undefined) => (ms === undefined ? "–" : `${(ms / 1_000).toFixed(1)} s`);
  const line = `trial ${label} seed ${result.seed}: killed ${result.killAtMs} ms into the stop (${result.stopAtCrash}, ${result.sandboxesStoppedAtCrash} stopped on disk); `
    + `restart ${seconds(result.restartMs)}, resume ${seconds(result.resumeMs)}; ${result.exitsKnownBeforeCrash} exits known before the crash, ${result.exitUnknown} exit-unknown; `
    + `${leakCount(result)} leaks, ${result.lostExits.length} lost exit codes — ${isCleanTrial(result) ? "ok" : "FAILED"} (${seconds(result.durationMs)})`;
  const details = [
    ...result.leaks.map((leak) => `  leak: ${leak.what} ${leak.when}`),
    ...result.lostExits.map((lost) => `  lost exit: container ${lost.containerId} was ${JSON.stringify(lost.before)} (${lost.source}), now ${JSON.stringify(lost.after)}`),
    ...result.problems.map((problem) => `  problem: ${problem}`),
    ...result.cleanup.map((step) => `  cleanup: ${step}`),
  ];
  if (result.daemonLog !== undefined && result.daemonLog !== "") details.push(`  the last daemon's log:\n${result.daemonLog.replace(/^/gm, "    ")}`);
  if (!isCleanTrial(result) && replay !== undefined) details.push(`  replay: ${replay}`);
  return [line, ...details].join("\n");
}

/** The figures beyond the headline: exit-unknown, restart and resume times, where the kills fell. */
function figures(results: CrashTrialResult[]): string {
  const s = (values: number[]) => (values.length === 0 ? "–" : `${(percentile(values, 50) / 1_000).toFixed(2)} / ${(percentile(values, 100) / 1_000).toFixed(2)} s`);
  const resumed = results.filter((result) => result.resumeMs !== undefined);
  const at = (state: CrashTrialResult["stopAtCrash"]) => results.filter((result) => result.stopAtCrash === state).length;
  return [
    `${results.reduce((sum, r) => sum + r.exitUnknown, 0)} exit-unknown`,
    `${results.reduce((sum, r) => sum + r.exitsKnownBeforeCrash, 0)} exits known before the crashes`,
    `killed before the stop was journaled ${at("not-journaled")}, during it ${at("journaled")}, after it ${at("finished")}`,
    `restart p50 / max ${s(results.map((r) => r.restartMs))}`,
    `resume (${resumed.length}) p50 / max ${s(resumed.map((r) => r.resumeMs as number))}`,
    `resume done past max(deadline, restart) p50 / max ${s(resumed.map((r) => r.resumeOverrunMs as number))}`,
    `leaks removed by the restarted daemon's start-up check ${results.reduce((sum, r) => sum + r.removedAtStart, 0)}`,
  ].join("; ");
}
