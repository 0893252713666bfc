import { describe, expect, test, vi } from "vitest";
import { ManualClock } from "../../src/async/clock.ts";
import { LaggingBackend } from "../../src/runtime/lagging-backend.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

// LaggingBackend is a deliberate fake: a VM runtime's late report of "stopped" cannot be made to
// happen on demand. The processes underneath are real.

const deadline = () => AbortSignal.timeout(10_000);

describe("LaggingBackend", () => {
  const inner = new ProcessBackend();
  let clock = new ManualClock();
  let lagging: LaggingBackend;
  const h = useRuntimeHarness(() => {
    clock = new ManualClock(1_000);
    return (lagging = new LaggingBackend(inner, { lagMs: 250, clock }));
  });

  test("reports stopped only after the lag, measured on its clock", async () => {
    const { id } = await h.run(["sh", "-c", "exit 4"]);
    await inner.waitForStopped(id, { signal: deadline() });
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), { timeout: 5_000, interval: 1 });
    expect(await lagging.state(id)).toMatchObject({ status: "running" });
    clock.advance(249);
    expect((await lagging.state(id)).status).toBe("running");
    clock.advance(1);
    expect(await lagging.state(id)).toMatchObject({ status: "stopped", exitCode: 4 });
    expect(await lagging.waitForStopped(id, { signal: deadline() })).toMatchObject({ status: "stopped", exitCode: 4 });
  });

  test("reports stopped only after the lag, measured in real time", async () => {
    const lagMs = 200;
    const real = new LaggingBackend(inner, { lagMs });
    const spec = await h.create(["sh", "-c", "exit 0"]);
    await real.start(spec.id);
    await inner.waitForStopped(spec.id, { signal: deadline() });
    const innerStoppedAt = performance.now();
    expect((await real.state(spec.id)).status).toBe("running");
    await real.waitForStopped(spec.id, { signal: deadline() });
    // Timers may fire up to a millisecond early against performance.now().
    expect(performance.now() - innerStoppedAt).toBeGreaterThanOrEqual(lagMs - 2);
    await real.delete(spec.id);
  });

  test("a backend that never reports makes a wait fail at its deadline with a clear error", async () => {
    const never = new LaggingBackend(inner, { lagMs: 0, neverReports: true });
    const spec = await h.create(["sleep", "1000"]);
    await never.start(spec.id);
    await never.killAll(spec.id);
    await inner.waitForStopped(spec.id, { signal: deadline() });
    const wait = never.waitForStopped(spec.id, { signal: AbortSignal.timeout(200) });
    await expect(wait).rejects.toMatchObject({
      name: "DeadlineExceededError",
      code: "DEADLINE_EXCEEDED",
      message: `Cannot wait for container "${spec.id}" to stop: the runtime did not report it stopped before the deadline`,
    });
    expect((await never.state(spec.id)).status).toBe("running");
    await never.delete(spec.id);
  });
});
