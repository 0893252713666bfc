import { describe, expect, test } from "vitest";
import { ociSpec, useOciHarness } from "./oci-fixtures.ts";

const deadline = () => AbortSignal.timeout(10_000);

describe("OciBackend exec", () => {
  const h = useOciHarness();

  test("runs in the container's namespaces and collects stdout, stderr and the exit code", async () => {
    const { id, pid } = await h.run(["sleep", "1000"], await ociSpec(h, "ex", { hostname: "pv-exec", env: { GREETING: "hi" } }));
    const result = await h.backend.exec(id, ["sh", "-c", "echo $GREETING; hostname; echo oops >&2; exit 4"], { signal: deadline() });
    expect(result).toEqual({ stdout: "hi\npv-exec\n", stderr: "oops\n", exitCode: 4, timedOut: false });
    expect(await h.backend.pids(id)).toEqual([pid]);
  });

  test("a timeout kills the command inside the container, not only the runtime's exec", async () => {
    const { id, pid } = await h.run(["sleep", "1000"], await ociSpec(h, "slow"));
    const result = await h.backend.exec(id, ["sh", "-c", "echo started; exec sleep 1000"], { timeoutMs: 500, signal: deadline() });
    expect(result).toMatchObject({ timedOut: true, stdout: "started\n" });
    await expect.poll(() => h.backend.pids(id), { timeout: 5_000 }).toEqual([pid]);
  });

  test("a container never started cannot exec", async () => {
    const spec = await h.create(["sleep", "1000"], await ociSpec(h, "cold"));
    await expect(h.backend.exec(spec.id, ["true"])).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
  });
});
