/**
 * Host faults during a stop (issue 6): a host step that fails makes the stop return a clear error
 * and leaves the sandbox not-stopped; a later stop, once the fault is gone, finishes it; no record
 * is ever left half-written.
 *
 * Every fault here is real, none is faked:
 * - a network namespace that cannot be removed: a mount placed on top of its file. `ip netns
 *   delete` detaches one mount, then its unlink of the file — still a mount point — fails (EBUSY);
 * - an unmount that fails: the directory holding the mount (the shm tmpfs, a container's overlay)
 *   bind-mounted onto itself, non-recursively. The mount is still in the mount table, but its path
 *   now leads to the plain directory beneath, so umount(2) — plain and lazy — says "not mounted";
 * - a full disk: the daemon's root lies on a small tmpfs this test mounts, filled to the last byte
 *   at a chosen moment of the stop (from its progress callback, synchronously).
 * The test removes each fault itself, in a `finally`, whatever the assertions said.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import type { ContainerRecord, SandboxRecord } from "../../src/state/records.ts";
import { isAlive, noLeftovers, startTestSupervisor, zombieChildren } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

/** Exits 7 on SIGTERM; says "ready" once its trap is set, so that no test signals it before. */
const exitsOnTerm = ["sh", "-c", "trap 'exit 7' TERM; echo ready; while :; do sleep 0.1; done"];
const stopTimeoutMs = 5_000;
/** The inodes of the test's small disk: enough for its sandboxes, few enough to use up in a moment. */
const diskInodes = 4_096;

const counts = { injected: 0, failedCleanly: 0, retriesFinished: 0 };

interface StopError extends Error {
  code: string;
  details: Record<string, unknown>;
}

