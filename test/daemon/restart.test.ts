/**
 * A daemon killed with SIGKILL (a crash) or stopped with --live-restore, and a next daemon on the
 * same root: what it finds, how it resumes an interrupted stop, and what it leaves behind.
 */
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, onTestFinished, test } from "vitest";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { runtimes } from "../support/runtimes.ts";
import type { Runtime } from "../support/runtimes.ts";
import { isAlive, noLeftovers, waitUntil } from "../support/supervisor.ts";

/** A shell that ignores SIGTERM and says so once its trap is set. */
const ignoresTerm = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"];

async function call<T = any>(client: RawClient, method: string, params?: unknown): Promise<T> {
  const response = await client.call(method, params);
  if (response.error !== undefined) throw new Error(`${method}: ${JSON.stringify(response.error)}`);
  return response.result as T;
}

/** A sandbox with the given containers, each started and (for shells) ready. */
async function runPod(client: RawClient, commands: string[][]): Promise<{ podSandboxId: string; containerIds: string[] }> {
  const { podSandboxId } = await call(client, "RunPodSandbox", { config: { name: "restart" } });
  const containerIds: string[] = [];
  for (const [index, command] of commands.entries()) {
    const { containerId } = await call(client, "CreateContainer", { podSandboxId, config: { name: `c${index}`, command } });
    await call(client, "StartContainer", { containerId });
    containerIds.push(containerId);
  }
  for (const [index, containerId] of containerIds.entries()) {
    if (commands[index] !== ignoresTerm) continue;
    const { status } = await call(client, "ContainerStatus", { containerId });
    await waitUntil(async () => (await readFile(status.logPath, "utf8").catch(() => "")).includes("ready"));
  }
  return { podSandboxId, containerIds };
}

async function restart(previous: DaemonProcess, args: string[] = []): Promise<{ daemon: DaemonProcess; client: RawClient }> {
  const daemon = await startDaemonProcess(previous.runtime, args, { root: previous.root });
  cleanUpIfFailed(daemon);
  return { daemon, client: await RawClient.connect(daemon.socket) };
}

/** A test that fails half-way still stops what it ran (a passing one stops it itself, and checks). */
function cleanUpIfFailed(daemon: DaemonProcess): void {
  onTestFinished(async (context) => {
    if (context.task.result?.state !== "fail" || daemon.child.nodeChildProcess.exitCode !== null) return;
    daemon.child.kill("SIGKILL");
    await daemon.child;
    const next = await startDaemonProcess(daemon.runtime, [], { root: daemon.root });
    await next.stop();
  });
}

async function startFirst(runtime: Runtime, args: string[] = []): Promise<{ first: DaemonProcess; client: RawClient }> {
  const first = await startDaemonProcess(runtime, args);
  cleanUpIfFailed(first);
  return { first, client: await RawClient.connect(first.socket) };
}

async function status(client: RawClient, method: "PodSandboxStatus" | "ContainerStatus", id: string): Promise<any> {
  const params = method === "PodSandboxStatus" ? { podSandboxId: id } : { containerId: id };
  return (await call(client, method, params)).status;
}

