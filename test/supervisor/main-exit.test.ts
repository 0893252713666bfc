/**
 * The main-exit rule, end to end (issue 12; SEMANTICS.md, "A container is its main process"): when a
 * container's main process exits, what it left behind in the container's cgroup dies with it at once,
 * and the container is reported exited with the main process's status and a true reason. The stop
 * does not wait for left-behind children until its deadline.
 *
 * On both backends (the same tests): on runc the shell is the container's init (`init: false`), PID 1
 * of its own pid namespace, whose exit makes the kernel kill the rest; one test runs it under
 * catatonit too. The adopted cases differ by backend: the process holder's on process, conmon's on runc.
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, onTestFinished, test } from "vitest";
import { cgroupPids } from "../../src/host/cgroup.ts";
import { LaggingBackend } from "../../src/runtime/lagging-backend.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { backends, startBackendSupervisor, useBackendSupervisors } from "../support/backends.ts";
import type { BackendName, BackendSupervisor } from "../support/backends.ts";
import { isAlive, noLeftovers, runTestPod, startTestSupervisor, waitUntil, zombieChildren } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

useBackendSupervisors();

/** The container: it exits 0 on SIGTERM, leaving its background `sleep` behind ("ready" once both are set). */
const exitsOnTermLeavingChild = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & echo ready; wait"];

function cgroupOf(t: TestSupervisor, sandboxId: string, containerId: string): string {
  return `podvisor-${t.supervisor.tag}/pod-${sandboxId}/ctr-${containerId}`;
}

function logOf(t: TestSupervisor, sandboxId: string, containerId: string): string {
  return join(t.root, "sandboxes", sandboxId, "containers", containerId, "container.log");
}

describe.each(backends)("the main-exit rule on %s", (backendName: BackendName) => {
  let t: BackendSupervisor | undefined;
  afterEach(async () => {
    expect(await t?.close()).toEqual(noLeftovers);
    expect(await zombieChildren()).toEqual([]);
    t = undefined;
  });

  test("10 sandboxes whose main process exits 0 on SIGTERM, leaving a child: the stop-all does not wait for the children until the deadline, and each is reported exited 0", async () => {
    t = await startBackendSupervisor(backendName);
    const pods = [];
    for (let index = 0; index < 10; index++) pods.push(await t.runPod([{ command: exitsOnTermLeavingChild, init: false }], { name: `main-exit-${index}` }));
    const timeoutMs = 5_000;
    const startedAt = Date.now();
    const results = await t.supervisor.stopAllPodSandboxes({ timeoutMs });
    const elapsedMs = Date.now() - startedAt;
    console.log(`main-exit on ${backendName}: 10 sandboxes stopped in ${elapsedMs} ms (timeout ${timeoutMs} ms)`);
    expect(results.filter((result) => !result.ok)).toEqual([]);
    // Far less than the timeout (it took 4.1 s when the stop waited for the children): a generous bound.
    expect(elapsedMs).toBeLessThan(timeoutMs / 2);
    for (const { id, containers } of pods) {
      expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ state: "exited", exitCode: 0, reason: "exited" });
      expect(await cgroupPids(t.cgroupOf(id, containers[0]))).toEqual([]);
    }
    for (const { id } of pods) await t.supervisor.removePodSandbox(id);
  });

  test("a main process that exits by itself while a child lives on: the child is killed and the container reported exited at once", async () => {
    t = await startBackendSupervisor(backendName);
    const { container, tell } = await exitsWhenTold(t, false);
    const { id, containers } = await t.runPod([container]);
    const [containerId] = containers;
    const cgroup = t.cgroupOf(id, containerId);
    const pids = await cgroupPids(cgroup);
    expect(pids.length).toBeGreaterThanOrEqual(2); // the shell and its sleep
    await tell(id, containerId);
    await waitUntil(() => t?.supervisor.containerStatus(containerId).state === "exited", 5_000);
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", exitCode: 3, reason: "exited" });
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await cgroupPids(cgroup)).toEqual([]);
    // The sandbox is still ready; its stop has nothing of the container left to wait for.
    expect(t.supervisor.podSandboxStatus(id).state).toBe("ready");
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", exitCode: 3, reason: "exited" });
    await t.supervisor.removePodSandbox(id);
  });

  test.runIf(backendName === "runc")("under catatonit (init: true) as well: the shell's exit ends the container, its child killed, its status the shell's", async () => {
    t = await startBackendSupervisor(backendName);
    const { container, tell } = await exitsWhenTold(t, true);
    const { id, containers } = await t.runPod([container]);
    const [containerId] = containers;
    const pids = await cgroupPids(t.cgroupOf(id, containerId));
    expect(pids.length).toBeGreaterThanOrEqual(3); // catatonit, the shell and its sleep
    await tell(id, containerId);
    await waitUntil(() => t?.supervisor.containerStatus(containerId).state === "exited", 5_000);
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", exitCode: 3, reason: "exited" });
    expect(pids.filter(isAlive)).toEqual([]);
    await t.supervisor.removePodSandbox(id);
  });

  test("a runtime that reports stopped late (VM-like, a deliberate fake): the stop still waits for its report, and the reason still follows the main process", async () => {
    const lagMs = 600;
    t = await startBackendSupervisor(backendName, { wrap: (backend) => new LaggingBackend(backend, { lagMs }) });
    const { id, containers } = await t.runPod([{ command: exitsOnTermLeavingChild, init: false }]);
    const startedAt = Date.now();
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    const elapsedMs = Date.now() - startedAt;
    // The app container's report lags, then the infra container's: both waited for, neither until the deadline.
    expect(elapsedMs).toBeGreaterThanOrEqual(2 * lagMs - 50);
    expect(elapsedMs).toBeLessThan(4_000);
    expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ state: "exited", exitCode: 0, reason: "exited" });
    expect(await cgroupPids(t.cgroupOf(id, containers[0]))).toEqual([]);
    await t.supervisor.removePodSandbox(id);
  });
});

