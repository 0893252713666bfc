/**
 * One crash trial: a daemon on a fresh root runs a seeded mix of sandboxes, starts a stop-all, and
 * is killed with SIGKILL at a seeded moment during it; a next daemon on the same root resumes the
 * stop, a second stop-all finishes the job, and the trial checks what is left (see `trial-checks.ts`).
 */
import { mkdtemp, realpath } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { ApiClient } from "../../src/cli/client.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { cleanUpTrial } from "./cleanup.ts";
import { CrashDaemon, tagOf } from "./daemon.ts";
import type { CrashBackend, DaemonRuntime } from "./daemon.ts";
import { ExitLedger, readDisk } from "./exits.ts";
import type { ContainerView } from "./exits.ts";
import { findOciTrialLeftovers } from "./oci-leftovers.ts";
import { populate, waitUntilSettled } from "./populate.ts";
import { processesInCgroup } from "./processes.ts";
import type { ProcessIdentity } from "./processes.ts";
import { checkAfterRestart, removeEverySandbox, waitForResumedStop } from "./trial-checks.ts";
import type { CrashTrialResult } from "./trial-checks.ts";
import { planContainers } from "./workloads.ts";

export type { CrashTrialResult };

export interface CrashTrialOptions {
  runtime: DaemonRuntime;
  sandboxes: number;
  /** Containers per sandbox, besides its infra container. */
  containers: number;
  /** The stop-all's `timeoutMs`, and the daemon's --stop-timeout. */
  stopTimeoutMs: number;
  /** Draws the containers' mix and, unless `killAtMs` is given, the kill moment. */
  seed: number;
  /** The kill, in ms after the stop-all was sent; by default drawn from the seed within `killWindow`. */
  killAtMs?: number;
  /** The range of kill moments, from the stop-all's sending; default {@link defaultKillRangeMs}. */
  killRangeMs?: number;
  /** Fractions of the kill range to draw the kill from; default [0, 1]. */
  killWindow?: [number, number];
  /** The daemons' --log-level (default "warn"); a failed trial's report ends with the last daemon's log. */
  daemonLogLevel?: string;
  /** The daemons' --backend; default "process". */
  backend?: CrashBackend;
  /** Every container's rootfs: required on the OCI backends (runc, crun). */
  rootfs?: string;
}

/** By default a kill may fall from the stop's sending to well past its deadline: the host cleanup runs after the kills. */
export function defaultKillRangeMs(stopTimeoutMs: number): number {
  return stopTimeoutMs + Math.max(1_000, stopTimeoutMs / 2);
}

/** How often the exits are read during the stop, on a connection of their own. */
const watchIntervalMs = 25;

