/**
 * Rules of `../shared/SEMANTICS.md` that `sandbox-stop.test.ts` does not pin down on its own: the
 * operation's metrics (rule 1), the default timeout and the infra container's reserved share of
 * the budget (rule 5), the kill of every process of a container (rule 6), a joined stop that may
 * never lengthen the deadline, status that never waits behind a stop, and the placement of a
 * sandbox's containers on its own worker (issue 3, deliverable 1).
 *
 * SEMANTICS.md ON BOTH BACKENDS (issue 12): every rule that involves containers runs, as the same
 * test, on `process` and on `runc` (`describe.each(backends)`, test/support/backends.ts: busybox in
 * its own root on runc, conmon, a pid namespace, catatonit unless a test says otherwise). "both" =
 * both backends; "one" = a rule about ids or records only, which no backend takes part in.
 *
 * StopPodSandbox
 *  1 metrics, phases ........... both: stop-semantics "rule 1"
 *  2 empty / malformed id ...... one:  sandbox-stop "rejects an empty or malformed id" (ids only)
 *  3 unknown id is success ..... one:  sandbox-stop "succeeds for an unknown id" (records only)
 *  4 already stopped, cheap .... both: sandbox-stop "a second stop of a stopped sandbox"
 *  5 every container, infra
 *    last, timeout, parallel ... both: sandbox-stop "stops every container, infra last", "10 containers
 *                                      that ignore SIGTERM"; stop-semantics "rule 5" (default 10 s;
 *                                      the infra container's reserve)
 *  6 stop signal, then the kill
 *    to every process .......... both: stop-semantics "rule 6"; sandbox-stop "forked background
 *                                      children", "a timeout of 0 kills at once"
 *  7 wait for the RUNTIME's
 *    "stopped", error if never . both: lagging-backend.test.ts (a lagging wrapper on each backend; on
 *                                      runc also the runtime itself lagging, fixtures/lagging-runc
 *                                      through its own `kill`; a wedged runtime: error, retry)
 *  8 unmount container storage . both: sandbox-stop "stops every container" (runc's overlays);
 *                                      process: lifecycle "an overlay rootfs is … unmounted at stop"
 *  9 persist each container .... both: sandbox-stop "stops every container" (records on disk)
 * 10 network teardown unless
 *    host network .............. both: sandbox-stop "a host-network, host-IPC sandbox"
 * 11 remove the netns,
 *    idempotent ................ both: sandbox-stop "stops every container", "a network namespace
 *                                      already gone"
 * 12 SELinux label ............. both: skipped and recorded with why (SELinux is off on these hosts):
 *                                      sandbox-stop "a host-network, host-IPC sandbox"
 * 13 shm unmount, resolved,
 *    inside the root ........... both: sandbox-stop "stops every container", "an shm path that became
 *                                      a symlink out of the root"
 * 14 sandbox storage stop ...... both: sandbox-stop "stops every container" (its phase, in order)
 * 15 marked stopped, journaled . both: sandbox-stop "stops every container" (on disk too)
 * 16 a failed step: error,
 *    not-stopped, retry ........ both: sandbox-stop "an shm path … a retry after the fix finishes";
 *                                      lagging-backend "a report that never comes"; host faults of
 *                                      every kind: process only (host-faults.test.ts: the faults are
 *                                      in host steps no backend takes part in)
 * StopAllPodSandboxes, in parallel under one deadline, each outcome
 *                               both: sandbox-stop "in a batch stop"; main-exit "10 sandboxes"
 * What the successors added
 *  - parallel, infra last with a reserve ... both: rule 5 above
 *  - a joined stop, never lengthened ....... both: stop-semantics "a stop that joins one in progress";
 *                                            sandbox-stop "two concurrent stops" (with `deadlineAt`)
 *  - exit detection not fooled by pid reuse  both: stop-semantics "a record whose pid another process
 *                                            took" (a restarted supervisor); process also
 *                                            test/runtime/process-adoption "a reused pid"
 *  - "already gone" is success ............. both: sandbox-stop "a network namespace already gone"
 *  - network teardown without a netns ...... both: the same test
 *  - a container is its main process ....... both: main-exit.test.ts (the adopted cases: process
 *                                            holder ones on process, conmon's on runc)
 *  - the budget from the caller's deadline . both: sandbox-stop "two concurrent stops" (`deadlineAt`)
 *  - containers before the network ......... both: sandbox-stop "stops every container" (phase order)
 * podvisor's edge
 *  - N sandboxes by one deadline ........... both: sandbox-stop "in a batch stop"; main-exit "10 sandboxes"
 *  - the journal resumes a stop after a crash: daemon tests, one per backend: process
 *                                            test/daemon/restart.test.ts, runc test/daemon/oci-daemon
 *                                            "a stop interrupted by a crash is resumed"
 *  - status and list never wait behind a stop  both: stop-semantics "status and list answer during a
 *                                            stop"; process at scale: scale.test.ts
 *  - per-phase metrics ..................... both: rule 1; the leak check: leak-check.test.ts (process)
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import { cgroupPids } from "../../src/host/cgroup.ts";
import { backends, startBackendSupervisor, useBackendSupervisors } from "../support/backends.ts";
import type { BackendName, BackendSupervisor, TestContainer } from "../support/backends.ts";
import { ignoresTermCommand, isAlive, noLeftovers, waitUntil, zombieChildren } from "../support/supervisor.ts";

const ignoreTerm = ignoresTermCommand;
/** Ignores SIGTERM, and so do the two children it forked (one a subshell with a child of its own). */
const ignoreTermWithChildren = ["sh", "-c", "trap '' TERM; (trap '' TERM; sleep 1000 & wait) & (trap '' TERM; while :; do sleep 0.1; done) & echo ready; while :; do sleep 0.1; done"];