/**
 * A container that exits 3 by itself once told, leaving a `sleep` behind ("ready" once it runs), and
 * how to tell it: a file appears, in a folder of the test's own on process (whose containers see the
 * host's), in the container's own /tmp on runc (its overlay's merged folder, seen from the host).
 */
async function exitsWhenTold(t: BackendSupervisor, init: boolean) {
  const dir = t.backendName === "runc" ? "/tmp" : await mkdtemp(join(tmpdir(), "pvtest-mainexit-"));
  if (t.backendName !== "runc") onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const command = ["sh", "-c", `sleep 1000 & echo ready; while [ ! -e '${dir}/go' ]; do sleep 0.05; done; exit 3`];
  return {
    container: { command, init },
    tell: (sandboxId: string, containerId: string) =>
      writeFile(t.backendName === "runc" ? join(t.root, "sandboxes", sandboxId, "containers", containerId, "merged", "tmp", "go") : join(dir, "go"), ""),
  };
}

describe("the main-exit rule for containers a restarted supervisor adopted, on process (its process holder)", () => {
  let t: TestSupervisor | undefined;
  afterEach(async () => {
    expect(await t?.close()).toEqual(noLeftovers);
    expect(await zombieChildren()).toEqual([]);
    t = undefined;
  });

  /**
   * A supervisor runs a container that exits 6 once a file appears, leaving a child behind, and shuts
   * down leaving it running (live restore); `killHolder` kills its process holder too (a crash of both).
   * A next supervisor on the same root adopts it; then the file appears.
   */
  async function exitAfterRestart(killHolder: boolean) {
    const dir = await mkdtemp(join(tmpdir(), "pvtest-mainexit-"));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const go = join(dir, "go");
    const command = ["sh", "-c", `sleep 1000 & echo child $!; echo ready; while [ ! -e '${go}' ]; do sleep 0.05; done; exit 6`];
    const backend = new ProcessBackend();
    const first = await startTestSupervisor({ backend });
    const { id, containers } = await runTestPod(first, [command]);
    const [containerId] = containers;
    const child = Number(/child (\d+)/.exec(readFileSync(logOf(first, id, containerId), "utf8"))?.[1]);
    const holder = backend.holderPid as number;
    await first.supervisor.shutdown({ stopAll: false });
    if (killHolder) {
      process.kill(holder, "SIGKILL");
      await waitUntil(() => !isAlive(holder));
    }
    t = await startTestSupervisor({ root: first.root });
    expect(t.supervisor.containerStatus(containerId).state).toBe("running");
    await writeFile(go, "");
    await waitUntil(() => t?.supervisor.containerStatus(containerId).state === "exited", 5_000);
    expect(isAlive(child)).toBe(false);
    expect(await cgroupPids(cgroupOf(t, id, containerId))).toEqual([]);
    return { containerId };
  }

  test("its earlier process holder still running: the main process's exit ends it at once, with its exit code", async () => {
    const { containerId } = await exitAfterRestart(false);
    expect(t?.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", exitCode: 6, reason: "exited" });
  });

  test("its earlier process holder killed too: the next supervisor's holder watches the main process, and its exit ends it at once, the exit code unknown", async () => {
    const { containerId } = await exitAfterRestart(true);
    expect(t?.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", exitCodeUnknown: true });
  });
});

describe("the main-exit rule for a container a restarted supervisor adopted, on runc", () => {
  let t: BackendSupervisor | undefined;
  afterEach(async () => {
    expect(await t?.close()).toEqual(noLeftovers);
    expect(await zombieChildren()).toEqual([]);
    t = undefined;
  });

  test("conmon and the container outlived the first supervisor: the main process's exit ends the container at once, its exit code from conmon", async () => {
    // The shell is the container's init; it exits 6 on SIGUSR1, leaving its `sleep` behind.
    const command = ["sh", "-c", "trap 'exit 6' USR1; sleep 1000 & echo ready; while :; do sleep 0.05; done"];
    const first = await startBackendSupervisor("runc");
    const { id, containers } = await first.runPod([{ command, init: false }]);
    const [containerId] = containers;
    const pid = first.supervisor.containerStatus(containerId).pid as number;
    const pids = await cgroupPids(first.cgroupOf(id, containerId));
    await first.supervisor.shutdown({ stopAll: false });
    t = await startBackendSupervisor("runc", { root: first.root });
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "running", pid });
    process.kill(pid, "SIGUSR1");
    await waitUntil(() => t?.supervisor.containerStatus(containerId).state === "exited", 5_000);
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", exitCode: 6, reason: "exited" });
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await cgroupPids(t.cgroupOf(id, containerId))).toEqual([]);
    await t.supervisor.removePodSandbox(id);
  });
});