export async function runCrashTrial(options: CrashTrialOptions): Promise<CrashTrialResult> {
  const rng = xoroshiro128plus(options.seed);
  const planned = planContainers(rng, options.sandboxes * options.containers);
  const [from, to] = options.killWindow ?? [0, 1];
  const range = options.killRangeMs ?? defaultKillRangeMs(options.stopTimeoutMs);
  const killAtMs = options.killAtMs ?? uniformInt(rng, Math.round(from * range), Math.round(to * range));
  const root = await realpath(await mkdtemp(join(tmpdir(), "pvcrash-")));
  const tag = tagOf(root);
  const tracked = new Map<string, ProcessIdentity>();
  const track = (found: ProcessIdentity[]) => found.forEach((identity) => tracked.set(`${identity.pid}:${identity.startTime}`, identity));
  const result: CrashTrialResult = { runtime: options.runtime, seed: options.seed, killAtMs, root, stopAtCrash: "not-journaled", sandboxesStoppedAtCrash: 0, leaks: [], lostExits: [], problems: [], exitsKnownBeforeCrash: 0, exitUnknown: 0, restartMs: 0, removedAtStart: 0, cleanup: [], durationMs: 0 };
  const startedAt = Date.now();
  const backend = options.backend ?? "process";
  if (backend !== "process" && options.rootfs === undefined) throw new RangeError(`Cannot run a crash trial on ${backend}: its containers need a rootfs`);
  const daemonOptions = { runtime: options.runtime, root, stopTimeoutMs: options.stopTimeoutMs, logLevel: options.daemonLogLevel, backend };
  let daemon: CrashDaemon | undefined;
  try {
    daemon = await CrashDaemon.start(daemonOptions);
    const kinds = await populate(daemon.socket, options.sandboxes, planned, { rootfs: backend === "process" ? undefined : options.rootfs });
    const client = await ApiClient.connect(daemon.socket);
    await waitUntilSettled(client, kinds, { oci: backend !== "process" });
    const ledger = new ExitLedger();
    ledger.observeAll((await client.call<{ items: ContainerView[] }>("ListContainers")).items, "api:before-stop");
    track(await processesInCgroup(`podvisor-${tag}`));

    // The stop, the exits a client sees meanwhile, and the crash.
    const watching = watchExits(await ApiClient.connect(daemon.socket), ledger);
    const sentAt = Date.now();
    client.call("StopPodSandboxes", { all: true, timeoutMs: options.stopTimeoutMs }).catch(() => {}); // its answer may die with the daemon
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, sentAt + killAtMs - Date.now())));
    track(await processesInCgroup(`podvisor-${tag}`));
    await daemon.crash();
    client.close();
    await watching();

    // What the dead daemon left on disk: every exit there must outlive it too.
    const disk = await readDisk(root);
    ledger.observeAll(disk.containers, "disk");
    result.exitsKnownBeforeCrash = ledger.size;
    result.sandboxesStoppedAtCrash = disk.sandboxes.filter((sandbox) => sandbox.state === "stopped").length;
    const allStopped = result.sandboxesStoppedAtCrash === disk.sandboxes.length;
    result.stopAtCrash = disk.stopIntents.length > 0 ? "journaled" : allStopped ? "finished" : "not-journaled";

    daemon = await CrashDaemon.start(daemonOptions);
    result.restartMs = daemon.startMs;
    const next = await ApiClient.connect(daemon.socket);
    try {
      if (disk.stopIntents.length > 0) await waitForResumedStop(next, daemon, disk.stopIntents, result);
      await checkAfterRestart(next, { tag, stopTimeoutMs: options.stopTimeoutMs, ledger, tracked: [...tracked.values()] }, result);
      await removeEverySandbox(next, result); // as an operator would: what the crash left must go with them
    } finally {
      next.close();
    }
    const exit = await daemon.terminate();
    if (exit.exitCode !== 0) result.problems.push(`the daemon's final stop (SIGTERM) ended with exit code ${exit.exitCode}, signal ${exit.signal}`);
    const left = await findHostLeftovers({ root, tag });
    for (const [kind, names] of Object.entries(left)) {
      for (const name of names as (string | number)[]) result.leaks.push({ what: `${kind === "pids" ? "process" : kind} ${name}`, when: "after the daemon's final stop (SIGTERM)" });
    }
    if (backend !== "process") {
      for (const what of await findOciTrialLeftovers(root, tag)) result.leaks.push({ what, when: "after every sandbox was removed and the daemon stopped" });
    }
  } catch (error) {
    result.problems.push(`the trial failed: ${(error as Error).message}`);
  } finally {
    const failed = result.leaks.length + result.lostExits.length + result.problems.length > 0;
    if (failed && daemon !== undefined) result.daemonLog = daemon.logTail(60);
    result.cleanup = await cleanUpTrial({ ...daemonOptions, tag, daemon, tracked: [...tracked.values()] });
    result.durationMs = Date.now() - startedAt;
  }
  return result;
}

/** Reads every container's exit until the daemon dies; the returned function waits for that. */
function watchExits(client: ApiClient, ledger: ExitLedger): () => Promise<void> {
  const loop = (async () => {
    for (;;) {
      try {
        ledger.observeAll((await client.call<{ items: ContainerView[] }>("ListContainers")).items, "api:during-stop");
      } catch {
        return; // the daemon is gone
      }
      await new Promise((resolve) => setTimeout(resolve, watchIntervalMs));
    }
  })();
  return async () => {
    client.close();
    await loop;
  };
}
