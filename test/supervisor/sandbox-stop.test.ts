import { existsSync } from "node:fs";
import { readFile, rm, symlink, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { listCgroups } from "../../src/host/cgroup.ts";
import { isMounted } from "../../src/host/mountinfo.ts";
import type { ContainerRecord, SandboxRecord } from "../../src/state/records.ts";
import { backends, startBackendSupervisor, useBackendSupervisors } from "../support/backends.ts";
import type { BackendName, BackendSupervisor, TestContainer } from "../support/backends.ts";
import { ignoresTermCommand, noLeftovers, zombieChildren } from "../support/supervisor.ts";

const ignoreTerm = ignoresTermCommand;
const forking = ["sh", "-c", "sleep 1000 & sleep 1000 & (sleep 1000 &) ; wait"];

useBackendSupervisors();

// The same tests on both backends (SEMANTICS.md: every rule on `process` and on `runc`; the map of
// rules to tests is in stop-semantics.test.ts). Tests only about ids and records run on one.
describe.each(backends)("stopPodSandbox() on %s", (backendName: BackendName) => {
  let t: BackendSupervisor;
  beforeAll(async () => {
    t = await startBackendSupervisor(backendName);
  });
  afterAll(async () => {
    expect(await t.close()).toEqual(noLeftovers);
    expect(await zombieChildren()).toEqual([]);
  });

  const runPod = (commands: TestContainer[], config: Record<string, unknown> = {}) => t.runPod(commands, config);
  const idsOnly = test.runIf(backendName === "process");

  /** Removes the sandbox and checks that nothing of it is left on the host. */
  async function removeAndCheck(id: string): Promise<void> {
    const status = t.supervisor.podSandboxStatus(id);
    await t.supervisor.removePodSandbox(id);
    if (status.netnsPath !== undefined) expect(existsSync(status.netnsPath)).toBe(false);
    expect(await listCgroups(status.cgroupPath)).toEqual([]);
    expect(existsSync(join(t.root, "sandboxes", id))).toBe(false);
  }

  idsOnly("succeeds for an unknown id, with a warning (ids and records only: one backend)", async () => {
    const outcome = await t.supervisor.stopPodSandbox("doesnotexist1");
    expect(outcome.warnings[0]).toMatch(/not found: probably stopped already/);
  });

  idsOnly("rejects an empty or malformed id as an invalid argument (ids only: one backend)", async () => {
    await expect(t.supervisor.stopPodSandbox("")).rejects.toThrow(TypeError);
    await expect(t.supervisor.stopPodSandbox("../etc")).rejects.toThrow(/not a well-formed id/);
  });

  test("stops every container, infra last, and cleans the host in order", async () => {
    const { id, containers } = await runPod([["sleep", "1000"], ["sleep", "1000"]]);
    const status = t.supervisor.podSandboxStatus(id);
    expect(existsSync(status.netnsPath as string)).toBe(true);
    expect(await isMounted(status.shmPath as string)).toBe(true);
    // Rule 8: each application container's rootfs overlay (runc's containers have one) is unmounted.
    const merged = containers.map((containerId) => join(t.root, "sandboxes", id, "containers", containerId, "merged"));
    if (backendName === "runc") for (const dir of merged) expect(await isMounted(dir)).toBe(true);
    const outcome = await t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    for (const dir of merged) expect(await isMounted(dir)).toBe(false);
    expect(Object.keys(outcome.phases)).toEqual([
      "containers-stop", "signal-to-exit", "storage-unmount", "network-teardown", "netns-removal", "selinux-label-release",
      "shm-unmount", "sandbox-storage-stop", "cgroup-removal", "total",
    ]);
    expect(outcome.phases["signal-to-exit"]).toBeLessThanOrEqual(outcome.phases["containers-stop"] + 50); // no kill was needed
    const infraId = status.infraContainerId as string;
    const infra = t.supervisor.containerStatus(infraId);
    for (const containerId of containers) {
      const container = t.supervisor.containerStatus(containerId);
      expect(container).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled" });
      expect(container.finishedAt as number).toBeLessThanOrEqual(infra.finishedAt as number);
    }
    expect(infra).toMatchObject(t.infraOnStopSignal);
    expect(existsSync(status.netnsPath as string)).toBe(false);
    expect(await isMounted(status.shmPath as string)).toBe(false);
    expect(t.supervisor.podSandboxStatus(id)).toMatchObject({ state: "stopped", stop: { phase: "stopped" } });
    // Journaled and persisted: the records on disk say the same.
    const onDisk = JSON.parse(await readFile(join(t.root, "sandboxes", id, "sandbox.json"), "utf8")) as SandboxRecord;
    expect(onDisk).toMatchObject({ state: "stopped", stop: { phase: "stopped" } });
    const containerOnDisk = JSON.parse(await readFile(join(t.root, "sandboxes", id, "containers", containers[0], "container.json"), "utf8")) as ContainerRecord;
    expect(containerOnDisk).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled" });
    await removeAndCheck(id);
  });

  test("a second stop of a stopped sandbox succeeds and does no host work", async () => {
    const { id } = await runPod([]);
    await t.supervisor.stopPodSandbox(id);
    const before = t.supervisor.podSandboxStatus(id);
    const outcome = await t.supervisor.stopPodSandbox(id);
    expect(outcome).toMatchObject({ durationMs: 0, phases: {}, warnings: [] });
    expect(t.supervisor.podSandboxStatus(id)).toEqual(before);
    await removeAndCheck(id);
  });

  test("10 containers that ignore SIGTERM, timeout 1 s: the sandbox stops in about 1 s, not 10 s", async () => {
    const { id, containers } = await runPod(Array.from({ length: 10 }, () => ignoreTerm));
    const startedAt = Date.now();
    const outcome = await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    const elapsed = Date.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(4_000);
    // The kill's own phase: from the kill at the deadline to the last exit it brought.
    expect(outcome.phases.kill).toBeGreaterThanOrEqual(0);
    expect(outcome.phases.kill).toBeLessThan(outcome.phases["containers-stop"]);
    for (const containerId of containers) {
      expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", signal: "SIGKILL", reason: "killed-at-deadline" });
    }
    await removeAndCheck(id);
  });

  test("in a batch stop, a sandbox whose containers obey is stopped, host cleaned, without waiting for another's stubborn container", async () => {
    const quick = await runPod([["sleep", "1000"]]);
    const stubborn = await runPod([ignoreTerm]);
    const timeoutMs = 3_000;
    const results = await t.supervisor.stopPodSandboxes({ ids: [quick.id, stubborn.id] }, { timeoutMs });
    const [fast, slow] = results;
    expect(fast).toMatchObject({ podSandboxId: quick.id, ok: true });
    expect(slow).toMatchObject({ podSandboxId: stubborn.id, ok: true });
    // The stubborn one waits for its kill (at the deadline less the infra reserve, 0.75 s here); the
    // other one's host cleanup was done long before.
    expect(slow.durationMs).toBeGreaterThanOrEqual(timeoutMs - 1_000);
    expect(fast.durationMs).toBeLessThan(slow.durationMs - 1_000);
    await removeAndCheck(quick.id);
    await removeAndCheck(stubborn.id);
  });

  test("a timeout of 0 kills at once, and the kill still gets its grace to be reported", async () => {
    const { id, containers } = await runPod([ignoreTerm]);
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 0 });
    expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ state: "exited", signal: "SIGKILL", reason: "killed-at-deadline" });
    await removeAndCheck(id);
  });

  test("a container whose shell forked background children leaves nothing behind", async () => {
    const { id, containers } = await runPod([forking]);
    const cgroup = `${t.supervisor.podSandboxStatus(id).cgroupPath}/ctr-${containers[0]}`;
    const { cgroupPids } = await import("../../src/host/cgroup.ts");
    await expect.poll(() => cgroupPids(cgroup).then((pids) => pids.length)).toBeGreaterThanOrEqual(4);
    const pids = await cgroupPids(cgroup);
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    const { execa } = await import("execa");
    // Orphans that died are reaped by the host's init, a moment later: none may still run.
    const running = async () => {
      const { stdout } = await execa("ps", ["-o", "stat=", "-p", pids.join(",")], { reject: false });
      return stdout.split("\n").filter((stat) => stat.trim() !== "" && !stat.trim().startsWith("Z"));
    };
    expect(await running()).toEqual([]);
    // The shell dies of the SIGTERM; its children die with it (the main-exit rule), not at the deadline.
    expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled" });
    await removeAndCheck(id);
  });

  test("a container that exits by itself keeps its exit code", async () => {
    const { id, containers } = await runPod([["sh", "-c", "exit 7"]]);
    await expect.poll(() => t.supervisor.containerStatus(containers[0]).state).toBe("exited");
    expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ exitCode: 7, reason: "exited" });
    await t.supervisor.stopPodSandbox(id);
    expect(t.supervisor.containerStatus(containers[0])).toMatchObject({ exitCode: 7, reason: "exited" });
    await removeAndCheck(id);
  });

  test("two concurrent stops are one stop, both answered, and the earlier deadline wins", async () => {
    const { id } = await runPod([ignoreTerm]);
    const startedAt = Date.now();
    const [late, early] = await Promise.all([
      t.supervisor.stopPodSandbox(id, { timeoutMs: 20_000 }),
      t.supervisor.stopPodSandbox(id, { deadlineAt: Date.now() + 1_000 }),
    ]);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(late).toBe(early);
    await removeAndCheck(id);
  });

  test("a host-network, host-IPC sandbox has no netns or shm, and its stop skips those steps", async () => {
    const { id } = await runPod([["sleep", "1000"]], { hostNetwork: true, hostIpc: true });
    const status = t.supervisor.podSandboxStatus(id);
    expect(status.netnsPath).toBeUndefined();
    expect(status.shmPath).toBeUndefined();
    const outcome = await t.supervisor.stopPodSandbox(id);
    expect(outcome.phases["netns-removal"]).toBeDefined();
    // Skipped steps are recorded with why (SEMANTICS.md row 12: SELinux is off here), never faked.
    const skipped = {
      "network-teardown": expect.stringMatching(/host network/),
      "netns-removal": expect.stringMatching(/host network/),
      "shm-unmount": expect.stringMatching(/host IPC/),
      "selinux-label-release": expect.stringMatching(/SELinux/),
    };
    expect(outcome.skipped).toMatchObject(skipped);
    expect(t.supervisor.podSandboxStatus(id).stop).toMatchObject({ phase: "stopped", skipped });
    expect(JSON.parse(await readFile(join(t.root, "sandboxes", id, "sandbox.json"), "utf8")).stop).toMatchObject({ skipped });
    await removeAndCheck(id);
  });

  test("a network namespace already gone is no error", async () => {
    const { id } = await runPod([]);
    const { removeNetns } = await import("../../src/host/netns-remove.ts");
    await removeNetns(`pv-${t.supervisor.tag}-${id}`);
    await expect(t.supervisor.stopPodSandbox(id)).resolves.toMatchObject({ podSandboxId: id });
    await removeAndCheck(id);
  });

  test("an shm path that became a symlink out of the root is refused, and nothing outside is unmounted; a retry after the fix finishes", async () => {
    const { id } = await runPod([]);
    const status = t.supervisor.podSandboxStatus(id);
    const outside = join(t.root, "..", `pvtest-outside-${id}`);
    await mkdir(outside, { recursive: true });
    const { execa } = await import("execa");
    await execa("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", outside]);
    try {
      // Swap the sandbox's shm for a symlink to the outside mount.
      await execa("umount", [status.shmPath as string]);
      await rm(status.shmPath as string, { recursive: true });
      await symlink(outside, status.shmPath as string);
      await expect(t.supervisor.stopPodSandbox(id)).rejects.toMatchObject({ code: "STOP_INCOMPLETE", details: { step: "shm-unmount", reason: "PERMISSION_DENIED" } });
      expect(await isMounted(outside)).toBe(true);
      expect(t.supervisor.podSandboxStatus(id).state).toBe("ready");
      await rm(status.shmPath as string);
      await expect(t.supervisor.stopPodSandbox(id)).resolves.toMatchObject({ podSandboxId: id });
      expect(t.supervisor.podSandboxStatus(id).state).toBe("stopped");
    } finally {
      await execa("umount", [outside], { reject: false });
      await rm(outside, { recursive: true, force: true });
    }
    await removeAndCheck(id);
  });
});
