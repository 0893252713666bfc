import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { cgroupPids, createCgroup, findCgroup2Mount, isPopulated, killCgroup, listCgroups } from "../../src/host/cgroup.ts";
import { cgroup2MountFromMountinfo, normalizeCgroupPath } from "../../src/host/cgroup-path.ts";
import { removeCgroup } from "../../src/host/cgroup-remove.ts";
import { waitForCgroupEmpty } from "../../src/host/cgroup-wait.ts";
import { expectNoZombies, expectPidsGone, testCgroupPrefix } from "../runtime/runtime-fixtures.ts";

const deadline = () => AbortSignal.timeout(10_000);

describe("cgroup v2", () => {
  let prefix = "";
  const children: ResultPromise[] = [];

  beforeEach(() => {
    prefix = testCgroupPrefix();
  });

  afterEach(async () => {
    await removeCgroup(prefix);
    await Promise.all(children.splice(0));
    expect(await listCgroups(prefix)).toEqual([]);
    await expectNoZombies();
  });

  /** Starts `sh -c script` inside the cgroup, joined before the script runs. */
  async function spawnIn(path: string, script: string): Promise<number> {
    const procs = join(await createCgroup(path), "cgroup.procs");
    const child = execa("sh", ["-c", 'echo $$ > "$1" && exec sh -c "$2"', "probe", procs, script], { reject: false, stdio: "ignore" });
    children.push(child);
    return child.pid as number;
  }

  test("findCgroup2Mount() finds the cgroup2 mount listed in /proc/self/mountinfo", async () => {
    const mount = await findCgroup2Mount();
    expect(await readFile("/proc/self/mountinfo", "utf8")).toContain(` ${mount} `);
    expect((await stat(join(mount, "cgroup.procs"))).isFile()).toBe(true);
  });

  test("the mountinfo parser decodes escaped mount points and skips other file systems", () => {
    const text = [
      "30 1 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
      "41 31 0:38 / /sys/fs/cgroup/my\\040unified rw,relatime shared:9 - cgroup2 cgroup2 rw",
    ].join("\n");
    expect(cgroup2MountFromMountinfo(text)).toBe("/sys/fs/cgroup/my unified");
    expect(cgroup2MountFromMountinfo("30 1 0:27 / /proc rw - proc proc rw")).toBeUndefined();
  });

  test("a path that would escape the mount, or name the root cgroup, is refused", () => {
    const mount = "/sys/fs/cgroup/unified";
    expect(normalizeCgroupPath("podvisor-x/pod-1/ctr-2", mount)).toBe("podvisor-x/pod-1/ctr-2");
    expect(normalizeCgroupPath(`${mount}/podvisor-x/pod-1`, mount)).toBe("podvisor-x/pod-1");
    for (const bad of ["", "/", "..", "a/../../etc", "a//b", "a/", "./a", "/etc/passwd", `${mount}`, `${mount}/`, "a/b c"]) {
      expect(() => normalizeCgroupPath(bad, mount), bad).toThrow(RangeError);
    }
  });

  test("a cgroup can be created twice, killed, and removed twice", async () => {
    const path = `${prefix}/pod-1/ctr-1`;
    const dir = await createCgroup(path);
    expect(await createCgroup(path)).toBe(dir);
    const pid = await spawnIn(path, "sleep 1000 & sleep 1000 & wait");
    await expect.poll(() => cgroupPids(prefix), { timeout: 5_000 }).toHaveLength(3);
    const pids = await cgroupPids(prefix);
    expect(pids).toContain(pid);
    expect(await isPopulated(prefix)).toBe(true);
    await killCgroup(path);
    await waitForCgroupEmpty(path, { signal: deadline() });
    expect(await isPopulated(path)).toBe(false);
    await removeCgroup(prefix);
    await removeCgroup(prefix);
    expect(await listCgroups(prefix)).toEqual([]);
    await killCgroup(path); // gone already: success
    expect(await isPopulated(path)).toBe(false);
    expect(await cgroupPids(path)).toEqual([]);
    await expectPidsGone(pids);
  });

  test("removing a cgroup that still holds processes kills them first", async () => {
    await spawnIn(`${prefix}/busy`, "sleep 1000");
    await expect.poll(() => isPopulated(prefix), { timeout: 5_000 }).toBe(true);
    const pids = await cgroupPids(prefix);
    await removeCgroup(prefix, { signal: deadline() });
    expect(await listCgroups(prefix)).toEqual([]);
    await expectPidsGone(pids);
  });

  test("removal with its known children takes them and it without a listing; an unknown child, or a busy one, falls back to the whole walk", async () => {
    const known = [`${prefix}/pod-1/ctr-a`, `${prefix}/pod-1/ctr-b`, `${prefix}/pod-1/ctr-gone`];
    for (const path of known.slice(0, 2)) await createCgroup(path);
    await removeCgroup(`${prefix}/pod-1`, { knownChildren: known });
    expect(await listCgroups(`${prefix}/pod-1`)).toEqual([]);
    await createCgroup(`${prefix}/pod-2/ctr-a`);
    await createCgroup(`${prefix}/pod-2/stranger/deeper`);
    await spawnIn(`${prefix}/pod-2/ctr-b`, "sleep 1000");
    await expect.poll(() => isPopulated(`${prefix}/pod-2/ctr-b`), { timeout: 5_000 }).toBe(true);
    const pids = await cgroupPids(`${prefix}/pod-2`);
    await removeCgroup(`${prefix}/pod-2`, { knownChildren: [`${prefix}/pod-2/ctr-a`, `${prefix}/pod-2/ctr-b`], signal: deadline() });
    expect(await listCgroups(`${prefix}/pod-2`)).toEqual([]);
    await expectPidsGone(pids);
    await expect(removeCgroup(`${prefix}/pod-3`, { knownChildren: [`${prefix}/elsewhere/ctr-a`] })).rejects.toThrow(RangeError);
  });

  test("listCgroups() lists parents before children, under a name prefix", async () => {
    await createCgroup(`${prefix}/pod-b/ctr-1`);
    await createCgroup(`${prefix}/pod-a`);
    await createCgroup(`${prefix}/other`);
    expect(await listCgroups(prefix)).toEqual([prefix, `${prefix}/other`, `${prefix}/pod-a`, `${prefix}/pod-b`, `${prefix}/pod-b/ctr-1`]);
    expect(await listCgroups(`${prefix}/pod-`)).toEqual([`${prefix}/pod-a`, `${prefix}/pod-b`, `${prefix}/pod-b/ctr-1`]);
    expect(await listCgroups(`${prefix}/missing/`)).toEqual([]);
  });

  for (const poll of [false, true]) {
    test(`waitForCgroupEmpty() ${poll ? "polling" : "watching"} resolves when the last process is gone`, async () => {
      const path = `${prefix}/wait`;
      await spawnIn(path, "sleep 1000 & wait");
      await expect.poll(() => cgroupPids(path), { timeout: 5_000 }).toHaveLength(2);
      const empty = waitForCgroupEmpty(path, { signal: deadline(), poll });
      await killCgroup(path);
      await expect(empty).resolves.toBeUndefined();
    });

    test(`waitForCgroupEmpty() ${poll ? "polling" : "watching"} rejects with the signal's reason and leaves nothing behind`, async () => {
      const path = `${prefix}/wait`;
      await spawnIn(path, "sleep 1000");
      await expect.poll(() => isPopulated(path), { timeout: 5_000 }).toBe(true);
      const before = activeResources();
      const controller = new AbortController();
      const waiting = waitForCgroupEmpty(path, { signal: controller.signal, poll });
      controller.abort(new Error("given up"));
      await expect(waiting).rejects.toThrow("given up");
      // A closed watcher's handle goes away on a later turn of the event loop: wait for it, bounded.
      await vi.waitFor(() => expect(activeResources()).toEqual(before), { timeout: 2_000, interval: 5 });
      await killCgroup(path);
    });
  }

  test("waitForCgroupEmpty() resolves at once for a cgroup that does not exist", async () => {
    await waitForCgroupEmpty(`${prefix}/never-made`, { signal: deadline() });
  });
});

/** Timers and file watchers this process holds (empty where the runtime does not say). */
function activeResources(): string[] {
  const info = (process as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo?.() ?? [];
  return info.filter((name) => /Timeout|FSEvent|Watcher/i.test(name)).sort();
}
