/**
 * A worker thread that dies or hangs in the middle of a stop does not stop the stop: the
 * supervisor stops the affected containers itself (their stop signal while the deadline has not
 * passed, the kill at it), records why, rebuilds the actors, and the sandbox ends stopped within
 * its deadline plus a small bound. The hang is real: an actor caught in a synchronous endless loop
 * on the sandbox's own worker (test/actor-system/fixtures).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { startDaemon } from "../../daemon/daemon.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { canTerminateSpinningWorker } from "../../src/platform/runtime.ts";
import { refs } from "../actor-system/fixtures/behaviors.ts";
import { backends, startBackendSupervisor, useBackendSupervisors } from "../support/backends.ts";
import type { BackendName, BackendSupervisor } from "../support/backends.ts";
import { isAlive, noLeftovers, startTestSupervisor, waitUntil, zombieChildren } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

useBackendSupervisors();

const ignoresTerm = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"];
/** What the stop may take past its deadline: the kill, its report, and the record's write. */
const boundMs = 2_500;

// On both backends: the main thread stops the containers through the same backend the actors use.
describe.each(backends)("a worker that fails during a stop, on %s", (backendName: BackendName) => {
  let t: BackendSupervisor;
  beforeEach(async () => {
    t = await startBackendSupervisor(backendName, { workers: 2, heartbeatTimeoutMs: 1_000 });
  });
  afterEach(async () => {
    expect(await t.close()).toEqual(noLeftovers);
  });

  async function podWithStubbornContainer(): Promise<{ id: string; stubborn: string; obedient: string }> {
    const { id, containers: [stubborn, obedient] } = await t.runPod([ignoresTerm, ["sleep", "1000"]], { name: "worker-failure" });
    return { id, stubborn, obedient };
  }

  async function expectStoppedInTime(id: string, stubborn: string, stop: Promise<{ warnings: string[] }>, startedAt: number, timeoutMs: number): Promise<void> {
    const outcome = await stop;
    expect(Date.now() - startedAt).toBeLessThan(timeoutMs + boundMs);
    expect(t.supervisor.podSandboxStatus(id).state).toBe("stopped");
    expect(outcome.warnings.join("\n")).toMatch(/stopped from the main thread/);
    const container = t.supervisor.containerStatus(stubborn);
    expect(container).toMatchObject({ state: "exited", reason: "killed-at-deadline" });
    expect(container.message).toMatch(/^stopped by the supervisor: /);
    // Killed at its deadline, not at once when its actor was lost.
    expect(container.finishedAt as number).toBeGreaterThanOrEqual(startedAt + timeoutMs - 1_100);
    expect(t.supervisor.listContainers({ podSandboxId: id }).every((c) => c.state === "exited")).toBe(true);
    expect(t.supervisor.listContainers({ podSandboxId: id }).map((c) => c.pid as number).filter(isAlive)).toEqual([]);
    // The actors were rebuilt: the sandbox has a worker again, and answers.
    await waitUntil(() => t.supervisor.workerOf(id) !== undefined);
  }

  test("dies: the supervisor stops the containers itself, at the deadline, and the sandbox ends stopped", async () => {
    const { id, stubborn } = await podWithStubbornContainer();
    const timeoutMs = 2_000;
    const startedAt = Date.now();
    const stop = t.supervisor.stopPodSandbox(id, { timeoutMs });
    await new Promise((resolve) => setTimeout(resolve, 300));
    t.supervisor.recycleWorker(t.supervisor.workerOf(id) as number);
    await expectStoppedInTime(id, stubborn, stop, startedAt, timeoutMs);
    expect(await zombieChildren()).toEqual([]);
  });

  test("hangs: found by its heartbeat, and the stop still ends within its deadline plus a small bound", async () => {
    const { id, stubborn } = await podWithStubbornContainer();
    const system = t.supervisor.actorSystem;
    const spinner = await system.spawn({ behavior: refs.spinner, near: id });
    const timeoutMs = 3_000;
    const startedAt = Date.now();
    const stop = t.supervisor.stopPodSandbox(id, { timeoutMs });
    await new Promise((resolve) => setTimeout(resolve, 300));
    system.tell(spinner, "spin");
    await expectStoppedInTime(id, stubborn, stop, startedAt, timeoutMs);
  });
});

describe("a worker thread the runtime cannot stop", () => {
  test("makes the daemon restart itself once the stops in flight are done, leaving other workloads running (Deno); on Node the worker is simply replaced", async () => {
    const root = await mkdtemp(join(tmpdir(), "pvtest-"));
    const daemon = await startDaemon({ root, noSocket: true, workers: 2, heartbeatTimeoutMs: 1_000, killGraceMs: 2_000, leakCheckIntervalMs: 0 });
    const { supervisor } = daemon;
    let next: TestSupervisor | undefined;
    try {
      const stopping = await supervisor.runPodSandbox({ name: "stopping" });
      const stubborn = await supervisor.createContainer(stopping, { name: "stubborn", command: ignoresTerm });
      await supervisor.startContainer(stubborn);
      const bystander = await supervisor.runPodSandbox({ name: "bystander" });
      const running = await supervisor.createContainer(bystander, { name: "sleep", command: ["sleep", "1000"] });
      await supervisor.startContainer(running);
      await waitUntil(async () => (await readFile(supervisor.containerStatus(stubborn).logPath, "utf8")).includes("ready"));
      const spinner = await supervisor.actorSystem.spawn({ behavior: refs.spinner, near: stopping });
      const stop = supervisor.stopPodSandbox(stopping, { timeoutMs: 3_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      supervisor.actorSystem.tell(spinner, "spin");
      await stop;
      const exit = await Promise.race([daemon.closed, new Promise((resolve) => setTimeout(() => resolve("running"), 3_000))]);
      if (canTerminateSpinningWorker) {
        expect(exit).toBe("running"); // Node ended the thread: a new worker took its place, nothing else to do
        await daemon.shutdown("test");
        expect(supervisor.containerStatus(running).state).toBe("exited");
      } else {
        expect(exit).toEqual({ reason: expect.stringMatching(/unrecoverable/), restart: true });
        // The stop in flight finished before; the other sandbox's workload runs on, for the next process.
        expect(supervisor.podSandboxStatus(stopping).state).toBe("stopped");
        const pid = supervisor.containerStatus(running).pid as number;
        expect(isAlive(pid)).toBe(true);
        next = await startTestSupervisor({ root }); // the process started in its place adopts it
        expect(next.supervisor.containerStatus(running)).toMatchObject({ state: "running", pid });
      }
    } finally {
      if (next !== undefined) expect(await next.close()).toEqual(noLeftovers);
      else await daemon.shutdown("test");
      expect(await findHostLeftovers({ root: supervisor.root, tag: supervisor.tag })).toEqual(noLeftovers);
      await rm(root, { recursive: true, force: true });
    }
  });
});
