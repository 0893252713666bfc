/**
 * The CRI endpoint with a CNI network (the real bridge and host-local plugins, a bridge and subnet
 * of the test's own: test/network/network-fixtures.ts): NetworkReady follows the conf dir, a pod's
 * status shows its address, and the container reaches it from inside.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTestNetwork } from "../network/network-fixtures.ts";
import type { TestNetwork } from "../network/network-fixtures.ts";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { connectCri } from "./cri-client.ts";
import type { CriClient } from "./cri-client.ts";
import { containerConfig, makeBusyboxRootfs, podConfig } from "./cri-fixtures.ts";

describe("the CRI endpoint with a CNI network", () => {
  let net: TestNetwork;
  let daemon: DaemonProcess;
  let cri: CriClient;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-cri-net-"));
    net = await makeTestNetwork("cri-net");
    daemon = await startDaemonProcess("node", ["--cni-conf-dir", net.confDir, "--cni-bin-dir", net.binDirs.join(":")]);
    cri = connectCri(daemon.criSocket);
  });
  afterAll(async () => {
    cri?.close();
    const leftovers = await daemon?.stop();
    await net?.close();
    await rm(dir, { recursive: true, force: true });
    expect(leftovers ?? noLeftovers).toEqual(noLeftovers);
  });

  test("NetworkReady follows the conf dir (false while it is empty); the pod's address is in its status", async () => {
    const networkReady = async () => (await cri.runtime("Status", {})).status.conditions.find((condition: { type: string }) => condition.type === "NetworkReady");
    expect(await networkReady()).toEqual({ type: "NetworkReady", status: true, reason: "", message: "" });
    await rm(join(net.confDir, "10-pvtest.conflist"));
    expect(await networkReady()).toMatchObject({ status: false, reason: "NetworkPluginNotReady", message: expect.stringContaining("no CNI network is configured") });
    await net.writeConfig();
    expect(await networkReady()).toEqual({ type: "NetworkReady", status: true, reason: "", message: "" });

    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("net") });
    const { status } = await cri.runtime("PodSandboxStatus", { pod_sandbox_id: podId });
    expect(status.network.ip).toMatch(new RegExp(`^${net.subnet.split(".").slice(0, 3).join("\\.")}\\.`));
    const rootfs = await makeBusyboxRootfs(join(dir, "rootfs"));
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config: containerConfig("c", rootfs, ["sleep", "1000"]) });
    await cri.runtime("StartContainer", { container_id: id });
    // The container (and an exec in it) is in the pod's network namespace: its eth0 has the pod's address.
    const exec = await cri.runtime("ExecSync", { container_id: id, cmd: ["ip", "-4", "addr", "show", "eth0"] });
    expect(exec.exit_code).toBe(0);
    expect(exec.stdout.toString()).toContain(status.network.ip);
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
  });
});