useBackendSupervisors();

describe.each(backends)("stop semantics on %s", (backendName: BackendName) => {
  let t: BackendSupervisor;
  beforeAll(async () => {
    t = await startBackendSupervisor(backendName);
  });
  afterAll(async () => {
    expect(await t.close()).toEqual(noLeftovers);
    expect(await zombieChildren()).toEqual([]);
  });

  const runPod = (commands: TestContainer[]) => t.runPod(commands, { name: "semantics" });

  test("rule 1: every stop is counted and timed under stop_pod_sandbox, a failed one also as an error by code", async () => {
    const { id } = await runPod([["sleep", "1000"]]);
    await expect(t.supervisor.stopPodSandbox("")).rejects.toThrow(TypeError);
    await t.supervisor.stopPodSandbox("doesnotexist2");
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    const text = await t.supervisor.metricsText();
    expect(text).toMatch(/podvisor_operations_total\{operation="stop_pod_sandbox"\} 3\n/);
    expect(text).toMatch(/podvisor_operation_errors_total\{operation="stop_pod_sandbox",code="INVALID_ARGUMENT"\} 1\n/);
    expect(text).toMatch(/podvisor_operation_duration_seconds_count\{operation="stop_pod_sandbox"\} 3\n/);
    for (const phase of ["containers-stop", "netns-removal", "shm-unmount", "cgroup-removal", "total"]) {
      expect(text).toContain(`podvisor_stop_phase_duration_seconds_count{phase="${phase}"} 1\n`);
    }
    await t.supervisor.removePodSandbox(id);
  });

  test("rule 5: with no timeout given, the stop's deadline is 10 s after its request", async () => {
    const { id } = await runPod([["sleep", "1000"]]);
    const before = Date.now();
    await t.supervisor.stopPodSandbox(id);
    const { stop } = t.supervisor.podSandboxStatus(id);
    expect(stop?.deadlineAt).toBeGreaterThanOrEqual(before + 10_000);
    expect((stop?.deadlineAt as number) - (stop?.requestedAt as number)).toBeLessThanOrEqual(10_000);
    await t.supervisor.removePodSandbox(id);
  });

  test("rule 5: application containers are killed before the deadline, leaving the infra container its reserve; infra stops last", async () => {
    // Budget 4 s: the reserve is 1 s, so the application container is killed at about 3 s.
    const timeoutMs = 4_000;
    const { id, containers } = await runPod([ignoreTerm]);
    const startedAt = Date.now();
    await t.supervisor.stopPodSandbox(id, { timeoutMs });
    const app = t.supervisor.containerStatus(containers[0]);
    const infra = t.supervisor.containerStatus(t.supervisor.podSandboxStatus(id).infraContainerId as string);
    expect(app).toMatchObject({ state: "exited", signal: "SIGKILL", reason: "killed-at-deadline" });
    expect(app.finishedAt as number).toBeGreaterThanOrEqual(startedAt + timeoutMs / 2);
    expect(app.finishedAt as number).toBeLessThan(startedAt + timeoutMs);
    // The infra container got its stop signal only then, and stopped on it: no kill needed.
    expect(infra).toMatchObject(t.infraOnStopSignal);
    expect(infra.finishedAt as number).toBeGreaterThanOrEqual(app.finishedAt as number);
    await t.supervisor.removePodSandbox(id);
  });

  test("a stop that joins one in progress may never lengthen its deadline", async () => {
    const { id, containers } = await runPod([ignoreTerm]);
    const startedAt = Date.now();
    const early = t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    const late = t.supervisor.stopPodSandbox(id, { timeoutMs: 20_000 });
    const [first, second] = await Promise.all([early, late]);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(second).toBe(first);
    expect(t.supervisor.podSandboxStatus(id).stop?.deadlineAt).toBeLessThan(startedAt + 2_000);
    expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ reason: "killed-at-deadline" });
    await t.supervisor.removePodSandbox(id);
  });

  test("rule 6: the kill at the deadline reaches every process of the container's cgroup, not only its main process", async () => {
    const { id, containers } = await runPod([ignoreTermWithChildren]);
    const cgroup = t.cgroupOf(id, containers[0]);
    // sh, its two children, the subshell's sleep and the loop's sleeps (and catatonit on runc).
    await expect.poll(() => cgroupPids(cgroup).then((pids) => pids.length)).toBeGreaterThanOrEqual(4);
    const pids = await cgroupPids(cgroup);
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ state: "exited", signal: "SIGKILL", reason: "killed-at-deadline" });
    expect(pids.filter(isAlive)).toEqual([]);
    await t.supervisor.removePodSandbox(id);
  });

  test("status and list answer during a stop, at once, and show it in progress", async () => {
    const { id, containers } = await runPod([ignoreTerm]);
    const stopping = t.supervisor.stopPodSandbox(id, { timeoutMs: 2_000 });
    await expect.poll(() => t.supervisor.podSandboxStatus(id).stop?.phase).toBeDefined();
    const startedAt = Date.now();
    for (let round = 0; round < 100; round++) {
      expect(t.supervisor.podSandboxStatus(id)).toMatchObject({ state: "ready", stop: { phase: expect.not.stringMatching(/^stopped$/) } });
      expect(t.supervisor.containerStatus(containers[0]).state).toBe("running");
      expect(t.supervisor.listPodSandbox().map((sandbox) => sandbox.id)).toContain(id);
      expect(t.supervisor.listContainers({ podSandboxId: id })).toHaveLength(2);
    }
    expect(Date.now() - startedAt).toBeLessThan(1_000); // the stop has 2 s to go: none of them waited for it
    await stopping;
    expect(t.supervisor.podSandboxStatus(id).state).toBe("stopped");
    await t.supervisor.removePodSandbox(id);
  });

  test.runIf(backendName === "process")("a sandbox and its containers live on the same worker (actors only: one backend)", async () => {
    const pods = [await runPod([["sleep", "1000"], ["sleep", "1000"]]), await runPod([["sleep", "1000"]])];
    for (const { id, containers } of pods) {
      const worker = t.supervisor.workerOf(id);
      expect(worker).toBeDefined();
      const infraId = t.supervisor.podSandboxStatus(id).infraContainerId as string;
      for (const containerId of [infraId, ...containers]) expect(t.supervisor.workerOf(containerId)).toBe(worker);
    }
    for (const { id } of pods) await t.supervisor.removePodSandbox(id);
  });
});

