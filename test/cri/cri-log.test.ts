/**
 * The CRI log's follower ends with its container: a pod removed while its container ran (critest's
 * AfterEach does this, then deletes the log directory) leaves no follower behind that fails on the
 * removed backend log every 250 ms — found by critest, where such followers warned for the rest of
 * the run.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { connectCri } from "./cri-client.ts";
import type { CriClient } from "./cri-client.ts";
import { containerConfig, makeBusyboxRootfs, podConfig } from "./cri-fixtures.ts";

describe.each(["process", "runc"])("the CRI log of a container whose pod is removed while it runs, backend %s", (backend) => {
  let daemon: DaemonProcess;
  let cri: CriClient;
  let dir: string;
  let rootfs: string;
  let stopped = false;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-cri-log-"));
    rootfs = await makeBusyboxRootfs(join(dir, "rootfs"));
    daemon = await startDaemonProcess("node", ["--backend", backend]);
    cri = connectCri(daemon.criSocket);
  });
  afterAll(async () => {
    cri?.close();
    if (!stopped) await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("no follower outlives the container: nothing is warned, the deleted log directory is not made again", async () => {
    const logDirectory = join(dir, "pod-logs");
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("logs", { log_directory: logDirectory }) });
    const config = containerConfig("talker", rootfs, ["sh", "-c", "echo started; while true; do echo tick; sleep 0.1; done"], { log_path: "talker.log" });
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config, sandbox_config: podConfig("logs") });
    await cri.runtime("StartContainer", { container_id: id });
    const criLog = join(logDirectory, "talker.log");
    await expect.poll(() => readFile(criLog, "utf8").catch(() => ""), { timeout: 10_000 }).toContain("started");

    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    await rm(logDirectory, { recursive: true });
    // A dozen of the follower's 250 ms rounds.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await expect(stat(logDirectory)).rejects.toMatchObject({ code: "ENOENT" });

    cri.close();
    stopped = true;
    expect(await daemon.stop()).toEqual(noLeftovers);
    const { stderr } = await daemon.child;
    expect(String(stderr)).not.toContain("Cannot copy a container's output to its CRI log");
  });
});
