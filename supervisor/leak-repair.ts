import { readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { CodedError, toErrorData } from "../src/errors/coded-error.ts";
import type { HostKindReport, HostObjectKind } from "../src/api/api-types.ts";
import { killCgroup } from "../src/host/cgroup.ts";
import { isNotFound } from "../src/host/cgroup-fs.ts";
import { findCgroup2Mount } from "../src/host/cgroup-path.ts";
import { removeV1Cgroup } from "../src/host/cgroup-v1.ts";
import { waitForCgroupEmpty } from "../src/host/cgroup-wait.ts";
import { validateNetnsName } from "../src/host/netns.ts";
import type { SupervisorContext } from "./context.ts";
import { cgroupIds, mountIds } from "./leak-find.ts";
import type { RepairPlan } from "./leak-find.ts";

/** How long killed leaked processes get to be gone from their cgroups. */
export const leakKillGraceMs = 5_000;
/** How often a process killed on its own (it has no cgroup of its own to watch) is looked for. */
const pidPollIntervalMs = 20;

export interface RepairOptions {
  /** Ids in flight now: anything named after one that began during the check is left alone. */
  busy: ReadonlySet<string>;
  signal?: AbortSignal;
}

/**
 * Removes the leaks of a plan, in the order of a sandbox's own cleanup: unmounts, then network
 * namespaces, then the processes (killed), then the cgroups, deepest first. Each item's outcome
 * goes into its kind's `removed` or `failed`; nothing here throws for one item. An item whose
 * sandbox or container began an operation while the check ran is skipped and said so.
 */
export async function repairLeaks(context: SupervisorContext, plan: RepairPlan, kinds: Record<HostObjectKind, HostKindReport>, options: RepairOptions): Promise<void> {
  const skipBusy: SkipBusy = (kind, items, names, ids) => items.filter((item) => {
    if (!ids(item).some((id) => options.busy.has(id))) return true;
    const skipped = new Set(names(item));
    for (const leak of kinds[kind].leaks) {
      if (skipped.has(leak.name)) leak.notRepaired = "an operation on its sandbox or container began while the check ran";
    }
    return false;
  });
  const settle = async <T>(kind: HostObjectKind, items: T[], name: (item: T) => string, remove: (item: T) => Promise<unknown>) => {
    const outcomes = await Promise.allSettled(items.map(remove));
    outcomes.forEach((outcome, index) => {
      if (outcome.status === "fulfilled") kinds[kind].removed.push(name(items[index]));
      else kinds[kind].failed.push({ name: name(items[index]), ...toErrorData(outcome.reason) });
    });
  };
  const same = (item: string) => item;
  const itself = (item: string) => [item];

  options.signal?.throwIfAborted();
  const mounts = skipBusy("mounts", plan.mounts, itself, (point) => mountIds(context.root, point));
  await settle("mounts", mounts, same, (point) => context.hostWork.unmount.run(point));

  options.signal?.throwIfAborted();
  const netns = skipBusy("netns", plan.netns, itself, (name) => [name.slice(`pv-${context.tag}-`.length)]);
  await settle("netns", netns, same, async (name) => {
    validateNetnsName(name); // a bad name would fail the whole batch it joins
    return context.hostWork.netnsRemoval.run(name);
  });

  options.signal?.throwIfAborted();
  await killLeakedProcesses(plan, kinds.processes, skipBusy, options.signal);

  options.signal?.throwIfAborted();
  const mount = await findCgroup2Mount().catch(() => undefined);
  const cgroups = mount === undefined ? [] : skipBusy("cgroups", [...plan.cgroups].reverse(), itself, cgroupIds);
  for (const path of cgroups) await settle("cgroups", [path], same, () => removeEmptyCgroup(join(mount as string, path), path));
}

/** Keeps the items none of whose ids is busy; marks the leaks named by the others as not repaired. */
type SkipBusy = <T>(kind: HostObjectKind, items: T[], names: (item: T) => string[], ids: (item: T) => string[]) => T[];

/** Kills leaked processes (whole cgroups where they are all leaked, else one by one), then waits for them to go. */
async function killLeakedProcesses(plan: RepairPlan, report: HostKindReport, skipBusy: SkipBusy, signal: AbortSignal | undefined): Promise<void> {
  const cgroups = skipBusy("processes", [...plan.killCgroups], ([, leaked]) => leaked, ([path]) => cgroupIds(path));
  const pids = skipBusy("processes", plan.killPids, (process) => [String(process.pid)], (process) => cgroupIds(process.cgroup));
  if (cgroups.length + pids.length === 0) return;
  const waitSignal = signal === undefined ? AbortSignal.timeout(leakKillGraceMs) : AbortSignal.any([AbortSignal.timeout(leakKillGraceMs), signal]);
  const fail = (pid: string, error: unknown) => report.failed.push({ name: pid, ...toErrorData(error) });
  await Promise.all([
    ...cgroups.map(async ([path, leaked]) => {
      try {
        await killCgroup(path);
        await waitForCgroupEmpty(path, { signal: waitSignal });
        report.removed.push(...leaked);
      } catch (error) {
        const reason = waitSignal.aborted && signal?.aborted !== true ? new CodedError("DEADLINE_EXCEEDED", `Cannot kill the processes of cgroup ${path}: still there ${leakKillGraceMs} ms after cgroup.kill`) : error;
        for (const pid of leaked) fail(pid, reason);
      }
    }),
    ...pids.map(async ({ pid, cgroup }) => {
      try {
        if (await isIn(pid, cgroup)) process.kill(pid, "SIGKILL");
        while (await isIn(pid, cgroup)) {
          if (waitSignal.aborted) throw new CodedError("DEADLINE_EXCEEDED", `Cannot kill process ${pid}: still in ${cgroup} ${leakKillGraceMs} ms after SIGKILL`);
          await new Promise((resolve) => setTimeout(resolve, pidPollIntervalMs));
        }
        report.removed.push(String(pid));
      } catch (error) {
        if ((error as { code?: unknown }).code === "ESRCH") report.removed.push(String(pid));
        else fail(String(pid), error);
      }
    }),
  ]);
}

/**
 * Whether `pid` is a live process (not a zombie: the kill reached it) in `cgroup`, read from /proc
 * just before it is signalled, so a pid reused since the check is never killed.
 */
async function isIn(pid: number, cgroup: string): Promise<boolean> {
  try {
    const [stat, cgroups] = await Promise.all([readFile(`/proc/${pid}/stat`, "utf8"), readFile(`/proc/${pid}/cgroup`, "utf8")]);
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    return cgroups.split("\n").includes(`0::/${cgroup}`);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT" || (error as { code?: unknown }).code === "ESRCH") return false;
    throw error;
  }
}

/** rmdir of one leaked cgroup (its children went first); one already gone is removed all the same. */
async function removeEmptyCgroup(dir: string, path: string): Promise<void> {
  try {
    await rmdir(dir).catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
    await removeV1Cgroup(path);
  } catch (error) {
    if (isNotFound(error)) return;
    if ((error as { code?: unknown }).code === "EBUSY") {
      throw new CodedError("BUSY", `Cannot remove cgroup ${path}: processes are still in it`, { cause: error });
    }
    throw error;
  }
}