/**
 * "Exit detection that cannot be fooled by PID reuse" (SEMANTICS.md, what the successors added). A
 * pid cannot be made to be reused on demand, so the test takes an unrelated live process and writes
 * its pid where the stopped container's was recorded — the records on process (the holder and the
 * cgroup decide there), also runc's started.json on runc (its pid; the start time stays the real
 * init's) — as if the pid had been reused while no daemon ran.
 */
describe.each(backends)("a pid reused while no daemon ran, on %s", (backendName: BackendName) => {
  test("a restarted supervisor reports the container exited, and neither its adoption nor the stop signals the process that took the pid", async () => {
    const first = await startBackendSupervisor(backendName);
    let t: BackendSupervisor | undefined;
    let closed = false;
    onTestFinished(async () => {
      // A failed test still leaves nothing: a supervisor on the same root stops and removes it all.
      if (!closed) await (t ?? (await startBackendSupervisor(backendName, { root: first.root }))).close();
    });
    const { id, containers: [containerId] } = await first.runPod([["sleep", "1000"]], { name: "reused" });
    const pid = first.supervisor.containerStatus(containerId).pid as number;
    await first.supervisor.shutdown({ stopAll: false });
    process.kill(pid, "SIGKILL");
    await expect.poll(() => isAlive(pid)).toBe(false);
    const stranger = execa("sleep", ["1000"]);
    onTestFinished(async () => {
      stranger.kill("SIGKILL");
      await stranger.catch(() => {});
    });
    const strangerPid = stranger.pid as number;
    const containerDir = join(first.root, "sandboxes", id, "containers", containerId);
    const record = JSON.parse(await readFile(join(containerDir, "container.json"), "utf8"));
    await writeFile(join(containerDir, "container.json"), JSON.stringify({ ...record, pid: strangerPid }));
    if (backendName === "runc") {
      const startedFile = join(first.root, "oci", "containers", containerId, "started.json");
      await writeFile(startedFile, JSON.stringify({ ...JSON.parse(await readFile(startedFile, "utf8")), pid: strangerPid }));
    }
    t = await startBackendSupervisor(backendName, { root: first.root });
    await waitUntil(() => t?.supervisor.containerStatus(containerId).state === "exited", 5_000);
    // Its real end, from what watched it (the process holder; conmon), not from the pid.
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", signal: "SIGKILL" });
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 2_000 });
    expect(isAlive(strangerPid)).toBe(true);
    await t.supervisor.removePodSandbox(id);
    expect(isAlive(strangerPid)).toBe(true);
    closed = true;
    expect(await t.close()).toEqual(noLeftovers);
  });
});
