/**
 * A daemon restart on the OCI backend: conmon and the container outlive the backend that started
 * them, and a new backend on the same folder (as a restarted daemon makes it) adopts them. These
 * containers are created outside the harness's list: the backend that made them is let go mid-test.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test, vi } from "vitest";
import type { OciBackend } from "../../src/runtime/oci/oci-backend.ts";
import type { StartedInfo } from "../../src/runtime/oci/oci-layout.ts";
import type { ContainerSpec } from "../../src/runtime/runtime-backend.ts";
import { expectPidsGone, waitForFileText } from "./runtime-fixtures.ts";
import { listDir, ociSpec, useOciHarness } from "./oci-fixtures.ts";

const deadline = () => AbortSignal.timeout(10_000);
const trapScript = "trap 'exit 5' USR1; echo ready; while :; do sleep 0.05; done";

describe("OciBackend after a daemon restart", () => {
  const h = useOciHarness();

  async function startOutsideHarness(id: string): Promise<{ spec: ContainerSpec; pid: number; startedAt: number }> {
    const spec = { command: ["sh", "-c", trapScript], logPath: join(h.dir, `${id}.log`), cgroupPath: `${h.prefix}/pod/ctr-${id}`, ...(await ociSpec(h, id)) } as ContainerSpec;
    await h.backend.create(spec);
    const started = await h.backend.start(id);
    await waitForFileText(spec.logPath, "ready");
    return { spec, ...started };
  }

  async function removeWith(backend: OciBackend, id: string, pid: number): Promise<void> {
    await backend.killAll(id);
    await backend.waitForStopped(id, { signal: deadline() }).catch(() => {});
    await backend.delete(id);
    backend.close();
    await expectPidsGone([pid]);
  }

  test("a container that exited while no daemon ran is reported with its real exit code, from conmon's persist dir", async () => {
    const { spec, pid, startedAt } = await startOutsideHarness("gone");
    h.backend.close(); // the daemon goes away; conmon and the container stay
    process.kill(pid, "SIGUSR1");
    await vi.waitFor(async () => expect(await readFile(join(h.root, "containers/gone/persist/exit"), "utf8")).toBe("5"), { timeout: 10_000 });
    const later = h.reopen();
    expect(await later.adopt(spec, { pid, startedAt })).toMatchObject({ status: "stopped", pid, exitCode: 5 });
    expect(await later.waitForStopped("gone", { signal: deadline() })).toMatchObject({ exitCode: 5 });
    await removeWith(later, "gone", pid);
  });

  test("a running container is adopted, signalled directly by the new backend, and its exit code still comes from conmon", async () => {
    const { spec, pid, startedAt } = await startOutsideHarness("live");
    h.backend.close();
    const later = h.reopen();
    expect(await later.adopt(spec, { pid, startedAt })).toMatchObject({ status: "running", pid, startedAt });
    expect(await later.pids("live")).toContain(pid);
    await later.signal("live", "SIGUSR1");
    expect(await later.waitForStopped("live", { signal: deadline() })).toMatchObject({ status: "stopped", exitCode: 5 });
    await removeWith(later, "live", pid);
  });

  test("a container an earlier daemon left, never adopted (it had exited), is still deleted whole by its id", async () => {
    const { pid } = await startOutsideHarness("left");
    await h.backend.killAll("left");
    await h.backend.waitForStopped("left", { signal: deadline() });
    h.backend.close();
    const later = h.reopen();
    await later.delete("left");
    expect(await later.runtime.list()).toEqual([]);
    expect(await listDir(join(h.root, "containers"))).toEqual([]);
    later.close();
    await expectPidsGone([pid]);
  });

  test("conmon killed under a running container: the exit status is unknown, never made up", async () => {
    const { pid } = await startOutsideHarness("orphan");
    const started = JSON.parse(await readFile(join(h.root, "containers/orphan/started.json"), "utf8")) as StartedInfo;
    process.kill(started.conmonPid, "SIGKILL");
    await expectPidsGone([started.conmonPid]);
    await h.backend.killAll("orphan");
    expect(await h.backend.waitForStopped("orphan", { signal: deadline() })).toMatchObject({ status: "stopped", exitCodeUnknown: true });
    await h.backend.delete("orphan");
    await expectPidsGone([pid]);
  });
});
