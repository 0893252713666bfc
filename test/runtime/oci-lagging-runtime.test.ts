/**
 * The reference's case: a VM runtime (Kata) learns that a container exited only when asked for its
 * state, so the runtime says "running" for a while after conmon saw the exit. The stop must wait for
 * the RUNTIME's "stopped". runc cannot be made to lag on demand, so `fixtures/lagging-runc` is a
 * DELIBERATE FAKE: a script that wraps the real runc and rewrites its "stopped" to "running" until
 * it has been asked LAG times after the exit. Such runtimes need their own `kill`
 * (`signalsDirectly: false`): the test checks that the backend used it.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test, vi } from "vitest";
import { ociSpec, useOciHarness } from "./oci-fixtures.ts";

const lag = 4;
const fake = fileURLToPath(new URL("./fixtures/lagging-runc", import.meta.url));

describe("OciBackend on a runtime that reports an exit late (a fake VM runtime)", () => {
  const h = useOciHarness({ runtime: "lagging-runc", runtimePath: fake, signalsDirectly: false });

  test("waitForStopped waits for the runtime's own \"stopped\", not for conmon's exit file", async () => {
    await mkdir(join(h.root, "runtime"), { recursive: true });
    await writeFile(join(h.root, "runtime", "lag-count"), String(lag));
    const { id, logPath } = await h.run(["sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"], await ociSpec(h, "vm"));
    await vi.waitFor(async () => expect(await readFile(logPath, "utf8")).toContain("ready"), { timeout: 10_000 });
    await h.backend.signal(id, "SIGTERM");
    const calls = await readFile(join(h.root, "runtime", "calls"), "utf8");
    expect(calls).toMatch(new RegExp(`kill ${id} SIGTERM\\n`)); // through the runtime, not process.kill
    // conmon has seen the exit: its file is there, but the runtime still says "running".
    await vi.waitFor(async () => expect(await readFile(join(h.root, "containers", id, "persist", "exit"), "utf8")).toBe("3"), { timeout: 10_000 });
    expect((await h.backend.state(id)).status).toBe("running");
    const rounds = h.backend.poller.rounds;
    const stopped = await h.backend.waitForStopped(id, { signal: AbortSignal.timeout(10_000) });
    expect(stopped).toMatchObject({ status: "stopped", exitCode: 3 });
    // One ask went to state() above; the poller asked until the runtime said "stopped" (lag + 1).
    expect(h.backend.poller.rounds - rounds).toBe(lag);
    expect(await readFile(join(h.root, "runtime", "lag", id), "utf8")).toBe(`${lag + 1}\n`);
  });
});
