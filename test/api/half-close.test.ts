/**
 * A client that half-closes: it writes its requests, ends its side of the connection (shutdown
 * SHUT_WR, as `echo … | socat - UNIX-CONNECT:…` does), and then reads. Every request it sent
 * before its end is answered, and only then does the daemon end its side.
 */
import { existsSync } from "node:fs";
import net from "node:net";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";

/** Writes `text`, ends the write side, and resolves with every line read until the daemon closes. */
function halfClosingExchange(socketPath: string, text: string): Promise<{ lines: any[]; endedByDaemon: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path: socketPath, allowHalfOpen: true });
    let data = "";
    let endedByDaemon = false;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("end", () => (endedByDaemon = true));
    socket.on("error", reject);
    socket.on("close", () => resolve({ lines: data.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line)), endedByDaemon }));
    socket.once("connect", () => socket.end(text));
  });
}

const socat = ["/usr/bin/socat", "/usr/local/bin/socat", "/bin/socat"].find((path) => existsSync(path));

describe.each(runtimes)("a half-closing client of a daemon on %s", (runtime) => {
  let daemon: DaemonProcess;
  let api: RawClient;
  beforeAll(async () => {
    daemon = await startDaemonProcess(runtime);
    api = await RawClient.connect(daemon.socket);
  });
  afterAll(async () => {
    api?.close();
    if (daemon !== undefined) expect(await daemon.stop()).toEqual(noLeftovers);
  });

  test("RunPodSandbox then the end of the stream, as `echo … | socat` sends it: the answer comes, then the daemon ends", async () => {
    const request = { jsonrpc: "2.0", id: 1, method: "RunPodSandbox", params: { config: { name: "half-closed" } } };
    const { lines, endedByDaemon } = await halfClosingExchange(daemon.socket, `${JSON.stringify(request)}\n`);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ id: 1, result: { podSandboxId: expect.any(String) } });
    expect(endedByDaemon).toBe(true);
    const podSandboxId = lines[0].result.podSandboxId as string;
    expect((await api.call("StopPodSandbox", { podSandboxId, timeoutMs: 2_000 })).error).toBeUndefined();
    expect((await api.call("RemovePodSandbox", { podSandboxId })).error).toBeUndefined();
  });

  test("several requests, a slow one among them, and a last line without its newline: each is answered", async () => {
    const run = await api.call("RunPodSandbox", { config: { name: "half-closed-stop" } });
    const podSandboxId = run.result.podSandboxId as string;
    const created = await api.call("CreateContainer", { podSandboxId, config: { name: "stubborn", command: ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"] } });
    expect((await api.call("StartContainer", { containerId: created.result.containerId })).error).toBeUndefined();
    const requests = [
      { jsonrpc: "2.0", id: 1, method: "Version" },
      { jsonrpc: "2.0", id: 2, method: "StopPodSandbox", params: { podSandboxId, timeoutMs: 500 } },
      { jsonrpc: "2.0", id: 3, method: "PodSandboxStatus", params: { podSandboxId } },
    ];
    const text = requests.map((request) => JSON.stringify(request)).join("\n"); // no newline after the last
    const { lines, endedByDaemon } = await halfClosingExchange(daemon.socket, text);
    const answers = lines.filter((line) => line.id !== undefined);
    expect(answers.map((answer) => answer.id).sort()).toEqual([1, 2, 3]);
    for (const answer of answers) expect(answer.error).toBeUndefined();
    expect(endedByDaemon).toBe(true);
    expect((await api.call("PodSandboxStatus", { podSandboxId })).result.status.state).toBe("stopped");
    expect((await api.call("RemovePodSandbox", { podSandboxId })).error).toBeUndefined();
  });

  test("a client that ends having sent nothing is ended too, at once", async () => {
    const { lines, endedByDaemon } = await halfClosingExchange(daemon.socket, "");
    expect(lines).toEqual([]);
    expect(endedByDaemon).toBe(true);
  });

  test.skipIf(socat === undefined)("`echo … | socat` exactly as docs/API.md shows it prints the answer", async () => {
    const request = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "RunPodSandbox", params: { config: { name: "socat" } } });
    const result = await execa("sh", ["-c", `echo '${request}' | ${socat} -t 30 - UNIX-CONNECT:${daemon.socket}`], { reject: false });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const answer = JSON.parse(String(result.stdout));
    expect(answer).toMatchObject({ jsonrpc: "2.0", id: 2, result: { podSandboxId: expect.any(String) } });
    // socat's own default wait after its input ends (half a second) is enough for a quick answer too.
    const version = await execa("sh", ["-c", `echo '{"jsonrpc":"2.0","id":1,"method":"Version"}' | ${socat} - UNIX-CONNECT:${daemon.socket}`], { reject: false });
    expect(JSON.parse(String(version.stdout))).toMatchObject({ id: 1, result: { runtime } });
    expect((await api.call("StopPodSandbox", { podSandboxId: answer.result.podSandboxId })).error).toBeUndefined();
    expect((await api.call("RemovePodSandbox", { podSandboxId: answer.result.podSandboxId })).error).toBeUndefined();
  });
});
