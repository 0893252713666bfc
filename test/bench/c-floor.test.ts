/**
 * The C floor as the teardown benchmark drives it: the real rawfloor.c from ../shared/bench, built
 * with gcc into the test's own folder and run as root with a few sandboxes. The "too many
 * sandboxes" path is made real by running it under a lowered open-file limit, and a failed run by
 * occupying the path of one of its namespaces before it starts.
 */
import { access, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildCFloor, parseResultLine, runCFloor } from "../../bench/teardown/c-floor.ts";
import type { CFloorRun } from "../../bench/teardown/c-floor.ts";
import { findCFloorLeftovers } from "../../bench/teardown/c-floor-cleanup.ts";
import { largestCFloorSandboxes, measureCFloor, openFileLimit } from "../../bench/teardown/c-floor-plan.ts";
import { defaultCFloorSource } from "../../bench/teardown/run.ts";

const haveSource = await access(defaultCFloorSource).then(() => true, () => false);
let buildDir = "";
let binary = "";

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), "pvtest-cfloor-"));
  if (haveSource) binary = await buildCFloor(defaultCFloorSource, buildDir);
});

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

/** The run left nothing: no cgroup, mount or namespace of its prefix, no process of ours unreaped. */
async function expectNothingLeft(prefix: string): Promise<void> {
  expect(await findCFloorLeftovers(prefix)).toEqual({ cgroups: [], mounts: [], netns: [] });
  await expect(access(`/run/rawfloor/${prefix}`)).rejects.toMatchObject({ code: "ENOENT" });
}

const measured = (run: CFloorRun | { tooLarge: true }): CFloorRun => {
  if ("tooLarge" in run) throw new Error("expected a run, got too-large");
  return run;
};

describe("parseResultLine()", () => {
  test("reads rawfloor's key=value line", () => {
    const line = "impl=c mode=par N=20 M=3 ign=0 ovl=0 threads=2 setup_ms=339.2 kill_reap_ms=6.59 ovl_umount_ms=0.00 shm_umount_ms=36.79 netns_del_ms=1.17 cgroup_rmdir_ms=1.51 total_ms=46.07 per_sandbox_ms=2.303 settle_ms=-1 kthread_cpu_ms=-1";
    expect(parseResultLine(line)).toEqual({
      sandboxes: 20,
      setupMs: 339.2,
      totalMs: 46.07,
      perSandboxMs: 2.303,
      phases: { kill_reap: 6.59, ovl_umount: 0, shm_umount: 36.79, netns_del: 1.17, cgroup_rmdir: 1.51 },
    });
  });

  test("says which number is missing", () => {
    expect(() => parseResultLine("impl=c N=2 setup_ms=1")).toThrow(/no number kill_reap_ms/);
  });
});

describe("largestCFloorSandboxes()", () => {
  test("is what fits in the limit, less 3%, rounded down", () => {
    expect(largestCFloorSandboxes(3, 20_000)).toBe(4_800); // (20,000 − 64) / 4 = 4,984
    expect(largestCFloorSandboxes(3, 200)).toBe(32); // 34 fit
    expect(largestCFloorSandboxes(1, 2_000)).toBe(930); // 968 fit
    expect(largestCFloorSandboxes(3, 64)).toBe(0);
  });

  test("reads this process's hard limit", async () => {
    const limits = await readFile("/proc/self/limits", "utf8");
    expect(limits).toContain(`Max open files`);
    expect(await openFileLimit()).toBeGreaterThan(0);
  });
});

