/**
 * Whatever a trial's outcome, it leaves nothing: first the way an operator would (a daemon on the
 * same root, stopped with SIGTERM: it resumes, repairs leaks at start and stops everything), then,
 * for what even that left, by hand — `cgroup.kill` of the daemon's cgroup, unmounts, netns removal,
 * and a SIGKILL to each tracked process still running.
 */
import { rm } from "node:fs/promises";
import { removeCgroup } from "../../src/host/cgroup-remove.ts";
import { killCgroup } from "../../src/host/cgroup.ts";
import { findHostLeftovers, isClean } from "../../src/host/leftovers.ts";
import type { HostLeftovers } from "../../src/host/leftovers.ts";
import { mountsUnder } from "../../src/host/mountinfo.ts";
import { removeNetnsBatch } from "../../src/host/netns-remove.ts";
import { unmountMany } from "../../src/host/unmount.ts";
import { CrashDaemon } from "./daemon.ts";
import type { CrashBackend, DaemonRuntime } from "./daemon.ts";
import { findOciTrialLeftovers, removeOciTrialLeftovers } from "./oci-leftovers.ts";
import { killTracked, stillRunning } from "./processes.ts";
import type { ProcessIdentity } from "./processes.ts";

export interface TrialLeftovers {
  runtime: DaemonRuntime;
  root: string;
  tag: string;
  stopTimeoutMs: number;
  backend?: CrashBackend;
  /** The trial's daemon, if one may still run. */
  daemon?: CrashDaemon;
  tracked: Iterable<ProcessIdentity>;
}

/** Cleans up after a trial; returns what had to be done beyond the trial's own final stop. */
export async function cleanUpTrial(trial: TrialLeftovers): Promise<string[]> {
  const done: string[] = [];
  if (trial.daemon?.running) {
    await trial.daemon.crash();
    done.push("killed the trial's daemon");
  }
  if (!(await isHostClean(trial))) {
    try {
      const daemon = await CrashDaemon.start({ runtime: trial.runtime, root: trial.root, stopTimeoutMs: trial.stopTimeoutMs, backend: trial.backend });
      await daemon.terminate();
      done.push("ran a daemon on the root and stopped it");
    } catch (error) {
      done.push(`could not run a daemon on the root: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  const left = await findHostLeftovers({ root: trial.root, tag: trial.tag });
  if (!isClean(left)) done.push(...(await removeByHand(trial, left)));
  if (isOci(trial)) done.push(...(await removeOciTrialLeftovers(trial.root, trial.tag, trial.backend as string)));
  const killed = await killTracked(trial.tracked);
  if (killed > 0) done.push(`killed ${killed} tracked process(es) by pid`);
  const mounts = await mountsUnder(trial.root);
  if (mounts.length === 0) await rm(trial.root, { recursive: true, force: true });
  else done.push(`left ${trial.root}: ${mounts.length} mount(s) could not be removed`);
  return done;
}

async function isHostClean(trial: TrialLeftovers): Promise<boolean> {
  if (isOci(trial) && (await findOciTrialLeftovers(trial.root, trial.tag)).length > 0) return false;
  return isClean(await findHostLeftovers({ root: trial.root, tag: trial.tag })) && (await stillRunning(trial.tracked)).length === 0;
}

function isOci(trial: TrialLeftovers): boolean {
  return trial.backend !== undefined && trial.backend !== "process";
}

async function removeByHand(trial: TrialLeftovers, left: HostLeftovers): Promise<string[]> {
  const done: string[] = [];
  const top = `podvisor-${trial.tag}`;
  if (left.cgroups.length > 0) {
    await killCgroup(top).catch(() => {});
    done.push(`cgroup.kill of ${top} (${left.pids.length} process(es))`);
  }
  if (left.mounts.length > 0) {
    const { failed } = await unmountMany(left.mounts.toReversed(), { root: trial.root });
    done.push(`unmounted ${left.mounts.length - failed.length} of ${left.mounts.length} mount(s)`);
  }
  if (left.netns.length > 0) {
    const { failed } = await removeNetnsBatch(left.netns);
    done.push(`removed ${left.netns.length - failed.length} of ${left.netns.length} netns`);
  }
  if (left.cgroups.length > 0) {
    await removeCgroup(top).then(() => done.push(`removed the cgroups under ${top}`), (error: Error) => done.push(`could not remove ${top}: ${error.message}`));
  }
  return done;
}
