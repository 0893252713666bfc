import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { InFlightIds } from "../../supervisor/in-flight.ts";
import type { Supervisor } from "../../supervisor/supervisor.ts";
import { startDaemon } from "../../daemon/daemon.ts";
import type { HostCheckReport, HostObjectKind } from "../../src/api/api-types.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { isMounted } from "../../src/host/mountinfo.ts";
import { cgroupExists, ghostId, leakMount, leakNetns, leakProcess, removeLeaks } from "../support/host-leaks.ts";
import type { Leak } from "../support/host-leaks.ts";
import { isAlive, noLeftovers, startTestSupervisor, waitUntil, zombieChildren } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

const leakNames = (report: HostCheckReport, kind: HostObjectKind) => report.kinds[kind].leaks.map((leak) => leak.name).sort();
const metric = (text: string, name: string, kind: string) => Number(text.match(new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)$`, "m"))?.[1]);

describe("the leak check", () => {
  let t: TestSupervisor;
  /** A ready sandbox with a running container: what a record owns, which no check may touch. */
  let sandboxId: string;
  let containerId: string;
  const leaks: Leak[] = [];
  beforeAll(async () => {
    t = await startTestSupervisor();
    sandboxId = await t.supervisor.runPodSandbox({ name: "owned" });
    containerId = await t.supervisor.createContainer(sandboxId, { name: "sleeper", command: ["sleep", "1000"] });
    await t.supervisor.startContainer(containerId);
  });
  afterEach(async () => {
    await removeLeaks(leaks);
  });
  afterAll(async () => {
    expect(await t.close()).toEqual(noLeftovers);
    expect(await zombieChildren()).toEqual([]);
  });

  /** A netns, a mount and a cgroup with a process no record owns, and a process in an exited container's cgroup. */
  async function makeLeaks(supervisor: Supervisor, sandbox: string) {
    const netns = await leakNetns(supervisor.tag);
    const mount = await leakMount(supervisor.root);
    const ghostCgroup = `podvisor-${supervisor.tag}/pod-${ghostId()}`;
    const inGhost = await leakProcess(ghostCgroup);
    const exited = await supervisor.createContainer(sandbox, { name: "done", command: ["true"] });
    await supervisor.startContainer(exited);
    await waitUntil(() => supervisor.containerStatus(exited).state === "exited");
    const exitedCgroup = `podvisor-${supervisor.tag}/pod-${sandbox}/ctr-${exited}`;
    const inExited = await leakProcess(exitedCgroup);
    leaks.push(netns, mount, inGhost, inExited);
    return { netns, mount, ghostCgroup, inGhost, exited, exitedCgroup, inExited };
  }

  test("reports every leak without repair and removes nothing; with repair removes exactly them, and counts them", async () => {
    const made = await makeLeaks(t.supervisor, sandboxId);
    const before = await t.supervisor.metricsText();

    const report = await t.supervisor.checkHost();
    expect(report).toMatchObject({ repair: false, leaks: 5, removed: 0, failed: 0, tag: t.supervisor.tag });
    expect(leakNames(report, "netns")).toEqual([made.netns.name]);
    expect(leakNames(report, "mounts")).toEqual([made.mount.name]);
    expect(leakNames(report, "cgroups")).toEqual([made.ghostCgroup]);
    expect(leakNames(report, "processes")).toEqual([made.inGhost.name, made.inExited.name].sort());
    expect(report.kinds.processes.leaks.find((leak) => leak.name === made.inExited.name)).toMatchObject({
      cgroup: made.exitedCgroup,
      reason: `in the cgroup of container ${made.exited}, which has exited`,
    });
    // What the running sandbox owns is owned: its netns, shm, cgroups, and its containers' processes.
    const pid = t.supervisor.containerStatus(containerId).pid as number;
    expect(report.kinds.netns.owned).toEqual([`pv-${t.supervisor.tag}-${sandboxId}`]);
    expect(report.kinds.mounts.owned).toEqual([join(t.supervisor.root, "sandboxes", sandboxId, "shm")]);
    expect(report.kinds.cgroups.owned).toContain(`podvisor-${t.supervisor.tag}/pod-${sandboxId}/ctr-${containerId}`);
    expect(report.kinds.processes.owned).toContain(String(pid));
    expect(Object.values(report.kinds).flatMap((kind) => [...kind.missing, ...kind.inFlight])).toEqual([]);
    for (const leak of [made.netns, made.mount, made.inGhost, made.inExited]) expect(await leak.exists()).toBe(true);

    const repaired = await t.supervisor.checkHost({ repair: true });
    expect(repaired).toMatchObject({ repair: true, leaks: 5, removed: 5, failed: 0 });
    for (const kind of ["netns", "mounts", "cgroups", "processes"] as const) {
      expect(repaired.kinds[kind].removed.sort()).toEqual(leakNames(report, kind));
    }
    for (const leak of [made.netns, made.mount, made.inGhost, made.inExited]) expect(await leak.exists()).toBe(false);
    expect(await cgroupExists(made.ghostCgroup)).toBe(false);
    // The exited container's cgroup is its record's: emptied, not removed.
    expect(await cgroupExists(made.exitedCgroup)).toBe(true);

    // Nothing a record owns was touched: the sandbox still runs, and takes new containers.
    expect(isAlive(pid)).toBe(true);
    expect(t.supervisor.containerStatus(containerId).state).toBe("running");
    expect(existsSync(`/run/netns/pv-${t.supervisor.tag}-${sandboxId}`)).toBe(true);
    expect(await isMounted(join(t.supervisor.root, "sandboxes", sandboxId, "shm"))).toBe(true);
    const another = await t.supervisor.createContainer(sandboxId, { name: "after", command: ["sleep", "1000"] });
    await t.supervisor.startContainer(another);
    expect(t.supervisor.containerStatus(another).state).toBe("running");
    expect(await t.supervisor.checkHost({ repair: true })).toMatchObject({ leaks: 0, removed: 0, failed: 0 });

    const after = await t.supervisor.metricsText();
    for (const [kind, count] of [["netns", 1], ["mounts", 1], ["cgroups", 1], ["processes", 2]] as const) {
      expect(metric(after, "podvisor_leaks_found_total", kind) - metric(before, "podvisor_leaks_found_total", kind)).toBe(2 * count);
      expect(metric(after, "podvisor_leaks_removed_total", kind) - metric(before, "podvisor_leaks_removed_total", kind)).toBe(count);
      expect(metric(after, "podvisor_leaks", kind)).toBe(0);
    }
    expect(after).toMatch(/^podvisor_host_checks_total\{repair="true"\} [1-9]/m);
  });

  test("the periodic guard removes only what the previous check found too", async () => {
    const first = await leakNetns(t.supervisor.tag);
    leaks.push(first);
    const periodic = { repair: true, repairOnlyRepeated: true };
    const seen = await t.supervisor.checkHost(periodic);
    expect(seen.kinds.netns.leaks).toEqual([{ name: first.name, reason: "no record owns it", notRepaired: expect.stringMatching(/^first seen/) }]);
    expect(await first.exists()).toBe(true);
    const second = await leakNetns(t.supervisor.tag);
    leaks.push(second);
    const again = await t.supervisor.checkHost(periodic);
    expect(again.kinds.netns.removed).toEqual([first.name]);
    expect(await first.exists()).toBe(false);
    expect(await second.exists()).toBe(true);
    expect((await t.supervisor.checkHost(periodic)).kinds.netns.removed).toEqual([second.name]);
  });

  test("a process in a created container's cgroup is reported but never killed: the container may yet start", async () => {
    const created = await t.supervisor.createContainer(sandboxId, { name: "later", command: ["sleep", "1000"] });
    const intruder = await leakProcess(`podvisor-${t.supervisor.tag}/pod-${sandboxId}/ctr-${created}`);
    leaks.push(intruder);
    const report = await t.supervisor.checkHost({ repair: true });
    expect(report.kinds.processes.leaks).toEqual([expect.objectContaining({ name: intruder.name, notRepaired: expect.stringContaining(created) })]);
    expect(report.removed).toBe(0);
    expect(await intruder.exists()).toBe(true);
    await t.supervisor.removeContainer(created); // its removal kills what is in its cgroup
    await waitUntil(async () => !(await intruder.exists()));
  });

  test("a process put directly in the daemon's cgroup or a sandbox's is killed by pid, and the sandbox keeps running", async () => {
    const inTop = await leakProcess(`podvisor-${t.supervisor.tag}`);
    const inPod = await leakProcess(`podvisor-${t.supervisor.tag}/pod-${sandboxId}`);
    leaks.push(inTop, inPod);
    const report = await t.supervisor.checkHost({ repair: true });
    expect(report.kinds.processes.leaks.map((leak) => leak.reason).sort()).toEqual([
      `directly in cgroup podvisor-${t.supervisor.tag}, where podvisor runs no process`,
      `directly in cgroup podvisor-${t.supervisor.tag}/pod-${sandboxId}, where podvisor runs no process`,
    ]);
    expect(report.kinds.processes.removed.sort()).toEqual([inTop.name, inPod.name].sort());
    expect(await inTop.exists()).toBe(false);
    expect(await inPod.exists()).toBe(false);
    expect(report.kinds.cgroups.leaks).toEqual([]);
    expect(t.supervisor.containerStatus(containerId).state).toBe("running");
  });

  test("what a stopped sandbox left behind is a leak that names it, and its removal then succeeds", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "stopped" });
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    const left = await leakNetns(t.supervisor.tag, id);
    leaks.push(left);
    const report = await t.supervisor.checkHost({ repair: true });
    expect(report.kinds.netns.leaks).toEqual([{ name: left.name, reason: `its pod sandbox ${id} is stopped` }]);
    expect(report.kinds.netns.removed).toEqual([left.name]);
    await t.supervisor.removePodSandbox(id);
  });

  test("a netns or shm a ready sandbox's record names and the host lacks is reported missing, and nothing else is done", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "robbed" });
    const netns = `pv-${t.supervisor.tag}-${id}`;
    const shm = join(t.supervisor.root, "sandboxes", id, "shm");
    await execa("ip", ["netns", "del", netns]);
    await execa("umount", [shm]);
    const report = await t.supervisor.checkHost({ repair: true });
    expect(report.kinds.netns.missing).toEqual([netns]);
    expect(report.kinds.mounts.missing).toEqual([shm]);
    expect(report).toMatchObject({ leaks: 0, removed: 0 });
    expect(existsSync(`/run/netns/${netns}`)).toBe(false);
    await t.supervisor.removePodSandbox(id); // the stop finds them gone, which is done
  });

  test("checks racing sandbox runs and container starts never take what an operation in flight makes", async () => {
    let stop = false;
    let checks = 0;
    const reports: HostCheckReport[] = [];
    const checking = (async () => {
      while (!stop) {
        reports.push(await t.supervisor.checkHost({ repair: true }));
        checks++;
      }
    })();
    const ids = await Promise.all(Array.from({ length: 6 }, async (_, index) => {
      const id = await t.supervisor.runPodSandbox({ name: `race-${index}` });
      const container = await t.supervisor.createContainer(id, { name: "c", command: ["sleep", "1000"] });
      await t.supervisor.startContainer(container);
      return { id, container };
    }));
    stop = true;
    await checking;
    expect(checks).toBeGreaterThan(0);
    expect(reports.flatMap((report) => Object.values(report.kinds).flatMap((kind) => kind.leaks))).toEqual([]);
    for (const { id, container } of ids) {
      expect(t.supervisor.containerStatus(container).state).toBe("running");
      expect(isAlive(t.supervisor.containerStatus(container).pid as number)).toBe(true);
      expect(existsSync(`/run/netns/pv-${t.supervisor.tag}-${id}`)).toBe(true);
      await t.supervisor.removePodSandbox(id);
    }
  });

  test("another daemon's objects, under another root and tag, are never touched", async () => {
    const other = await startTestSupervisor({ workers: 1 });
    try {
      const otherSandbox = await other.supervisor.runPodSandbox({ name: "theirs" });
      const theirs = await makeLeaks(other.supervisor, otherSandbox);
      const ours = await t.supervisor.checkHost({ repair: true });
      expect(ours).toMatchObject({ leaks: 0, removed: 0 });
      for (const leak of [theirs.netns, theirs.mount, theirs.inGhost, theirs.inExited]) expect(await leak.exists()).toBe(true);
      expect(other.supervisor.podSandboxStatus(otherSandbox).state).toBe("ready");
      // Their own check finds them.
      expect(await other.supervisor.checkHost()).toMatchObject({ leaks: 5 });
    } finally {
      await removeLeaks(leaks);
      expect(await other.close()).toEqual(noLeftovers);
    }
  });

  test("InFlightIds keeps, for a window, every id begun while it is open, even once its operation ended", () => {
    const inFlight = new InFlightIds();
    const before = inFlight.begin("a");
    const window = inFlight.watch();
    const during = inFlight.begin("b");
    during();
    before();
    expect([...window.ids].sort()).toEqual(["a", "b"]);
    expect(inFlight.has("a") || inFlight.has("b")).toBe(false);
    window.stop();
    inFlight.begin("c");
    expect(window.ids.has("c")).toBe(false);
  });
});

describe("the daemon's leak checks", () => {
  const leaks: Leak[] = [];
  afterEach(async () => {
    await removeLeaks(leaks);
  });

  test("the check at start removes what an earlier daemon process left; the periodic one removes a later leak", async () => {
    const root = await realpath(await mkdtemp(join(tmpdir(), "pvtest-leaks-")));
    const tag = createHash("sha256").update(root).digest("hex").slice(0, 8);
    // Removed last, after the leaks made in it, whatever the test's outcome.
    leaks.push({ name: root, exists: async () => existsSync(root), remove: () => rm(root, { recursive: true, force: true }) });
    const netns = await leakNetns(tag);
    const mount = await leakMount(root);
    const ghostCgroup = `podvisor-${tag}/pod-${ghostId()}`;
    const inGhost = await leakProcess(ghostCgroup);
    leaks.push(netns, mount, inGhost);
    const daemon = await startDaemon({ root, workers: 1, noSocket: true, leakCheckIntervalMs: 200 });
    try {
      for (const leak of [netns, mount, inGhost]) expect(await leak.exists()).toBe(false);
      expect(await cgroupExists(ghostCgroup)).toBe(false);
      const text = await daemon.supervisor.metricsText();
      expect(metric(text, "podvisor_leaks_removed_total", "processes")).toBe(1);
      expect(metric(text, "podvisor_leaks_removed_total", "netns")).toBe(1);

      // A leak made while it runs is removed once two periodic checks in a row have found it.
      const later = await leakNetns(tag);
      leaks.push(later);
      const removedNetns = async () => metric(await daemon.supervisor.metricsText(), "podvisor_leaks_removed_total", "netns");
      await waitUntil(async () => (await removedNetns()) === 2, 20_000);
      expect(await later.exists()).toBe(false);
    } finally {
      await daemon.shutdown("test");
    }
    expect(await findHostLeftovers({ root, tag })).toEqual(noLeftovers);
  });

  test("a leak check interval a timer cannot wait is refused before anything starts", async () => {
    await expect(startDaemon({ root: "/nonexistent", noSocket: true, leakCheckIntervalMs: 2 ** 31 })).rejects.toThrow(RangeError);
    await expect(startDaemon({ root: "/nonexistent", noSocket: true, leakCheckIntervalMs: -1 })).rejects.toThrow(RangeError);
    expect(existsSync("/nonexistent")).toBe(false); // nothing was made
  });
});
