/**
 * `podvisor logs [-f] [--tail N] ID`: a container's output, read from the log file its status names.
 * (The harness's stdout has its last newline stripped, as execa does; the follower's is raw.)
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { commandFor, runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { call, failureLine, output, startCliFixture } from "./cli-harness.ts";
import type { CliFixture } from "./cli-harness.ts";

const cliPath = new URL("../../src/cli/main.ts", import.meta.url).pathname;

describe.each(runtimes)("podvisor logs on %s", (runtime) => {
  let fixture: CliFixture;
  let podSandboxId: string;
  let dir: string;
  beforeAll(async () => {
    fixture = await startCliFixture(runtime);
    podSandboxId = (await call(fixture.api, "RunPodSandbox", { config: { name: "logs" } })).podSandboxId;
    dir = await mkdtemp(join(tmpdir(), "pvtest-logs-"));
  });
  afterAll(async () => {
    await call(fixture.api, "StopPodSandbox", { podSandboxId, timeoutMs: 1_000 });
    await call(fixture.api, "RemovePodSandbox", { podSandboxId });
    await rm(dir, { recursive: true, force: true });
    expect(await fixture.close()).toEqual(noLeftovers);
  });

  async function run(name: string, script: string): Promise<string> {
    const { containerId } = await call(fixture.api, "CreateContainer", { podSandboxId, config: { name, command: ["sh", "-c", script] } });
    await call(fixture.api, "StartContainer", { containerId });
    return containerId;
  }

  async function waitForLog(containerId: string, text: string): Promise<void> {
    const { status } = await call(fixture.api, "ContainerStatus", { containerId });
    await expect.poll(() => readFile(status.logPath, "utf8").catch(() => ""), { timeout: 10_000 }).toContain(text);
  }

  test("prints stdout and stderr as written; --tail N only the last N lines", async () => {
    const containerId = await run("five", "for i in 1 2 3 4; do echo line$i; done; echo oops >&2; exec sleep 1000");
    await waitForLog(containerId, "oops");
    expect(output(await fixture.podvisor("logs", containerId.slice(0, 6)))).toBe("line1\nline2\nline3\nline4\noops");
    expect(output(await fixture.podvisor("logs", "--tail", "2", containerId))).toBe("line4\noops");
    expect(output(await fixture.podvisor("logs", "--tail", "0", containerId))).toBe("");
    expect(output(await fixture.podvisor("logs", "--tail", "99", containerId))).toBe("line1\nline2\nline3\nline4\noops");
    expect(failureLine(await fixture.podvisor("logs", "--tail", "-1", containerId))).toMatch(/Expected a whole number of lines/);
    expect(failureLine(await fixture.podvisor("logs", "nosuchcontainer"))).toBe('podvisor: cannot find container "nosuchcontainer": no container id starts with it');
  });

  test("a last line without its newline, and --tail counting it", async () => {
    const containerId = await run("partial", "printf 'a\\nb\\nc'; exec sleep 1000");
    await waitForLog(containerId, "c");
    expect(output(await fixture.podvisor("logs", "--tail", "2", containerId))).toBe("b\nc");
  });

  test("-f follows what the container writes and ends when it exits", async () => {
    const trigger = join(dir, "go");
    const containerId = await run("follow", `echo start; while [ ! -e ${trigger} ]; do sleep 0.05; done; echo end`);
    const [file, args] = commandFor(runtime, cliPath, ["logs", "-f", containerId]);
    const follower = execa(file, args, { preferLocal: true, reject: false, stdin: "ignore", env: { PODVISOR_SOCKET: fixture.daemon.socket, PODVISOR_LOG_LEVEL: "warn" } });
    let printed = "";
    let ended = false;
    void follower.then(() => (ended = true));
    follower.stdout?.on("data", (chunk: Buffer) => (printed += chunk.toString()));
    await expect.poll(() => printed, { timeout: 20_000 }).toBe("start\n");
    // Still following: only the container's exit ends it.
    expect(ended).toBe(false);
    await writeFile(trigger, "");
    const result = await follower;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(printed).toBe("start\nend\n");
  });

  test("-f on a container that has already exited prints its output and ends", async () => {
    const containerId = await run("done", "echo bye");
    await expect.poll(async () => (await call(fixture.api, "ContainerStatus", { containerId })).status.state, { timeout: 10_000 }).toBe("exited");
    expect(output(await fixture.podvisor("logs", "-f", containerId))).toBe("bye");
  });
});
