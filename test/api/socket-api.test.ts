import { readFile, stat } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";

describe.each(runtimes)("the socket API of a daemon on %s", (runtime) => {
  let daemon: DaemonProcess;
  let client: RawClient;
  beforeAll(async () => {
    // A short idle timeout, so the silent-client test is quick: each test takes a fresh connection.
    daemon = await startDaemonProcess(runtime, ["--client-idle-timeout", "1", "--max-connections", "300"]);
  });
  beforeEach(async () => {
    client = await RawClient.connect(daemon.socket);
  });
  afterEach(() => client.close());
  afterAll(async () => {
    expect(await daemon.stop()).toEqual(noLeftovers);
  });

  test("the socket is a unix socket of mode 0600", async () => {
    const info = await stat(daemon.socket);
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
  });

  test("Version names the runtime the daemon runs on", async () => {
    const { result } = await client.call("Version");
    expect(result).toMatchObject({ runtime, apiVersion: "v1alpha1" });
    expect(typeof result.version).toBe("string");
  });

  test("a sandbox with two containers: run, list, stop with progress notifications, status, remove", async () => {
    const { result: run } = await client.call("RunPodSandbox", { config: { name: "web", labels: { app: "web" } } });
    const podSandboxId = run.podSandboxId as string;
    const ids: string[] = [];
    for (const [name, command] of [["a", ["sleep", "1000"]], ["b", ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]]] as const) {
      const { result } = await client.call("CreateContainer", { podSandboxId, config: { name, command } });
      ids.push(result.containerId);
      expect(await client.call("StartContainer", { containerId: result.containerId })).toMatchObject({ result: {} });
    }
    // b ignores SIGTERM only once its trap is set: wait for it to say so in its log.
    const { result: b0 } = await client.call("ContainerStatus", { containerId: ids[1] });
    await expect.poll(() => readFile(b0.status.logPath, "utf8").catch(() => ""), { timeout: 10_000 }).toContain("ready");
    const { result: list } = await client.call("ListContainers", { filter: { podSandboxId, state: "running" } });
    expect(list.items.map((item: { name: string }) => item.name).sort()).toEqual(["a", "b", "infra"]);
    const requestId = 4242;
    const stopped = await client.call("StopPodSandbox", { podSandboxId, timeoutMs: 1_000 }, requestId);
    expect(stopped).toMatchObject({ result: {} });
    const phases = client.lines
      .filter((line) => (line as { method?: string }).method === "progress" && (line as { params: { requestId: number } }).params.requestId === requestId)
      .map((line) => (line as { params: { phase: string } }).params.phase);
    expect(phases[0]).toBe("requested");
    expect(phases.at(-1)).toBe("stopped");
    const { result: status } = await client.call("PodSandboxStatus", { podSandboxId });
    expect(status.status).toMatchObject({ id: podSandboxId, name: "web", state: "stopped" });
    const { result: b } = await client.call("ContainerStatus", { containerId: ids[1] });
    expect(b.status).toMatchObject({ state: "exited", reason: "killed-at-deadline", signal: "SIGKILL", podSandboxId });
    expect(await client.call("RemovePodSandbox", { podSandboxId })).toMatchObject({ result: {} });
    const { result: pods } = await client.call("ListPodSandbox", {});
    expect(pods.items).toEqual([]);
  });

  test("StopPodSandboxes stops several sandboxes under one deadline, streaming each one's end", async () => {
    const ids: string[] = [];
    for (const name of ["x", "y", "z"]) {
      const { result } = await client.call("RunPodSandbox", { config: { name } });
      const { result: created } = await client.call("CreateContainer", { podSandboxId: result.podSandboxId, config: { name: "stubborn", command: ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"] } });
      await client.call("StartContainer", { containerId: created.containerId });
      ids.push(result.podSandboxId);
    }
    const requestId = 777;
    const startedAt = Date.now();
    const { result } = await client.call("StopPodSandboxes", { podSandboxIds: [...ids, "nosuchpod"], timeoutMs: 1_000 }, requestId);
    // Three sandboxes whose containers all need the kill: one deadline for all, not three in a row.
    expect(Date.now() - startedAt).toBeLessThan(2_900);
    expect(result.results.map((r: { podSandboxId: string; ok: boolean }) => [r.podSandboxId, r.ok])).toEqual([...ids, "nosuchpod"].map((id) => [id, true]));
    expect(result.results[0].phases).toHaveProperty("netns-removal");
    const progress = client.lines.filter((line) => (line as { method?: string; params?: { requestId?: number } }).method === "progress" && (line as { params: { requestId: number } }).params.requestId === requestId);
    expect(progress.map((line) => (line as { params: { done: number; total: number } }).params).at(-1)).toMatchObject({ done: 4, total: 4 });
    for (const podSandboxId of ids) await client.call("RemovePodSandbox", { podSandboxId });
    expect((await client.call("StopPodSandboxes", { podSandboxIds: ids, all: true })).error).toMatchObject({ data: { code: "INVALID_ARGUMENT" } });
  });

  test("errors carry a documented data.code", async () => {
    expect((await client.call("StopPodSandbox", { podSandboxId: "" })).error).toMatchObject({ code: -32602, data: { code: "INVALID_ARGUMENT" } });
    expect((await client.call("StopPodSandbox", { podSandboxId: "x", extra: 1 })).error).toMatchObject({ data: { code: "INVALID_ARGUMENT" } });
    expect((await client.call("ContainerStatus", { containerId: "nosuchcontainer" })).error).toMatchObject({ data: { code: "NOT_FOUND" } });
    expect((await client.call("CreateContainer", { podSandboxId: "nosuchpod", config: { name: "x", command: ["true"] } })).error).toMatchObject({ data: { code: "NOT_FOUND" } });
    expect((await client.call("NoSuchMethod")).error).toMatchObject({ code: -32601, data: { code: "UNIMPLEMENTED" } });
    // Unknown sandbox: not-found is not an error for a stop (the CRI contract).
    expect(await client.call("StopPodSandbox", { podSandboxId: "nosuchpod" })).toMatchObject({ result: {} });
  });

  test("garbage gets a parse error, and the connection keeps working", async () => {
    client.send("this is not json");
    expect(await client.waitFor((line) => (line as { error?: { code: number } }).error?.code === -32700)).toMatchObject({ id: null, error: { data: { code: "INVALID_ARGUMENT" } } });
    expect((await client.call("Version")).result).toBeDefined();
  });

  test("a line over the size limit is refused and its connection closed; other clients are not disturbed", async () => {
    const hostile = await RawClient.connect(daemon.socket);
    hostile.socket.write(`{"jsonrpc":"2.0","id":1,"method":"Version","params":"${"x".repeat(3 * 2 ** 20)}"}\n`);
    await hostile.closed();
    expect(hostile.lines[0]).toMatchObject({ error: { data: { code: "RESOURCE_EXHAUSTED" } } });
    expect((await client.call("Version")).result).toBeDefined();
  });

  test("a client that connects and says nothing is closed after the idle timeout", async () => {
    const silent = await RawClient.connect(daemon.socket);
    const startedAt = Date.now();
    await silent.closed();
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    const other = await RawClient.connect(daemon.socket);
    expect((await other.call("Version")).result).toBeDefined();
    other.close();
  });

  test("200 concurrent clients are all answered, and the daemon answers afterwards", async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(daemon.socket)));
    const answers = await Promise.all(clients.map((each, index) => each.call(index % 2 === 0 ? "Version" : "ListPodSandbox", undefined, index)));
    for (const each of clients) each.close();
    expect(answers.every((answer) => answer.result !== undefined)).toBe(true);
    expect((await client.call("Version")).result).toBeDefined();
  });

  test("Metrics reports each operation's count, latency and errors, and the stop phases", async () => {
    const { result } = await client.call("Metrics");
    expect(result.text).toMatch(/podvisor_operations_total\{operation="stop_pod_sandbox"\} \d+/);
    expect(result.text).toMatch(/podvisor_operation_duration_seconds_bucket\{le="[\d.]+",operation="run_pod_sandbox"\}/);
    expect(result.text).toMatch(/podvisor_operation_errors_total\{operation="create_container",code="NOT_FOUND"\} 1/);
    expect(result.text).toMatch(/podvisor_stop_phase_duration_seconds_count\{phase="netns-removal"\} \d+/);
  });
});

describe.each(runtimes)("the daemon's socket group and metrics endpoint on %s", (runtime) => {
  test("--socket-group widens the socket to 0660, and --metrics-address serves /metrics over HTTP", async () => {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const daemon = await startDaemonProcess(runtime, ["--socket-group", "0", "--metrics-address", `127.0.0.1:${port}`]);
    try {
      expect((await stat(daemon.socket)).mode & 0o777).toBe(0o660);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/# TYPE podvisor_operation_duration_seconds histogram/);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      expect(await daemon.stop()).toEqual(noLeftovers);
    }
  });
});
