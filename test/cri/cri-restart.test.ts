/**
 * A daemon restart under a CRI client: with --live-restore the pods keep running; the next daemon
 * serves them through the CRI with everything kubelet gave (metadata, labels, log path), and
 * follows the running containers' CRI logs again (from where the restart found them).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { connectCri } from "./cri-client.ts";
import { containerConfig, makeBusyboxRootfs, podConfig } from "./cri-fixtures.ts";

describe("the CRI across a daemon restart", () => {
  let dir: string;
  let daemon: DaemonProcess | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-cri-restart-"));
  });
  afterAll(async () => {
    if (daemon !== undefined) expect(await daemon.stop()).toEqual(noLeftovers);
    await rm(dir, { recursive: true, force: true });
  });

  test("a live-restored pod is served again with its metadata, and its container's CRI log goes on", async () => {
    const rootfs = await makeBusyboxRootfs(join(dir, "rootfs"));
    const logs = join(dir, "logs");
    const first = await startDaemonProcess("node", ["--live-restore"]);
    let cri = connectCri(first.criSocket);
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("kept", { log_directory: logs, labels: { app: "kept" } }) });
    const config = containerConfig("ticker", rootfs, ["sh", "-c", "n=0; while :; do n=$((n+1)); echo tick $n; sleep 0.2; done"], { log_path: "ticker.log", labels: { role: "tick" } });
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config });
    await cri.runtime("StartContainer", { container_id: id });
    const logText = () => readFile(join(logs, "ticker.log"), "utf8").catch(() => "");
    await expect.poll(logText, { timeout: 10_000 }).toContain("stdout F tick 3\n");
    cri.close();
    await first.stop(); // --live-restore: the pod keeps running
    const linesBefore = (await logText()).split("\n").length;

    daemon = await startDaemonProcess("node", [], { root: first.root });
    cri = connectCri(daemon.criSocket);
    try {
      const { status } = await cri.runtime("PodSandboxStatus", { pod_sandbox_id: podId });
      expect(status).toMatchObject({ state: "SANDBOX_READY", metadata: { name: "kept", uid: "uid-kept", namespace: "testns", attempt: 1 }, labels: { app: "kept" } });
      const container = (await cri.runtime("ContainerStatus", { container_id: id })).status;
      expect(container).toMatchObject({ state: "CONTAINER_RUNNING", labels: { role: "tick" }, log_path: join(logs, "ticker.log") });
      // Lines written after the restart reach the CRI log.
      await expect.poll(async () => (await logText()).split("\n").length, { timeout: 10_000 }).toBeGreaterThan(linesBefore + 3);
      expect((await cri.runtime("ExecSync", { container_id: id, cmd: ["echo", "alive"] })).stdout.toString()).toBe("alive\n");
      await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    } finally {
      cri.close();
    }
  });
});
