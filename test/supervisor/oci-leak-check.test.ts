/**
 * The leak check on the runc backend (real runc and conmon, busybox-static roots): what the OCI
 * backend keeps per container — conmon, the runtime's state folder, the bundle (and conmon's socket
 * link) — is owned while a record names the container, and a leak once none does: a record removed
 * while no daemon ran, or a container an earlier backend made on the same root that no record ever
 * named. Each leak is reported with its kind, removed by the repair (with the container's overlay,
 * cgroups and processes), and a live container's are never touched.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { HostCheckReport, HostObjectKind } from "../../src/api/api-types.ts";
import { removeCgroup } from "../../src/host/cgroup-remove.ts";
import { removeEmptyV1Cgroups, v1Hierarchies } from "../../src/host/cgroup-v1.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { isMounted } from "../../src/host/mountinfo.ts";
import { mountRootfs, unmountRootfs } from "../../src/host/rootfs.ts";
import { findOciConmons } from "../../src/runtime/oci/conmon-scan.ts";
import type { OciBackend } from "../../src/runtime/oci/oci-backend.ts";
import { OciLayout } from "../../src/runtime/oci/oci-layout.ts";
import { Supervisor } from "../../supervisor/supervisor.ts";
import { ghostId } from "../support/host-leaks.ts";
import { isAlive, noLeftovers, waitUntil } from "../support/supervisor.ts";
import { testName, testTempPrefix } from "../support/test-run.ts";
import { makeBusyboxRootfs, ociBackend } from "../runtime/oci-fixtures.ts";

const ociKinds: HostObjectKind[] = ["conmon", "runtimeStates", "bundles"];
const leakNames = (report: HostCheckReport, kind: HostObjectKind) => report.kinds[kind].leaks.map((leak) => leak.name).sort();
const sleeper = ["sleep", "1000"];

let lower = "";
beforeAll(async () => {
  lower = await mkdtemp(testTempPrefix("oci-leak-lower"));
  await makeBusyboxRootfs(lower);
});
afterAll(() => rm(lower, { recursive: true, force: true }));

/** A supervisor on the runc backend, on `root` (a fresh one unless given: a restart). */
async function startOn(root: string): Promise<Supervisor> {
  return Supervisor.start({ root, backend: await ociBackend(join(root, "oci")), workers: 1, killGraceMs: 2_000 });
}

