import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { afterAll, describe, expect, test } from "vitest";
import { measureFloor } from "../../bench/teardown/floor.ts";
import { listCgroups } from "../../src/host/cgroup.ts";
import { readMountinfo } from "../../src/host/mountinfo.ts";
import { listNetns } from "../../src/host/netns.ts";

const roots: string[] = [];

async function freshRun(): Promise<{ root: string; tag: string }> {
  const tag = `test_${randomBytes(4).toString("hex")}`;
  const root = await mkdtemp(`/tmp/pvfloor-${tag}-`);
  roots.push(root);
  return { root, tag };
}

/** Children of this process that exited and were never reaped. */
async function zombieChildren(): Promise<number[]> {
  const zombies: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const text = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    const [state, ppid] = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (state === "Z" && Number(ppid) === process.pid) zombies.push(Number(name));
  }
  return zombies;
}

async function expectNothingLeft(run: { root: string; tag: string }): Promise<void> {
  expect(await listNetns(`pvfloor-${run.tag}`)).toEqual([]);
  expect(await listCgroups(`pvfloor-${run.tag}`)).toEqual([]);
  expect((await readMountinfo()).filter((mount) => mount.mountPoint.startsWith(run.root))).toEqual([]);
  await expect(stat(run.root)).rejects.toMatchObject({ code: "ENOENT" });
  expect(await zombieChildren()).toEqual([]);
}

afterAll(async () => {
  // Every run checks its own names; this catches anything a failed run left.
  for (const root of roots) await rm(root, { recursive: true, force: true });
  expect(await listNetns("pvfloor-test_")).toEqual([]);
  expect(await listCgroups("pvfloor-test_")).toEqual([]);
});

describe("measureFloor()", () => {
  test("tears down graceful sandboxes without a kill and leaves nothing behind", async () => {
    const run = await freshRun();
    const result = await measureFloor({ sandboxes: 5, containers: 2, workload: "graceful", timeoutMs: 5_000, ...run });
    expect(result.setupMs).toBeGreaterThan(0);
    expect(result.teardownMs).toBeGreaterThan(0);
    expect(Object.keys(result.phases)).toEqual(["signal", "wait-exit", "unmount", "netns-removal", "cgroup-removal"]);
    expect(result.phases["wait-exit"]).toBeLessThan(5_000);
    expect(result.processes).toBe(2);
    await expectNothingLeft(run);
  });

  test("kills ignore-term containers at the timeout", async () => {
    const run = await freshRun();
    const timeoutMs = 300;
    const result = await measureFloor({ sandboxes: 3, containers: 1, workload: "ignore-term", timeoutMs, ...run });
    expect(Object.keys(result.phases)).toEqual(["signal", "wait-exit", "kill", "unmount", "netns-removal", "cgroup-removal"]);
    expect(result.phases["wait-exit"]).toBeGreaterThanOrEqual(timeoutMs - 1);
    expect(result.teardownMs).toBeGreaterThanOrEqual(timeoutMs);
    await expectNothingLeft(run);
  });

  test("kills the children a forking container leaves behind, with overlay rootfs too", async () => {
    const run = await freshRun();
    const result = await measureFloor({ sandboxes: 2, containers: 2, workload: "forking", timeoutMs: 200, rootfs: true, ...run });
    expect(result.phases.kill).toBeGreaterThan(0);
    await expectNothingLeft(run);
  });

  test("unmounts shm and rootfs with direct system calls when asked", async () => {
    const run = await freshRun();
    const result = await measureFloor({ sandboxes: 3, containers: 1, workload: "slow-exit", timeoutMs: 3_000, rootfs: true, unmountWith: "syscalls", ...run });
    expect(result.phases.kill).toBeUndefined();
    expect(result.processes).toBe(2);
    await expectNothingLeft(run);
  });

  test("rejects bad options before touching the host", async () => {
    const run = await freshRun();
    await expect(measureFloor({ sandboxes: 0, containers: 1, workload: "graceful", timeoutMs: 1, ...run })).rejects.toThrow(RangeError);
    await expect(measureFloor({ sandboxes: 1, containers: 1, workload: "graceful", timeoutMs: 1, root: run.root, tag: "../x" })).rejects.toThrow(TypeError);
    expect(await listNetns(`pvfloor-${run.tag}`)).toEqual([]);
  });
});
