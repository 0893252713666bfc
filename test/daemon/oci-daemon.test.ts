/**
 * The daemon with `--backend runc`, through its API: real containers (busybox-static roots) through
 * conmon, a restart that adopts them, a crash in the middle of a stop, and nothing left behind.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from "vitest";
import { removeEmptyV1Cgroups } from "../../src/host/cgroup-v1.ts";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { runtimes } from "../support/runtimes.ts";
import type { Runtime } from "../support/runtimes.ts";
import { isAlive, noLeftovers, waitUntil } from "../support/supervisor.ts";
import { testTempPrefix } from "../support/test-run.ts";
import { makeBusyboxRootfs } from "../runtime/oci-fixtures.ts";

const trapTerm = ["sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done"];
const trapUsr1 = ["sh", "-c", "trap 'exit 7' USR1; echo ready; while :; do sleep 0.1; done"];
const ignoresTerm = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"];

let lower = "";
beforeAll(async () => {
  lower = await mkdtemp(testTempPrefix("oci-daemon-lower"));
  await makeBusyboxRootfs(lower);
});
afterAll(() => rm(lower, { recursive: true, force: true }));

async function call<T = any>(client: RawClient, method: string, params?: unknown): Promise<T> {
  const response = await client.call(method, params);
  if (response.error !== undefined) throw new Error(`${method}: ${JSON.stringify(response.error)}`);
  return response.result as T;
}

async function status(client: RawClient, containerId: string): Promise<any> {
  return (await call(client, "ContainerStatus", { containerId })).status;
}

async function runPod(client: RawClient, commands: string[][]): Promise<{ podSandboxId: string; containerIds: string[] }> {
  const { podSandboxId } = await call(client, "RunPodSandbox", { config: { name: "oci" } });
  const containerIds: string[] = [];
  for (const [index, command] of commands.entries()) {
    const { containerId } = await call(client, "CreateContainer", { podSandboxId, config: { name: `c${index}`, command, rootfs: lower } });
    await call(client, "StartContainer", { containerId });
    const { logPath } = await status(client, containerId);
    await waitUntil(async () => (await readFile(logPath, "utf8").catch(() => "")).includes("ready"));
    containerIds.push(containerId);
  }
  return { podSandboxId, containerIds };
}

/** Starts a daemon that a failing test still stops (a passing one stops it itself, and checks). */
async function startDaemon(runtime: Runtime, args: string[], options: { root?: string } = {}): Promise<DaemonProcess> {
  const daemon = await startDaemonProcess(runtime, ["--backend", "runc", ...args], options);
  onTestFinished(async (context) => {
    if (context.task.result?.state !== "fail" || daemon.child.nodeChildProcess.exitCode !== null) return;
    await daemon.crash();
    const next = await startDaemonProcess(daemon.runtime, ["--backend", "runc"], { root: daemon.root });
    await next.stop();
  });
  return daemon;
}

/** Stops the daemon, checks what it left, and removes the v1 cgroup folder runc made for its top. */
async function stopAndCheck(daemon: DaemonProcess): Promise<void> {
  const tag = createHash("sha256").update(daemon.root).digest("hex").slice(0, 8);
  const leftovers = await daemon.stop();
  await removeEmptyV1Cgroups(`podvisor-${tag}`, { includeTop: true });
  expect(leftovers).toEqual(noLeftovers);
}

describe.each(runtimes)("the daemon with --backend runc on %s", (runtime: Runtime) => {
  test("Version says runc; a restart adopts what runs, reports the real exit code of what exited meanwhile, and its leak check leaves conmon alone", async () => {
    const first = await startDaemon(runtime, ["--live-restore"]);
    const client = await RawClient.connect(first.socket);
    expect(await call(client, "Version")).toMatchObject({ containerBackend: "runc" });
    const { podSandboxId, containerIds } = await runPod(client, [trapTerm, trapUsr1]);
    const pids = await Promise.all(containerIds.map(async (id) => (await status(client, id)).pid as number));
    client.close();
    first.child.kill("SIGTERM");
    await first.child;
    expect(pids.every(isAlive)).toBe(true);
    process.kill(pids[1], "SIGUSR1"); // exits while no daemon runs; conmon keeps its status
    await waitUntil(() => !isAlive(pids[1]));

    const next = await startDaemon(runtime, [], { root: first.root });
    const again = await RawClient.connect(next.socket);
    expect(await status(again, containerIds[0])).toMatchObject({ state: "running", pid: pids[0] });
    expect(await status(again, containerIds[1])).toMatchObject({ state: "exited", exitCode: 7 });
    await call(again, "StopPodSandbox", { podSandboxId, timeoutMs: 5_000 });
    // Its exit code came from conmon, which the start's leak check did not take for a leak.
    expect(await status(again, containerIds[0])).toMatchObject({ state: "exited", exitCode: 42 });
    await call(again, "RemovePodSandbox", { podSandboxId });
    expect(readdirSync(join(next.root, "oci", "containers"))).toEqual([]);
    again.close();
    await stopAndCheck(next);
  });

  test("init: true (CreateContainer) runs a bare sleep under catatonit, and it stops on SIGTERM before the deadline", async () => {
    const daemon = await startDaemon(runtime, []);
    const client = await RawClient.connect(daemon.socket);
    const { podSandboxId } = await call(client, "RunPodSandbox", { config: { name: "init" } });
    const { containerId } = await call(client, "CreateContainer", { podSandboxId, config: { name: "sleeper", command: ["sleep", "1000"], rootfs: lower, init: true } });
    await call(client, "StartContainer", { containerId });
    const { pid } = await status(client, containerId);
    await waitUntil(async () => (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")) === "catatonit\n");
    const startedAt = Date.now();
    await call(client, "StopPodSandbox", { podSandboxId, timeoutMs: 20_000 });
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(await status(client, containerId)).toMatchObject({ state: "exited", exitCode: 143, signal: "SIGTERM", reason: "signalled" });
    await call(client, "RemovePodSandbox", { podSandboxId });
    client.close();
    await stopAndCheck(daemon);
  });

  test("a stop interrupted by a crash is resumed by the next daemon, and the kill's status comes from conmon", async () => {
    const first = await startDaemon(runtime, []);
    const client = await RawClient.connect(first.socket);
    const { podSandboxId, containerIds } = await runPod(client, [ignoresTerm, ignoresTerm]);
    client.call("StopPodSandbox", { podSandboxId, timeoutMs: 3_000 }).catch(() => {}); // its answer dies with the daemon
    await waitUntil(() => existsSync(join(first.root, "stops")) && readdirSync(join(first.root, "stops")).length > 0);
    await first.crash();
    client.close();

    const next = await startDaemon(runtime, [], { root: first.root });
    const again = await RawClient.connect(next.socket);
    await waitUntil(async () => (await call(again, "PodSandboxStatus", { podSandboxId })).status.state === "stopped", 20_000);
    for (const id of containerIds) {
      const container = await status(again, id);
      expect(container).toMatchObject({ state: "exited", reason: "killed-at-deadline", exitCode: 137, signal: "SIGKILL" });
      expect(container.exitCodeUnknown).toBeUndefined();
    }
    await call(again, "RemovePodSandbox", { podSandboxId });
    again.close();
    await stopAndCheck(next);
  });
});