describe("the leak check on runc", () => {
  let root = "";
  let supervisor: Supervisor | undefined;
  let layout: OciLayout;
  /** Containers made beside the supervisor, by a backend of their own, each with its overlay's folder. */
  const strays: { backend: OciBackend; id: string; containerDir: string }[] = [];

  beforeAll(async () => {
    root = await realpath(await mkdtemp(testTempPrefix("oci-leak")));
    layout = new OciLayout(join(root, "oci"));
    supervisor = await startOn(root);
  });
  afterEach(async () => {
    for (const stray of strays.splice(0)) {
      await stray.backend.delete(stray.id).catch(() => {});
      await unmountRootfs(stray.containerDir, { root }).catch(() => {});
    }
  });
  afterAll(async () => {
    const tag = supervisor?.tag as string;
    // Removed, not only stopped: runc's delete takes each container's v1 cgroup folders with it.
    for (const sandbox of supervisor?.listPodSandbox() ?? []) {
      await supervisor?.stopPodSandbox(sandbox.id, { timeoutMs: 2_000 });
      await supervisor?.removePodSandbox(sandbox.id);
    }
    await supervisor?.shutdown({ stopAll: true, timeoutMs: 2_000 });
    const leftovers = await findHostLeftovers({ root, tag });
    await removeEmptyV1Cgroups(`podvisor-${tag}`, { includeTop: true });
    expect(leftovers).toEqual(noLeftovers);
    expect(await findOciConmons(layout)).toEqual([]);
    await rm(root, { recursive: true, force: true });
  });

  const current = () => supervisor as Supervisor;

  async function runPod(commands: string[][]): Promise<{ sandboxId: string; containerIds: string[] }> {
    const sandboxId = await current().runPodSandbox({ name: "owned" });
    const containerIds: string[] = [];
    for (const [index, command] of commands.entries()) {
      containerIds.push(await current().createContainer(sandboxId, { name: `c${index}`, command, rootfs: lower }));
    }
    return { sandboxId, containerIds };
  }

  /** What the runc backend keeps for `id`, by kind, as the check names it. */
  async function ociNames(id: string): Promise<Record<"conmon" | "runtimeStates" | "bundles", string[]>> {
    const conmon = (await findOciConmons(layout)).filter((found) => found.containerId === id).map((found) => String(found.pid));
    const runtimeStates = existsSync(join(layout.runtimeRoot, id)) ? [join(layout.runtimeRoot, id)] : [];
    const bundles = [layout.container(id).dir, join(layout.socketDir, id), join(layout.exitDir, id)].filter((path) => existsSync(path)).sort();
    return { conmon, runtimeStates, bundles };
  }

  test("a running and a created container's conmon, runtime state and bundle are owned; the check finds no leak", async () => {
    const { containerIds: [running, created] } = await runPod([sleeper, sleeper]);
    await current().startContainer(running);
    const report = await current().checkHost({ repair: true });
    expect(report.leaks).toBe(0);
    for (const id of [running, created]) {
      const names = await ociNames(id);
      expect(names.conmon).toHaveLength(1);
      expect(names.runtimeStates).toHaveLength(1);
      for (const kind of ociKinds) for (const name of names[kind as keyof typeof names]) expect(report.kinds[kind].owned).toContain(name);
    }
    // The created container's init (waiting for its start) and its conmon are its own, not leaks.
    expect(report.kinds.processes.leaks).toEqual([]);
    await current().startContainer(created);
    expect(current().containerStatus(created).state).toBe("running");
  });

  test("a container whose record went while no daemon ran: its conmon, state, bundle, overlay, cgroups and processes are leaks, and the repair removes them", async () => {
    const { sandboxId, containerIds: [kept, orphan] } = await runPod([sleeper, sleeper]);
    for (const id of [kept, orphan]) await current().startContainer(id);
    const orphanStatus = current().containerStatus(orphan);
    const orphanDir = join(root, "sandboxes", sandboxId, "containers", orphan);
    await current().shutdown({ stopAll: false, timeoutMs: 2_000 });
    supervisor = undefined;
    await rm(join(orphanDir, "container.json"));
    supervisor = await startOn(root);

    const names = await ociNames(orphan);
    expect(names.conmon).toHaveLength(1);
    const found = await current().checkHost();
    for (const kind of ociKinds) expect(leakNames(found, kind)).toEqual(names[kind as keyof typeof names].sort());
    expect(found.kinds.conmon.leaks[0].reason).toContain(`no record owns container ${orphan}`);
    expect(leakNames(found, "mounts")).toEqual([join(orphanDir, "merged")]);
    expect(leakNames(found, "cgroups")).toEqual([`podvisor-${current().tag}/pod-${sandboxId}/conmon-ctr-${orphan}`, `podvisor-${current().tag}/pod-${sandboxId}/ctr-${orphan}`].sort());
    expect(found.kinds.processes.leaks.map((leak) => leak.name)).toContain(names.conmon[0]);
    expect(found.removed).toBe(0);

    const repaired = await current().checkHost({ repair: true });
    expect(repaired.failed).toBe(0);
    expect(repaired.removed).toBe(repaired.leaks);
    expect(await ociNames(orphan)).toEqual({ conmon: [], runtimeStates: [], bundles: [] });
    expect(isAlive(Number(names.conmon[0]))).toBe(false);
    expect(isAlive(orphanStatus.pid as number)).toBe(false);
    expect(await isMounted(join(orphanDir, "merged"))).toBe(false);
    expect((await current().checkHost()).leaks).toBe(0);
    // The container beside it, which a record names, runs on untouched.
    expect(current().containerStatus(kept).state).toBe("running");
    expect((await ociNames(kept)).conmon).toHaveLength(1);
  });

  test("a runc container an earlier backend made on this root, never recorded: reported, held once by the periodic guard, then removed; a live sandbox beside it keeps running", async () => {
    const { sandboxId, containerIds: [kept] } = await runPod([sleeper]);
    await current().startContainer(kept);
    const id = ghostId();
    const containerDir = join(root, "sandboxes", sandboxId, "containers", id);
    const { mergedDir } = await mountRootfs({ lowerDir: lower, containerDir, root });
    const earlier = await ociBackend(join(root, "oci"));
    strays.push({ backend: earlier, id, containerDir });
    await earlier.create({ id, command: sleeper, rootfsDir: mergedDir, logPath: join(containerDir, "container.log"), cgroupPath: `podvisor-${current().tag}/pod-${sandboxId}/ctr-${id}` });
    const { pid } = await earlier.start(id);
    earlier.close();
    const names = await ociNames(id);

    const held = await current().checkHost({ repair: true, repairOnlyRepeated: true }); // the first sight: kept
    for (const kind of ociKinds) {
      expect(leakNames(held, kind)).toEqual(names[kind as keyof typeof names].sort());
      expect(held.kinds[kind].removed).toEqual([]);
      for (const leak of held.kinds[kind].leaks) expect(leak.notRepaired).toMatch(/first seen/);
    }
    expect(isAlive(pid)).toBe(true);
    const removed = await current().checkHost({ repair: true, repairOnlyRepeated: true });
    for (const kind of ociKinds) expect(removed.kinds[kind].removed.sort()).toEqual(names[kind as keyof typeof names].sort());
    expect(removed.failed).toBe(0);
    await waitUntil(() => !isAlive(pid));
    expect(await ociNames(id)).toEqual({ conmon: [], runtimeStates: [], bundles: [] });
    expect(await isMounted(mergedDir)).toBe(false);
    expect((await current().checkHost()).leaks).toBe(0);
    expect(current().podSandboxStatus(sandboxId).state).toBe("ready");
    expect(current().containerStatus(kept).state).toBe("running");
  });

  test("a runtime state with neither conmon nor bundle: runc's delete --force ends its container", async () => {
    const { sandboxId } = await runPod([]);
    const id = ghostId();
    const containerDir = join(root, "sandboxes", sandboxId, "containers", id);
    const { mergedDir } = await mountRootfs({ lowerDir: lower, containerDir, root });
    const earlier = await ociBackend(join(root, "oci"));
    strays.push({ backend: earlier, id, containerDir });
    await earlier.create({ id, command: sleeper, rootfsDir: mergedDir, logPath: join(containerDir, "container.log"), cgroupPath: `podvisor-${current().tag}/pod-${sandboxId}/ctr-${id}` });
    const { pid } = await earlier.start(id);
    earlier.close();
    const [conmon] = (await ociNames(id)).conmon;
    process.kill(Number(conmon), "SIGKILL");
    await waitUntil(() => !isAlive(Number(conmon)));
    await rm(layout.container(id).dir, { recursive: true });
    await rm(join(layout.socketDir, id), { force: true });

    const report = await current().checkHost({ repair: true });
    expect(leakNames(report, "runtimeStates")).toEqual([join(layout.runtimeRoot, id)]);
    expect(leakNames(report, "conmon")).toEqual([]);
    expect(report.kinds.runtimeStates.removed).toEqual([join(layout.runtimeRoot, id)]);
    expect(report.failed).toBe(0);
    await waitUntil(() => !isAlive(pid));
    expect(existsSync(join(layout.runtimeRoot, id))).toBe(false);
    expect((await current().checkHost()).leaks).toBe(0);
  });

  test("a stopped runc sandbox's v1 cgroup folders (kept until runc's delete, at the removal) are its own, not leaks", async () => {
    const { sandboxId, containerIds: [id] } = await runPod([sleeper]);
    await current().startContainer(id);
    await current().stopPodSandbox(sandboxId, { timeoutMs: 2_000 });
    const report = await current().checkHost();
    expect(report.kinds.cgroups.leaks).toEqual([]);
    await current().removePodSandbox(sandboxId);
    expect((await current().checkHost()).leaks).toBe(0);
  });

  test("a v1 cgroup folder runc left behind, with no record and its v2 twin gone, is a leak the repair removes from every hierarchy", async () => {
    const hierarchies = await v1Hierarchies();
    if (hierarchies.length === 0) return; // a unified host: runc makes no v1 folders
    const pod = `podvisor-${current().tag}/pod-${ghostId()}`;
    const left = `${pod}/ctr-${ghostId()}`;
    // As a runc container never deleted leaves them (seen once in CI): the pod's and the container's, in every hierarchy.
    for (const hierarchy of hierarchies) await mkdir(join(hierarchy, left), { recursive: true });
    try {
      const report = await current().checkHost({ repair: true });
      expect(leakNames(report, "cgroups")).toEqual([pod, left]);
      expect([...report.kinds.cgroups.removed].sort()).toEqual([pod, left]);
      for (const hierarchy of hierarchies) expect(existsSync(join(hierarchy, pod))).toBe(false);
      expect((await current().checkHost()).leaks).toBe(0);
    } finally {
      await removeEmptyV1Cgroups(left);
    }
  });

  test("another daemon's conmon, state and bundle (another root) are never listed nor touched", async () => {
    const otherRoot = await realpath(await mkdtemp(testTempPrefix("oci-leak-other")));
    const other = await ociBackend(join(otherRoot, "oci"));
    const otherTop = testName(`oth${ghostId().slice(-6)}`); // its own cgroup, as its own tag would give it
    const id = ghostId();
    const containerDir = join(otherRoot, "ctr", id);
    const { mergedDir } = await mountRootfs({ lowerDir: lower, containerDir, root: otherRoot });
    try {
      await other.create({ id, command: sleeper, rootfsDir: mergedDir, logPath: join(containerDir, "container.log"), cgroupPath: `${otherTop}/ctr-${id}` });
      const { pid } = await other.start(id);
      const report = await current().checkHost({ repair: true });
      for (const kind of ociKinds) expect(report.kinds[kind].onHost.join("\n")).not.toContain(id);
      expect(isAlive(pid)).toBe(true);
      expect(await readdir(join(otherRoot, "oci", "runtime"))).toEqual([id]);
    } finally {
      await other.killAll(id).catch(() => {});
      await other.waitForStopped(id, { signal: AbortSignal.timeout(10_000) }).catch(() => {});
      await other.delete(id);
      other.close();
      await unmountRootfs(containerDir, { root: otherRoot });
      await removeEmptyV1Cgroups(otherTop, { includeTop: true });
      await removeCgroup(otherTop);
      await rm(otherRoot, { recursive: true, force: true });
    }
  });
});