describe.each(runtimes)("a restarted daemon on %s", (runtime: Runtime) => {
  test("resumes a stop interrupted by a crash under its original deadline: killed at it, not earlier, not a whole timeout later", async () => {
    const { first, client } = await startFirst(runtime);
    const { podSandboxId, containerIds } = await runPod(client, [ignoresTerm, ignoresTerm]);
    const pids = await Promise.all(containerIds.map(async (id) => (await status(client, "ContainerStatus", id)).pid as number));
    const timeoutMs = 5_000;
    const requestedAt = Date.now();
    client.call("StopPodSandbox", { podSandboxId, timeoutMs }).catch(() => {}); // its answer dies with the daemon
    // The intent is journaled before any signal goes out; crash once it is on disk.
    await waitUntil(() => existsSync(join(first.root, "stops")) && readdirSync(join(first.root, "stops")).length > 0);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await first.crash();
    client.close();
    expect(pids.every(isAlive)).toBe(true); // SIGTERM was ignored; no kill yet

    const { daemon, client: next } = await restart(first);
    const restartedAt = Date.now();
    await waitUntil(async () => (await status(next, "PodSandboxStatus", podSandboxId)).state === "stopped", 20_000);
    const deadlineAt = requestedAt + timeoutMs;
    for (const id of containerIds) {
      const container = await status(next, "ContainerStatus", id);
      // Its exit status outlived the crash: the process holder, not the dead daemon, was its parent.
      expect(container).toMatchObject({ state: "exited", reason: "killed-at-deadline", signal: "SIGKILL" });
      expect(container.exitCodeUnknown).toBeUndefined();
      // Killed at the original deadline (less the infra containers' reserve, at most 1 s, as in any
      // stop): not at once on restart, and not a whole timeout after it.
      expect(container.finishedAt).toBeGreaterThan(restartedAt + 500);
      expect(container.finishedAt).toBeGreaterThanOrEqual(deadlineAt - 1_050);
      expect(container.finishedAt).toBeLessThan(deadlineAt + 1_400);
    }
    expect(pids.filter(isAlive)).toEqual([]);
    expect(readdirSync(join(daemon.root, "stops"))).toEqual([]);
    const metrics = (await call(next, "Metrics")).text as string;
    expect(metrics).toMatch(/podvisor_stops_resumed_total 1/);
    next.close();
    expect(await daemon.stop()).toEqual(noLeftovers);
  });

  test("a stop whose deadline passed while the daemon was down kills at once on restart; exit codes recorded before the crash are kept", async () => {
    const { first, client } = await startFirst(runtime);
    const { podSandboxId, containerIds } = await runPod(client, [ignoresTerm, ["sh", "-c", "exit 3"]]);
    await waitUntil(async () => (await status(client, "ContainerStatus", containerIds[1])).state === "exited");
    client.call("StopPodSandbox", { podSandboxId, timeoutMs: 1_000 }).catch(() => {});
    await waitUntil(() => existsSync(join(first.root, "stops")) && readdirSync(join(first.root, "stops")).length > 0);
    await first.crash();
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the deadline passes while no daemon runs

    const restartedAt = Date.now();
    const { daemon, client: next } = await restart(first);
    await waitUntil(async () => (await status(next, "PodSandboxStatus", podSandboxId)).state === "stopped", 20_000);
    const killed = await status(next, "ContainerStatus", containerIds[0]);
    expect(killed).toMatchObject({ state: "exited", reason: "killed-at-deadline" });
    expect(killed.finishedAt - restartedAt).toBeLessThan(10_000); // at once, bounded by the restart itself
    expect(await status(next, "ContainerStatus", containerIds[1])).toMatchObject({ state: "exited", exitCode: 3, reason: "exited" });
    next.close();
    expect(await daemon.stop()).toEqual(noLeftovers);
  });

  test("with --live-restore, containers keep running and are adopted; one that died meanwhile is exited with the status its holder kept", async () => {
    const { first, client } = await startFirst(runtime, ["--live-restore"]);
    const { podSandboxId, containerIds } = await runPod(client, [["sleep", "1000"], ["sleep", "1000"], ignoresTerm]);
    const before = await Promise.all(containerIds.map((id) => status(client, "ContainerStatus", id)));
    client.close();
    first.child.kill("SIGTERM");
    await first.child;
    expect(before.every((container) => isAlive(container.pid))).toBe(true);
    // No container holds a descriptor of the daemon's (its socket would outlive it): stdio only.
    for (const container of before) expect(readdirSync(`/proc/${container.pid}/fd`).sort()).toEqual(["0", "1", "2"]);
    process.kill(before[1].pid, "SIGKILL"); // dies while no daemon runs

    // Adoption does not depend on the next daemon's --live-restore (that flag is about its own shutdown).
    const { daemon, client: next } = await restart(first);
    expect(await status(next, "ContainerStatus", containerIds[0])).toMatchObject({ state: "running", pid: before[0].pid });
    const died = await status(next, "ContainerStatus", containerIds[1]);
    expect(died).toMatchObject({ state: "exited", signal: "SIGKILL", reason: "signalled" });
    expect(died.exitCodeUnknown).toBeUndefined();
    // An adopted container is stopped as any other: its stop signal first (sleep obeys it) …
    await call(next, "StopContainer", { containerId: containerIds[0], timeoutMs: 5_000 });
    const graceful = await status(next, "ContainerStatus", containerIds[0]);
    expect(graceful.state).toBe("exited");
    expect(graceful).toMatchObject({ reason: "signalled", signal: "SIGTERM" }); // ended by its signal, not killed
    // … and the kill at the deadline, for one that ignores it.
    await call(next, "StopPodSandbox", { podSandboxId, timeoutMs: 500 });
    expect(await status(next, "ContainerStatus", containerIds[2])).toMatchObject({ state: "exited", reason: "killed-at-deadline" });
    expect(before.map((container) => container.pid).filter(isAlive)).toEqual([]);
    next.close();
    expect(await daemon.stop()).toEqual(noLeftovers);
  });
});
