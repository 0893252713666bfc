/**
 * The short run of the crash trials (`bench/crash/`; the long one is `npm run bench -- crash`): a
 * daemon killed with SIGKILL at moments spread over a stop-all — while it signals, at the kills,
 * during the host cleanup, after it — restarted on the same root, leaves nothing behind and loses
 * no exit code. Also: the trials' own checks catch what they are meant to catch.
 */
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { describeTrial } from "../../bench/crash/run.ts";
import { ExitLedger } from "../../bench/crash/exits.ts";
import type { ContainerView } from "../../bench/crash/exits.ts";
import { isStillRunning } from "../../bench/crash/processes.ts";
import { runCrashTrials } from "../../bench/crash/trials.ts";
import { runtimes } from "../support/runtimes.ts";
import type { Runtime } from "../support/runtimes.ts";

describe.each(runtimes)("crash trials on a %s daemon", (runtime: Runtime) => {
  test("a daemon killed at any moment of a stop-all and restarted leaks nothing and loses no exit code", async () => {
    const trials = 3;
    // Kills fall in [0, 1.3 s] after the stop-all of timeout 1 s is sent: one trial per third.
    const summary = await runCrashTrials({ runtime, trials, sandboxes: 5, containers: 3, stopTimeoutMs: 1_000, killRangeMs: 1_300, seed: 20_261_128 });
    const report = summary.results.map((result, index) => describeTrial(result, `${index + 1}/${trials}`)).join("\n");
    expect({ leaks: summary.leaks, lostExitCodes: summary.lostExitCodes, failedTrials: summary.failedTrials }, report).toEqual({ leaks: 0, lostExitCodes: 0, failedTrials: 0 });
    // The checks checked something: each trial knew exits before its crash (the early ones at least).
    for (const result of summary.results) expect(result.exitsKnownBeforeCrash, report).toBeGreaterThan(0);
  }, 120_000);
});

describe("the crash trials' checks", () => {
  const exited = (id: string, fields: Partial<ContainerView>): ContainerView => ({ id, podSandboxId: "p", infra: false, state: "exited", logPath: "", cgroupPath: "", ...fields });

  test("an exit known before the crash that is changed, unknown, running or gone after it is lost; an equal one is not", () => {
    const ledger = new ExitLedger();
    const before = [
      exited("same", { exitCode: 17, reason: "exited" }),
      exited("changed", { exitCode: 17, reason: "exited" }),
      exited("unknown", { signal: "SIGKILL", reason: "signalled" }),
      exited("running", { exitCode: 3, reason: "exited" }),
      exited("gone", { exitCode: 4, reason: "exited" }),
    ];
    ledger.observeAll(before, "api:before-stop");
    ledger.observeAll([{ id: "not-yet", state: "running" }], "api:before-stop");
    const after = [
      exited("same", { exitCode: 17, reason: "exited" }),
      exited("changed", { exitCode: 18, reason: "exited" }),
      exited("unknown", { reason: "signalled", exitCodeUnknown: true }),
      { ...exited("running", {}), state: "running" as const },
      exited("not-yet", { exitCodeUnknown: true }),
    ];
    const lost = ledger.lost(new Map(after.map((container) => [container.id, container])));
    expect(lost.map((entry) => entry.containerId).sort()).toEqual(["changed", "gone", "running", "unknown"]);
  });

  test("an exit that reads differently between two sightings before the crash is lost", () => {
    const ledger = new ExitLedger();
    ledger.observe("c", { exitCode: 1, reason: "exited" }, "api:during-stop");
    ledger.observe("c", { exitCode: 2, reason: "exited" }, "disk");
    const final = new Map([["c", exited("c", { exitCode: 1, reason: "exited" })]]);
    expect(ledger.lost(final)).toMatchObject([{ containerId: "c", source: "api:during-stop" }]);
  });

  test("a tracked process is running until it is killed (its zombie does not count), and a reused pid is not it", async () => {
    const child = execa("sleep", ["1000"], { reject: false });
    const stat = await readFile(`/proc/${child.pid}/stat`, "utf8");
    const identity = { pid: child.pid as number, startTime: stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19], comm: "sleep" };
    expect(await isStillRunning(identity)).toBe(true);
    expect(await isStillRunning({ ...identity, startTime: "1" })).toBe(false);
    process.kill(identity.pid, "SIGKILL"); // a zombie until execa reaps it
    await expect.poll(() => isStillRunning(identity)).toBe(false);
    await child;
  });
});
