import { describe, expect, test } from "vitest";
import { listCgroups } from "../../src/host/cgroup.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { expectPidsGone } from "./runtime-fixtures.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

const deadline = () => AbortSignal.timeout(10_000);

describe("ProcessBackend falling back to process groups", () => {
  const h = useRuntimeHarness(() => new ProcessBackend({ forceProcessGroup: true }));

  test("killAll leaves no process of a shell that forked background children", async () => {
    const { id, pid } = await h.run(["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    let pids: number[] = [];
    await expect.poll(async () => (pids = await h.backend.pids(id)).length, { timeout: 5_000 }).toBe(3);
    expect(pids).toContain(pid);
    expect(await listCgroups(h.prefix)).toEqual([]);
    await h.backend.killAll(id);
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ status: "stopped", signal: "SIGKILL" });
    await expectPidsGone(pids);
  });

  test("a command that exits by itself keeps its exit code", async () => {
    const { id } = await h.run(["sh", "-c", "exit 3"]);
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ status: "stopped", exitCode: 3 });
  });

  // A background child left by the main process dies with it: see process-main-exit.test.ts.
});