describe.skipIf(!haveSource)(`runCFloor() (needs ${defaultCFloorSource})`, () => {
  test("builds once per source, outside the source's folder", async () => {
    expect(binary.startsWith(buildDir)).toBe(true);
    expect(await buildCFloor(defaultCFloorSource, buildDir)).toBe(binary);
    expect((await readdir(buildDir)).filter((name) => name.startsWith("rawfloor-"))).toHaveLength(1);
  });

  test("tears down graceful sandboxes with cgroups and leaves nothing behind", async () => {
    const prefix = "pvrftestgrace";
    const run = measured(await runCFloor(binary, { sandboxes: 4, containers: 2, ignoreTerm: false, graceMs: 10_000, overlay: false, prefix }));
    expect(run.sandboxes).toBe(4);
    expect(run.totalMs).toBeGreaterThan(0);
    expect(run.totalMs).toBeLessThan(10_000); // no one waited for the kill
    expect(run.perSandboxMs).toBeCloseTo(run.totalMs / 4, 2);
    expect(run.command).toContain(`-n 4 -m 2 -t par -j 2 -c -g 10000 -p ${prefix}`);
    await expectNothingLeft(prefix);
  });

  test("kills SIGTERM-ignoring containers at the grace, with an overlay per container", async () => {
    const prefix = "pvrftestignore";
    const run = measured(await runCFloor(binary, { sandboxes: 2, containers: 2, ignoreTerm: true, graceMs: 300, overlay: true, prefix }));
    expect(run.command).toMatch(/ -i -o$/);
    expect(run.phases.kill_reap).toBeGreaterThanOrEqual(295);
    await expectNothingLeft(prefix);
  });

  test("says when N is too large for the open-file limit, before touching the host", async () => {
    const prefix = "pvrftestlarge";
    const run = await runCFloor(binary, { sandboxes: 40, containers: 3, ignoreTerm: false, graceMs: 1_000, overlay: false, fileLimit: 100, prefix });
    expect(run).toEqual({ tooLarge: true, message: expect.stringMatching(/^40 sandboxes need 224 descriptors; this process may open 100/) });
    await expectNothingLeft(prefix);
  });

  test("extrapolates from the largest N it can run, and says from which", async () => {
    const floor = await measureCFloor({ source: defaultCFloorSource, buildDir, sandboxes: 60, containers: 3, ignoreTerm: false, graceMs: 10_000, overlay: false, fileLimit: 200 });
    expect(floor.extrapolatedFrom).toEqual({ sandboxes: 32, reason: expect.stringContaining("60 sandboxes need 304 descriptors") });
    expect(floor.run.sandboxes).toBe(32);
    expect(floor.perSandboxMs).toBe(floor.run.perSandboxMs);
    expect(floor.totalMs).toBeCloseTo(floor.run.perSandboxMs * 60, 6);
  });

  test("measures at N itself when N fits", async () => {
    const floor = await measureCFloor({ source: defaultCFloorSource, buildDir, sandboxes: 3, containers: 1, ignoreTerm: false, graceMs: 10_000, overlay: false });
    expect(floor.extrapolatedFrom).toBeUndefined();
    expect(floor.totalMs).toBe(floor.run.totalMs);
  });

  test("a run that fails halfway is cleaned up: processes, mounts, namespaces, cgroups", async () => {
    const prefix = "pvrftestfail";
    // Sandbox 0 is set up whole (netns, shm, cgroups, running processes); sandbox 1's namespace
    // path is taken, so rawfloor dies there with everything of sandbox 0 still in place.
    const blocker = `/run/netns/${prefix}-1`;
    await writeFile(blocker, "", { flag: "wx" });
    try {
      await expect(runCFloor(binary, { sandboxes: 3, containers: 2, ignoreTerm: true, graceMs: 1_000, overlay: true, prefix }))
        .rejects.toThrow(/Cannot run the C floor .*-p pvrftestfail.*: .*\/run\/netns\/pvrftestfail-1/s);
    } finally {
      await rm(blocker, { force: true });
    }
    await expectNothingLeft(prefix);
  });

  test("refuses a prefix that is not one of its own", async () => {
    await expect(runCFloor(binary, { sandboxes: 1, containers: 1, ignoreTerm: false, graceMs: 1, overlay: false, prefix: "../x" })).rejects.toThrow(TypeError);
    await expect(runCFloor(binary, { sandboxes: 0, containers: 1, ignoreTerm: false, graceMs: 1, overlay: false })).rejects.toThrow(RangeError);
  });
});