describe("host faults during a stop", () => {
  let base: string;
  /** A small tmpfs of the test's own: the daemon's root lies on it, so its disk can be filled. */
  let disk: string;
  let image: string;
  let t: TestSupervisor | undefined;
  const supervisor = () => (t as TestSupervisor).supervisor;
  const root = () => (t as TestSupervisor).root;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "pvtest-faults-"));
    disk = join(base, "disk");
    await mkdir(disk);
    await execa("mount", ["-t", "tmpfs", "-o", `size=16m,nr_inodes=${diskInodes},mode=0700`, "tmpfs", disk]);
    t = await startTestSupervisor({ root: join(disk, "root") });
    // A runnable image for the overlay: the host's sh and sleep, and the libraries they link.
    image = join(base, "image");
    await mkdir(image);
    const { stdout } = await execa("ldd", ["/bin/sh", "/bin/sleep"]);
    const libraries = stdout.split("\n").map((line) => line.match(/(\/\S+) \(0x/)?.[1]).filter((path) => path !== undefined);
    await execa("cp", ["--parents", "-L", "/bin/sh", "/bin/sleep", ...new Set(libraries), image]);
  });

  afterAll(async () => {
    try {
      if (t !== undefined) expect(await t.close()).toEqual(noLeftovers);
      expect(await zombieChildren()).toEqual([]);
    } finally {
      await execa("umount", [disk], { reject: false });
      await rm(base, { recursive: true, force: true });
      console.log(`host faults: ${counts.injected} injected, ${counts.failedCleanly} stops failed cleanly, ${counts.retriesFinished} retries finished`);
    }
  });

  async function runPod(commands: string[][], rootfs?: string): Promise<{ id: string; containers: string[] }> {
    const id = await supervisor().runPodSandbox({ name: "faults" });
    const containers: string[] = [];
    for (const [index, command] of commands.entries()) {
      const containerId = await supervisor().createContainer(id, { name: `c${index}`, command, rootfs });
      await supervisor().startContainer(containerId);
      containers.push(containerId);
    }
    for (const [index, containerId] of containers.entries()) {
      if (!commands[index].join(" ").includes("echo ready")) continue;
      const log = join(root(), "sandboxes", id, "containers", containerId, "container.log");
      await expect.poll(() => readFile(log, "utf8").catch(() => ""), { timeout: 10_000 }).toContain("ready");
    }
    return { id, containers };
  }

  /** Stops the sandbox, expecting the stop to fail; returns its error. */
  async function failingStop(id: string, onProgress?: (phase: string) => void): Promise<StopError> {
    const error = await supervisor().stopPodSandbox(id, {
      timeoutMs: stopTimeoutMs,
      onProgress: (progress) => onProgress?.(progress.phase),
    }).then(() => undefined, (error: unknown) => error as StopError);
    expect(error, "the stop should have failed").toBeDefined();
    return error as StopError;
  }

  /** What a cleanly failed stop leaves: a not-stopped sandbox, whole records and no temporary file. */
  async function expectFailedCleanly(id: string, error: StopError, step: string, cause: RegExp): Promise<void> {
    expect(error.code).toBe("STOP_INCOMPLETE");
    expect(error.message).toMatch(new RegExp(`^Cannot stop pod sandbox ${id}: `));
    expect(error.message).toMatch(new RegExp(`${step} failed: .*${cause.source}`));
    expect(error.message).toMatch(/retry the stop$/);
    expect(supervisor().podSandboxStatus(id).state).toBe("ready");
    expect(await recordsOnDisk(id)).toMatchObject({ sandbox: { state: "ready" } });
    counts.failedCleanly++;
  }

  /** The stop after the fault is gone finishes: stopped in memory and on disk. */
  async function expectRetryFinishes(id: string): Promise<void> {
    await expect(supervisor().stopPodSandbox(id, { timeoutMs: stopTimeoutMs })).resolves.toMatchObject({ podSandboxId: id });
    expect(supervisor().podSandboxStatus(id)).toMatchObject({ state: "stopped", stop: { phase: "stopped" } });
    expect(await recordsOnDisk(id)).toMatchObject({ sandbox: { state: "stopped", stop: { phase: "stopped" } } });
    counts.retriesFinished++;
  }

  /** Removes the sandbox and checks that nothing of this daemon is left on the host. */
  async function removeAndCheck(id: string): Promise<void> {
    await supervisor().removePodSandbox(id);
    expect(existsSync(join(root(), "sandboxes", id))).toBe(false);
    const leftovers = await findHostLeftovers({ root: root(), tag: supervisor().tag });
    // The daemon's own top cgroup stays while it runs; nothing of the sandbox may stay in it.
    const daemonCgroup = `podvisor-${supervisor().tag}`;
    expect({ ...leftovers, cgroups: leftovers.cgroups.filter((cgroup) => cgroup !== daemonCgroup) }).toEqual(noLeftovers);
  }

  /**
   * Every record under the root, parsed: a half-written one would not parse. Fails on any
   * temporary file left behind by a write. Mount points (shm, overlays) are not entered.
   */
  async function recordsOnDisk(sandboxId: string): Promise<{ sandbox: SandboxRecord; containers: Record<string, ContainerRecord>; count: number }> {
    const records: string[] = [];
    const strays: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory() && !["shm", "merged", "upper", "work"].includes(entry.name)) await walk(path);
        else if (entry.name.endsWith(".tmp")) strays.push(path);
        else if (entry.name.endsWith(".json")) records.push(path);
      }
    };
    await walk(root());
    expect(strays, "temporary files left by a failed write").toEqual([]);
    // A batch stop's intent entry (stops/) is removed once the stop is over, a moment after it
    // answered: a file gone between the walk and its read is skipped; any file read must parse.
    const parsed = new Map<string, unknown>();
    for (const path of records) {
      const text = (() => {
        try {
          return readFileSync(path, "utf8");
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT" && path.startsWith(join(root(), "stops"))) return undefined;
          throw error;
        }
      })();
      if (text !== undefined) parsed.set(path, JSON.parse(text));
    }
    const dir = join(root(), "sandboxes", sandboxId);
    const containers: Record<string, ContainerRecord> = {};
    for (const [path, record] of parsed) {
      if (path.startsWith(`${dir}/containers/`)) containers[(record as ContainerRecord).id] = record as ContainerRecord;
    }
    return { sandbox: parsed.get(join(dir, "sandbox.json")) as SandboxRecord, containers, count: parsed.size };
  }

  /**
   * Fills the disk under the root to the last byte and the last inode; returns what frees it
   * again. Both: a record is rewritten in place of its old content and linked into place (see
   * `RecordFiles`), which needs no new byte, but a link on tmpfs takes an inode.
   */
  function fillDisk(): () => void {
    const filler = join(disk, "filler");
    const fd = openSync(filler, "w");
    const chunk = new Uint8Array(1 << 20);
    try {
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
    } finally {
      closeSync(fd);
    }
    const inodes = join(disk, "inodes");
    try {
      mkdirSync(inodes);
      for (let n = 0; n < diskInodes; n++) closeSync(openSync(join(inodes, String(n)), "w"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
    }
    counts.injected++;
    return () => {
      rmSync(filler, { force: true });
      rmSync(inodes, { recursive: true, force: true });
    };
  }

  /** The topmost mount on `path`, from the host's mount table: its file system type. */
  function topMountType(path: string): string | undefined {
    const lines = readFileSync("/proc/self/mountinfo", "utf8").trim().split("\n").map((line) => line.split(" "));
    const mounts = lines.filter((fields) => fields[4] === path);
    const top = mounts.find((fields) => !mounts.some((other) => other[1] === fields[0]));
    return top?.[top.indexOf("-") + 1];
  }

  /** Unmounts what this test put on `path`: every mount on top of it that `isFault` recognizes. */
  async function removeFault(path: string, isFault: (type: string) => boolean): Promise<void> {
    for (let type = topMountType(path); type !== undefined && isFault(type); type = topMountType(path)) {
      await execa("umount", [path]);
    }
  }

  test("a network namespace that cannot be removed fails the stop; the retry finishes it", async () => {
    const { id } = await runPod([exitsOnTerm]);
    const netnsPath = supervisor().podSandboxStatus(id).netnsPath as string;
    const source = join(base, `netns-fault-${id}`);
    await writeFile(source, "");
    await execa("mount", ["--bind", source, netnsPath]);
    counts.injected++;
    try {
      const error = await failingStop(id);
      await expectFailedCleanly(id, error, "netns-removal", /Device or resource busy/);
      expect(error.details).toMatchObject({ podSandboxId: id, step: "netns-removal" });
      // Every step before it was done; the namespace is still there.
      expect(supervisor().podSandboxStatus(id).stop).toMatchObject({ phase: "network-down" });
      expect(existsSync(netnsPath)).toBe(true);
    } finally {
      // `ip` detached the fault's mount before its unlink failed; unmount it if it is still there.
      await removeFault(netnsPath, (type) => type !== "nsfs");
    }
    await expectRetryFinishes(id);
    expect(existsSync(netnsPath)).toBe(false);
    await removeAndCheck(id);
  });

  test("an shm mount that cannot be unmounted fails the stop; the retry finishes it", async () => {
    const { id } = await runPod([exitsOnTerm]);
    const dir = join(root(), "sandboxes", id);
    const shmPath = supervisor().podSandboxStatus(id).shmPath as string;
    await execa("mount", ["--bind", dir, dir]);
    counts.injected++;
    try {
      const error = await failingStop(id);
      await expectFailedCleanly(id, error, "shm-unmount", new RegExp(`${shmPath}: not mounted`));
      expect(error.details).toMatchObject({ podSandboxId: id, step: "shm-unmount", reason: "HOST_COMMAND_FAILED" });
      expect(supervisor().podSandboxStatus(id).stop).toMatchObject({ phase: "netns-removed" });
    } finally {
      await removeFault(dir, () => true);
    }
    expect(topMountType(shmPath)).toBe("tmpfs"); // still mounted: the retry has work to do
    await expectRetryFinishes(id);
    expect(topMountType(shmPath)).toBeUndefined();
    await removeAndCheck(id);
  });

  test("a container's overlay that cannot be unmounted is a warning, as in the reference; RemovePodSandbox unmounts it before it deletes anything", async () => {
    const { id, containers } = await runPod([["sleep", "1000"]], image);
    const dir = join(root(), "sandboxes", id, "containers", containers[0]);
    const merged = join(dir, "merged");
    expect(topMountType(merged)).toBe("overlay");
    await execa("mount", ["--bind", dir, dir]);
    counts.injected++;
    try {
      const outcome = await supervisor().stopPodSandbox(id, { timeoutMs: stopTimeoutMs });
      expect(outcome.warnings).toEqual([expect.stringMatching(new RegExp(`^storage-unmount: 1 rootfs could not be unmounted: .*${merged}: not mounted.*retry it$`))]);
      expect(supervisor().podSandboxStatus(id)).toMatchObject({ state: "stopped", stop: { phase: "stopped" } });
      expect(supervisor().containerStatus(containers[0]).state).toBe("exited");
      // Its removal cannot delete the directory under a mount: it fails, touching nothing, to be retried.
      await expect(supervisor().removePodSandbox(id)).rejects.toThrow(/rootfs could not be unmounted/);
      expect(existsSync(join(root(), "sandboxes", id, "sandbox.json"))).toBe(true);
    } finally {
      await removeFault(dir, () => true);
    }
    expect(topMountType(merged)).toBe("overlay");
    counts.retriesFinished++;
    await removeAndCheck(id); // unmounts the overlay first
    expect(topMountType(merged)).toBeUndefined();
  });

  test("a full disk before the stop: its intent cannot be written, nothing is signalled; the retry finishes it", async () => {
    const { id, containers } = await runPod([exitsOnTerm]);
    const pid = supervisor().containerStatus(containers[0]).pid as number;
    const free = fillDisk();
    try {
      const error = await failingStop(id);
      await expectFailedCleanly(id, error, "stop-intent-write", /Cannot write .*\/stops\/.*ENOSPC/);
      expect(error.details).toMatchObject({ podSandboxIds: [id], step: "stop-intent-write", reason: "ENOSPC" });
      expect(supervisor().containerStatus(containers[0]).state).toBe("running");
      expect(isAlive(pid)).toBe(true);
    } finally {
      free();
    }
    await expectRetryFinishes(id);
    expect(supervisor().containerStatus(containers[0])).toMatchObject({ state: "exited", exitCode: 7, reason: "exited" });
    await removeAndCheck(id);
  });

  test("a full disk when a container's exit is recorded: the stop fails, and the retry keeps its exit code", async () => {
    const { id, containers } = await runPod([exitsOnTerm, exitsOnTerm]);
    const before = await recordsOnDisk(id);
    let free: (() => void) | undefined;
    try {
      // Filled once the stop's intent is on disk, before any container is signalled.
      const error = await failingStop(id, (phase) => {
        if (phase === "requested" && free === undefined) free = fillDisk();
      });
      expect(free, "the disk was filled").toBeDefined();
      await expectFailedCleanly(id, error, "container-record-write", /Cannot write .*container\.json: ENOSPC/);
      expect(error.details).toMatchObject({ podSandboxId: id });
      // The records on disk are the ones from before the stop, whole.
      for (const containerId of containers) {
        expect((await recordsOnDisk(id)).containers[containerId]).toEqual(before.containers[containerId]);
      }
    } finally {
      free?.();
    }
    await expectRetryFinishes(id);
    const after = await recordsOnDisk(id);
    for (const containerId of containers) {
      const exit = { state: "exited", exitCode: 7, reason: "exited" };
      expect(supervisor().containerStatus(containerId)).toMatchObject(exit);
      expect(after.containers[containerId]).toMatchObject(exit);
    }
    const infraId = supervisor().podSandboxStatus(id).infraContainerId as string;
    expect(after.containers[infraId]).toMatchObject({ state: "exited", reason: "signalled" });
    await removeAndCheck(id);
  });

  test("a full disk when the sandbox's \"stopped\" is recorded: the stop fails, the sandbox stays ready; the retry finishes it", async () => {
    const { id, containers } = await runPod([exitsOnTerm]);
    let free: (() => void) | undefined;
    try {
      // Filled after the last host step that ends a phase, before the sandbox's record is written.
      const error = await failingStop(id, (phase) => {
        if (phase === "shm-unmounted" && free === undefined) free = fillDisk();
      });
      expect(free, "the disk was filled").toBeDefined();
      await expectFailedCleanly(id, error, "sandbox-record-write", /Cannot write .*sandbox\.json: ENOSPC/);
      expect(error.details).toMatchObject({ podSandboxId: id, step: "sandbox-record-write", reason: "ENOSPC" });
      expect(supervisor().podSandboxStatus(id)).toMatchObject({ state: "ready", stop: { phase: "shm-unmounted" } });
      expect(supervisor().podSandboxStatus(id).stoppedAt).toBeUndefined();
      // The containers' exits were recorded before the disk filled.
      expect((await recordsOnDisk(id)).containers[containers[0]]).toMatchObject({ state: "exited", exitCode: 7 });
    } finally {
      free?.();
    }
    await expectRetryFinishes(id);
    expect((await recordsOnDisk(id)).containers[containers[0]]).toMatchObject({ state: "exited", exitCode: 7, reason: "exited" });
    await removeAndCheck(id);
  });
});
