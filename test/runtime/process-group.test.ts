import { describe, expect, test } from "vitest";
import { listCgroups } from "../../src/host/cgroup.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { expectPidsGone, isLive } from "./runtime-fixtures.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

const notHappeningMs = 300;
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

  test("waitForStopped does not resolve while a background child lives on after the main process exited", async () => {
    const { id, pid } = await h.run(["sh", "-c", "sleep 1000 & exit 0"]);
    await expect.poll(() => isLive(pid), { timeout: 5_000 }).toBe(false);
    const tooEarly = h.backend.waitForStopped(id, { signal: AbortSignal.timeout(notHappeningMs) });
    await expect(tooEarly).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    await h.backend.killAll(id);
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 0 });
  });
});
