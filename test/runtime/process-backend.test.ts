import { readFile, writeFile } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import { cgroupPids, isPopulated } from "../../src/host/cgroup.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { expectPidsGone, isLive, waitForFileText } from "./runtime-fixtures.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

/** How long a test lets a wait run to show that something does NOT happen. */
const notHappeningMs = 300;
const deadline = () => AbortSignal.timeout(10_000);

describe("ProcessBackend", () => {
  const h = useRuntimeHarness(() => new ProcessBackend());

  test("a command that exits by itself keeps its exit code", async () => {
    const { id, pid } = await h.run(["sh", "-c", "exit 7"]);
    const stopped = await h.backend.waitForStopped(id, { signal: deadline() });
    expect(stopped).toMatchObject({ status: "stopped", pid, exitCode: 7 });
    expect(stopped.signal).toBeUndefined();
    expect(stopped.finishedAt).toBeGreaterThanOrEqual(stopped.startedAt ?? 0);
    expect(await h.backend.state(id)).toEqual(stopped);
  });

  test("a holder killed under its containers: they are watched through their cgroups, still signalled, and their exit is unknown, never made up", async () => {
    const { id, pid } = await h.run(["sh", "-c", "trap 'exit 3' USR1; while :; do sleep 0.05; done"]);
    await expect.poll(() => isPopulated(`${h.prefix}/pod/ctr-${id}`)).toBe(true);
    process.kill(h.backend.holderPid as number, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await isLive(pid)).toBe(true); // an orphan now, not a casualty
    await h.backend.signal(id, "SIGUSR1"); // through its cgroup: the holder that knew it is gone
    const stopped = await h.backend.waitForStopped(id, { signal: deadline() });
    expect(stopped).toMatchObject({ status: "stopped", pid, exitCodeUnknown: true });
    expect(stopped.exitCode).toBeUndefined();
    // A new holder serves the next container.
    const next = await h.run(["sh", "-c", "exit 5"]);
    expect(await h.backend.waitForStopped(next.id, { signal: deadline() })).toMatchObject({ exitCode: 5 });
  });

  test("after close(), a container still running is signalled through its cgroup and its exit comes from the holder's file", async () => {
    const { id, pid } = await h.run(["sleep", "1000"]);
    await expect.poll(() => isPopulated(`${h.prefix}/pod/ctr-${id}`)).toBe(true);
    h.backend.close(); // as the daemon does when it shuts down leaving workloads running
    await h.backend.signal(id, "SIGTERM");
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ status: "stopped", pid, signal: "SIGTERM" });
  });

  test("SIGTERM to a sleep ends it with signal SIGTERM", async () => {
    const { id } = await h.run(["sleep", "1000"]);
    expect((await h.backend.state(id)).status).toBe("running");
    await h.backend.signal(id, "SIGTERM");
    const stopped = await h.backend.waitForStopped(id, { signal: deadline() });
    expect(stopped).toMatchObject({ status: "stopped", signal: "SIGTERM" });
    expect(stopped.exitCode).toBeUndefined();
  });

  test("signal() with no signal named sends the spec's stop signal", async () => {
    const { id } = await h.run(["sleep", "1000"], { stopSignal: "SIGINT" });
    await h.backend.signal(id);
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ signal: "SIGINT" });
  });

  test("a shell that ignores TERM survives the signal and dies with killAll", async () => {
    const { id, logPath } = await h.run(["sh", "-c", 'trap "" TERM; echo ready; sleep 1000']);
    await waitForFileText(logPath, "ready");
    await h.backend.signal(id, "SIGTERM");
    const survived = h.backend.waitForStopped(id, { signal: AbortSignal.timeout(notHappeningMs) });
    await expect(survived).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    expect((await h.backend.state(id)).status).toBe("running");
    await h.backend.killAll(id);
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ signal: "SIGKILL" });
  });

  test("killAll leaves no process of a shell that forked background children", async () => {
    const { id } = await h.run(["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    const cgroupPath = `${h.prefix}/pod/ctr-${id}`;
    let pids: number[] = [];
    await expect.poll(async () => (pids = await h.backend.pids(id)).length, { timeout: 5_000 }).toBe(3);
    expect(await cgroupPids(cgroupPath)).toEqual(pids);
    await h.backend.killAll(id);
    await h.backend.waitForStopped(id, { signal: deadline() });
    expect(await isPopulated(cgroupPath)).toBe(false);
    expect(await cgroupPids(cgroupPath)).toEqual([]);
    await expectPidsGone(pids);
  });

  test("killAll at once after start, before the wrapper has joined the cgroup, still kills the container", async () => {
    const { id } = await h.run(["sh", "-c", "sleep 1000 & sleep 1000 & wait"]);
    await h.backend.killAll(id);
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ status: "stopped", signal: "SIGKILL" });
    expect(await h.backend.pids(id)).toEqual([]);
  });

  test("stdout and stderr are appended to the log file", async () => {
    const spec = await h.create(["sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
    await writeFile(spec.logPath, "before\n");
    await h.backend.start(spec.id);
    await h.backend.waitForStopped(spec.id, { signal: deadline() });
    expect(await readFile(spec.logPath, "utf8")).toBe("before\nto-stdout\nto-stderr\n");
  });

  // What becomes of a background child once the main process exits (it dies with it, the main-exit
  // rule) is tested in process-main-exit.test.ts.

  test("an argument is passed to the command as it is, never through a shell", async () => {
    const tricky = "$(echo injected) `id` ; echo 'quoted' \"double\" * \\";
    const { id, logPath } = await h.run(["printf", "%s\\n", tricky], { env: { ONLY: "this" } });
    await h.backend.waitForStopped(id, { signal: deadline() });
    expect(await readFile(logPath, "utf8")).toBe(`${tricky}\n`);
  });

  test("the command sees only its own environment plus a default PATH", async () => {
    const { id, logPath } = await h.run(["env"], { env: { GREETING: "hello" }, cwd: "/tmp" });
    await h.backend.waitForStopped(id, { signal: deadline() });
    const lines = (await readFile(logPath, "utf8")).trim().split("\n").sort();
    expect(lines.filter((line) => !line.startsWith("PWD="))).toEqual([
      "GREETING=hello",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
  });
});
