import { describe, expect, test } from "vitest";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import type { ContainerSpec } from "../../src/runtime/runtime-backend.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

const deadline = () => AbortSignal.timeout(10_000);

describe("ProcessBackend refusals", () => {
  const h = useRuntimeHarness(() => new ProcessBackend());

  test("an unknown id is NOT_FOUND for every verb but delete, for which it is success", async () => {
    const b = h.backend;
    for (const call of [b.start("nope"), b.signal("nope"), b.killAll("nope"), b.state("nope"), b.waitForStopped("nope"), b.pids("nope")]) {
      await expect(call).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
    await expect(b.delete("nope")).resolves.toBeUndefined();
  });

  test("a spec of the wrong shape or out of range is refused before anything is made", async () => {
    const good: ContainerSpec = { id: "x", command: ["true"], logPath: `${h.dir}/x.log`, cgroupPath: `${h.prefix}/x` };
    await expect(h.backend.create({ ...good, command: "true" } as unknown as ContainerSpec)).rejects.toThrow(TypeError);
    await expect(h.backend.create({ ...good, command: [] })).rejects.toThrow(RangeError);
    await expect(h.backend.create({ ...good, logPath: "relative.log" })).rejects.toThrow(RangeError);
    await expect(h.backend.create({ ...good, cgroupPath: `${h.prefix}/../escape` })).rejects.toThrow(RangeError);
    await expect(h.backend.create({ ...good, env: { "A=B": "c" } })).rejects.toThrow(RangeError);
    await expect(h.backend.state("x")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  test("a second create of the same id, or a second start, fails", async () => {
    const spec = await h.create(["sleep", "1000"]);
    await expect(h.backend.create(spec)).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
    await h.backend.start(spec.id);
    await expect(h.backend.start(spec.id)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
  });

  test("a created container is reported created, cannot be waited for, and deletes cleanly", async () => {
    const spec = await h.create(["true"]);
    expect(await h.backend.state(spec.id)).toEqual({ status: "created" });
    await expect(h.backend.waitForStopped(spec.id)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    await h.backend.delete(spec.id);
    await h.backend.delete(spec.id);
  });

  test("a running container cannot be deleted; once stopped it can", async () => {
    const { id } = await h.run(["sleep", "1000"]);
    await expect(h.backend.delete(id)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    await h.backend.killAll(id);
    await h.backend.waitForStopped(id, { signal: deadline() });
    await h.backend.signal(id, "SIGTERM"); // exited already: success, and no stray signal
    await h.backend.delete(id);
  });
});
