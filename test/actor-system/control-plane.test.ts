import { expect, test } from "vitest";
import { systemClock } from "../../src/async/clock.ts";
import { CodedError } from "../../src/errors/coded-error.ts";
import { WorkerHandle } from "../../src/actor-system/worker-handle.ts";

test("a control call that fails on the worker rejects on the main thread with a coded error", async () => {
  const handle = new WorkerHandle({ index: 0, serial: 1, heartbeatIntervalMs: 100, clock: systemClock, onBatch() {}, onExit() {} });
  try {
    await handle.ready;
    // `spawn` given no list throws a TypeError on the worker; comlink alone would lose its class and code.
    const error = await handle.call((control) => control.spawn(null as never), { deadlineAt: Date.now() + 10_000, what: "spawn actors" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CodedError);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT" });
  } finally {
    await handle.terminate();
  }
});
