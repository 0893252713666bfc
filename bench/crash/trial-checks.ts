/**
 * What a crash trial checks once the next daemon runs: the interrupted stop resumed and finished, a
 * second stop-all succeeds, no container runs, no tracked process survives, the daemon's cgroups
 * are empty, and no exit known before the crash was lost or changed.
 */
import type { ApiClient } from "../../src/cli/client.ts";
import type { CrashDaemon, DaemonRuntime } from "./daemon.ts";
import type { ContainerView, ExitLedger, LostExit } from "./exits.ts";
import { processesInCgroup, stillRunning } from "./processes.ts";
import type { ProcessIdentity } from "./processes.ts";

/** Something left on the host: `what` names it (`process 4242`, `netns pv-…`), `when` says when it was seen. */
export interface Leak {
  what: string;
  when: string;
}

export interface CrashTrialResult {
  runtime: DaemonRuntime;
  seed: number;
  killAtMs: number;
  root: string;
  /** Where the stop-all was when the daemon died, read from its root. */
  stopAtCrash: "not-journaled" | "journaled" | "finished";
  sandboxesStoppedAtCrash: number;
  leaks: Leak[];
  lostExits: LostExit[];
  /** Failures that are neither a leak nor a lost exit (a stop that failed, a container still running…). */
  problems: string[];
  /** Exits a client was told of, or on disk, when the daemon died. */
  exitsKnownBeforeCrash: number;
  /** Containers the final view reports exited with `exitCodeUnknown` (not a failure). */
  exitUnknown: number;
  restartMs: number;
  /** From the next daemon's socket serving to every sandbox of the resumed stop stopped. */
  resumeMs?: number;
  /** When the resumed stop was done, past the later of its original deadline and the restart. */
  resumeOverrunMs?: number;
  /** Leaks the next daemon's own check removed at start (`podvisor_leaks_removed_total`). */
  removedAtStart: number;
  /** A failed trial's last daemon's last log lines (its --log-level's worth). */
  daemonLog?: string;
  /** What the cleanup had to do beyond the final stop (empty when the trial left nothing). */
  cleanup: string[];
  durationMs: number;
}

/** Bound on a resumed stop, past its deadline: it must finish, not merely start. */
const resumeGraceMs = 60_000;
const pollMs = 50;

/** Waits until every sandbox of the interrupted stops is stopped; a stop that does not finish is a problem. */
export async function waitForResumedStop(client: ApiClient, daemon: CrashDaemon, intents: { deadlineAt: number; podSandboxIds: string[] }[], result: CrashTrialResult): Promise<void> {
  const ids = new Set(intents.flatMap((intent) => intent.podSandboxIds));
  const deadlineAt = Math.max(...intents.map((intent) => intent.deadlineAt));
  const giveUpAt = Math.max(deadlineAt, Date.now()) + resumeGraceMs;
  for (;;) {
    const { items } = await client.call<{ items: { id: string; state: string }[] }>("ListPodSandbox");
    const pending = items.filter((item) => ids.has(item.id) && item.state !== "stopped");
    if (pending.length === 0) break;
    if (Date.now() > giveUpAt) {
      result.problems.push(`the resumed stop did not finish: ${pending.length} sandbox(es) not stopped ${resumeGraceMs} ms past its deadline`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const doneAt = Date.now();
  result.resumeMs = doneAt - daemon.servedAt;
  result.resumeOverrunMs = doneAt - Math.max(deadlineAt, daemon.servedAt);
}

export interface AfterRestart {
  tag: string;
  stopTimeoutMs: number;
  ledger: ExitLedger;
  tracked: ProcessIdentity[];
}

/** The second stop-all and the checks after it; fills `result`. */
export async function checkAfterRestart(client: ApiClient, trial: AfterRestart, result: CrashTrialResult): Promise<void> {
  const { results } = await client.call<{ results: { podSandboxId: string; ok: boolean; error?: { code: string; message: string } }[] }>("StopPodSandboxes", { all: true, timeoutMs: trial.stopTimeoutMs });
  for (const failed of results.filter((entry) => !entry.ok)) result.problems.push(`the stop-all after the restart failed for ${failed.podSandboxId}: ${failed.error?.code} ${failed.error?.message}`);

  const { items } = await client.call<{ items: ContainerView[] }>("ListContainers");
  for (const container of items.filter((item) => item.state !== "exited")) result.problems.push(`container ${container.id} is ${container.state} after the stop-all`);
  result.exitUnknown = items.filter((item) => item.exitCodeUnknown === true).length;
  result.lostExits = trial.ledger.lost(new Map(items.map((item) => [item.id, item])));

  for (const identity of await stillRunning(trial.tracked)) result.leaks.push({ what: `process ${identity.pid}`, when: `still runs (${identity.comm}) after the stop-all` });
  for (const identity of await processesInCgroup(`podvisor-${trial.tag}`)) {
    result.leaks.push({ what: `process ${identity.pid}`, when: `in the daemon's cgroups (${identity.comm}) after the stop-all` });
  }
  // The daemon's own leak check (report only) must find nothing either: on runc it also knows conmon,
  // the runtime's state folders and the bundles no record owns.
  const check = await client.call<{ kinds: Record<string, { leaks: { name: string; reason: string }[]; error?: { message: string } }> }>("CheckHost", { repair: false });
  for (const [kind, found] of Object.entries(check.kinds)) {
    for (const leak of found.leaks) result.leaks.push({ what: `${kind} ${leak.name}`, when: `reported by the daemon's leak check after the stop-all (${leak.reason})` });
    if (found.error !== undefined) result.problems.push(`the daemon's leak check could not read its ${kind}: ${found.error.message}`);
  }
  const { text } = await client.call<{ text: string }>("Metrics");
  result.removedAtStart = [...text.matchAll(/^podvisor_leaks_removed_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
}

/** Removes every sandbox (and so every container: on runc its runtime state, bundle and v1 cgroups); a failure is a problem. */
export async function removeEverySandbox(client: ApiClient, result: CrashTrialResult): Promise<void> {
  const { items } = await client.call<{ items: { id: string }[] }>("ListPodSandbox");
  for (const { id } of items) {
    await client.call("RemovePodSandbox", { podSandboxId: id }).catch((error: Error) => result.problems.push(`the removal of sandbox ${id} failed: ${error.message}`));
  }
}

/** Leaked objects, each counted once however many checks saw it. */
export function leakCount(result: CrashTrialResult): number {
  return new Set(result.leaks.map((leak) => leak.what)).size;
}
