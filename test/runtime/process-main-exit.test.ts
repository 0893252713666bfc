/**
 * The main-exit rule on the process backend (issue 12; SEMANTICS.md): a container is its main
 * process. When it exits, what it left behind in the container's cgroup (or, in the fallback, its
 * process group) is killed at once, and the container is reported stopped with the main process's
 * status — for our own containers, for adopted ones, and under a runtime that reports late.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, onTestFinished, test, vi } from "vitest";
import { ManualClock } from "../../src/async/clock.ts";
import { cgroupPids, isPopulated } from "../../src/host/cgroup.ts";
import { resolveCgroupPath } from "../../src/host/cgroup-path.ts";
import { LaggingBackend } from "../../src/runtime/lagging-backend.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { exitStatusPath } from "../../src/runtime/process-holder-command.ts";
import { isLive, waitForFileText } from "./runtime-fixtures.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

/** Far more than the rule needs (milliseconds), far less than any stop deadline worth the name. */
const promptMs = 3_000;
const prompt = () => AbortSignal.timeout(promptMs);
const deadline = () => AbortSignal.timeout(10_000);

/** Exits 0 on SIGTERM, leaving its background sleep behind (issue 12's example); says its child's pid, then "ready". */
const exitsOnTerm = ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & echo child $!; echo ready; wait"];
/** Exits 3 by itself, leaving its background sleep behind; says its child's pid first. */
const exitsLeavingChild = ["sh", "-c", "sleep 1000 & echo child $!; exit 3"];
/** Exits 4 on SIGUSR1, leaving its background sleep behind; says its child's pid, then "ready". */
const exitsOnUsr1 = ["sh", "-c", "trap 'exit 4' USR1; sleep 1000 & echo child $!; echo ready; while :; do sleep 0.05; done"];

async function childOf(logPath: string): Promise<number> {
  await waitForFileText(logPath, "child ");
  return Number(/child (\d+)/.exec(await readFile(logPath, "utf8"))?.[1]);
}

describe("ProcessBackend: the main-exit rule", () => {
  const h = useRuntimeHarness(() => new ProcessBackend());

  test("a main process that exits on SIGTERM leaving a child: reported stopped with its own status at once, the child killed", async () => {
    const { id, pid, logPath } = await h.run(exitsOnTerm);
    await waitForFileText(logPath, "ready");
    const child = await childOf(logPath);
    await h.backend.signal(id, "SIGTERM");
    const stopped = await h.backend.waitForStopped(id, { signal: prompt() });
    expect(stopped).toMatchObject({ status: "stopped", pid, exitCode: 0 });
    expect(stopped.signal).toBeUndefined();
    expect(await isLive(child)).toBe(false);
    expect(await cgroupPids(`${h.prefix}/pod/ctr-${id}`)).toEqual([]);
    expect(await h.backend.state(id)).toEqual(stopped);
  });

  test("a main process that exits by itself leaving a child: the child is killed and the container reported stopped, waited for from the start", async () => {
    const { id, pid, logPath } = await h.run(exitsLeavingChild);
    const stopped = await h.backend.waitForStopped(id, { signal: prompt() });
    expect(stopped).toMatchObject({ status: "stopped", pid, exitCode: 3 });
    expect(await isLive(await childOf(logPath))).toBe(false);
    expect(await isPopulated(`${h.prefix}/pod/ctr-${id}`)).toBe(false);
    expect(await h.backend.pids(id)).toEqual([]);
  });

  test("a holder killed under its container: a new holder watches the main process, and what it leaves behind still dies with it", async () => {
    const { id, pid, logPath } = await h.run(exitsOnUsr1);
    await waitForFileText(logPath, "ready");
    const child = await childOf(logPath);
    process.kill(h.backend.holderPid as number, "SIGKILL");
    await vi.waitFor(async () => expect(await isLive(pid)).toBe(true)); // an orphan now, not a casualty
    await h.backend.signal(id, "SIGUSR1"); // through its cgroup
    const stopped = await h.backend.waitForStopped(id, { signal: prompt() });
    expect(stopped).toMatchObject({ status: "stopped", pid, exitCodeUnknown: true });
    expect(await isLive(child)).toBe(false);
  });
});

describe("ProcessBackend falling back to process groups: the main-exit rule", () => {
  const h = useRuntimeHarness(() => new ProcessBackend({ forceProcessGroup: true }));

  test("a main process that exits by itself leaving a child in its group: the child is killed and the container reported stopped", async () => {
    const { id, pid, logPath } = await h.run(exitsLeavingChild);
    expect(await h.backend.waitForStopped(id, { signal: prompt() })).toMatchObject({ status: "stopped", pid, exitCode: 3 });
    expect(await isLive(await childOf(logPath))).toBe(false);
  });
});

describe("ProcessBackend adoption: the main-exit rule", () => {
  const h = useRuntimeHarness(() => new ProcessBackend());

  /** A fresh backend, as after a restart; its containers are forgotten when the test ends. */
  function nextDaemon(ids: string[]): ProcessBackend {
    const next = new ProcessBackend();
    onTestFinished(async () => {
      for (const id of ids) {
        await next.killAll(id).catch(() => {});
        await next.waitForStopped(id, { signal: deadline() }).catch(() => {});
        await next.delete(id);
      }
      next.close();
    });
    return next;
  }

  async function runAndWaitReady(command: string[]) {
    const spec = await h.create(command);
    const started = await h.backend.start(spec.id);
    await waitForFileText(spec.logPath, "ready");
    return { spec, ...started, child: await childOf(spec.logPath) };
  }

  test("its earlier holder still running: the main process's exit ends the container at once, its status from that holder", async () => {
    const { spec, pid, startedAt, child } = await runAndWaitReady(exitsOnUsr1);
    h.backend.close(); // the earlier daemon is gone; its holder stays while its children run
    const next = nextDaemon([spec.id]);
    expect(await next.adopt(spec, { pid, startedAt })).toMatchObject({ status: "running", pid });
    await next.signal(spec.id, "SIGUSR1");
    expect(await next.waitForStopped(spec.id, { signal: prompt() })).toMatchObject({ status: "stopped", pid, exitCode: 4 });
    expect(await isLive(child)).toBe(false);
  });

  test("its earlier holder killed too: the next daemon's holder watches the main process, and its exit ends the container at once", async () => {
    const { spec, pid, startedAt, child } = await runAndWaitReady(exitsOnUsr1);
    const earlierHolder = h.backend.holderPid as number;
    h.backend.close();
    process.kill(earlierHolder, "SIGKILL");
    await vi.waitFor(async () => expect(await isLive(earlierHolder)).toBe(false));
    const next = nextDaemon([spec.id]);
    expect(await next.adopt(spec, { pid, startedAt })).toMatchObject({ status: "running", pid });
    await next.signal(spec.id, "SIGUSR1");
    const stopped = await next.waitForStopped(spec.id, { signal: prompt() });
    expect(stopped).toMatchObject({ status: "stopped", pid, exitCodeUnknown: true });
    expect(await isLive(child)).toBe(false);
  });

  test("the holder that watches it killed in turn: another one watches it, and the rule still holds", async () => {
    const { spec, pid, startedAt, child } = await runAndWaitReady(exitsOnUsr1);
    const earlierHolder = h.backend.holderPid as number;
    h.backend.close();
    process.kill(earlierHolder, "SIGKILL");
    const next = nextDaemon([spec.id]);
    await next.adopt(spec, { pid, startedAt });
    await vi.waitFor(() => expect(next.holderPid).toBeDefined());
    const watching = next.holderPid as number;
    process.kill(watching, "SIGKILL");
    await vi.waitFor(() => expect(next.holderPid).not.toBe(watching)); // a new one took over the watch
    await next.signal(spec.id, "SIGUSR1");
    expect(await next.waitForStopped(spec.id, { signal: prompt() })).toMatchObject({ status: "stopped", pid, exitCodeUnknown: true });
    expect(await isLive(child)).toBe(false);
  });

  test("a main process gone already while what it left behind still runs: adopting kills the rest, and the status is its holder's", async () => {
    const spec = await h.create(["true"]); // never started here: the cgroup is filled by hand below
    // What an earlier daemon left: a process in the container's cgroup, its main process long gone
    // (a finished pid stands for it) and its exit status (exit 5) in the exit file.
    const gone = execa("true");
    await gone;
    const leftover = execa("sleep", ["1000"], { reject: false });
    onTestFinished(async () => void (leftover.kill("SIGKILL"), await leftover));
    await writeFile(join(await resolveCgroupPath(spec.cgroupPath), "cgroup.procs"), `${leftover.pid}\n`);
    await writeFile(exitStatusPath(spec), `${5 << 8}\n`);
    const next = nextDaemon([spec.id]);
    await next.adopt(spec, { pid: gone.pid as number, startedAt: Date.now() });
    expect(await next.waitForStopped(spec.id, { signal: prompt() })).toMatchObject({ status: "stopped", exitCode: 5 });
    expect(await isLive(leftover.pid as number)).toBe(false);
  });
});

// LaggingBackend is a deliberate fake of a VM runtime's late report, which cannot be made to happen
// on demand; the processes underneath are real.
describe("LaggingBackend: the main-exit rule", () => {
  const inner = new ProcessBackend();
  let clock = new ManualClock();
  let lagging: LaggingBackend;
  const h = useRuntimeHarness(() => {
    clock = new ManualClock(1_000);
    return (lagging = new LaggingBackend(inner, { lagMs: 250, clock }));
  });

  test("what the main process left behind dies with it at once, but the container is stopped only when the runtime reports it", async () => {
    const { id, logPath } = await h.run(exitsLeavingChild);
    expect(await inner.waitForStopped(id, { signal: prompt() })).toMatchObject({ exitCode: 3 });
    expect(await isLive(await childOf(logPath))).toBe(false);
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), { timeout: 5_000, interval: 1 });
    expect((await lagging.state(id)).status).toBe("running");
    const early = lagging.waitForStopped(id, { signal: AbortSignal.timeout(200) });
    await expect(early).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    clock.advance(250);
    expect(await lagging.waitForStopped(id, { signal: prompt() })).toMatchObject({ status: "stopped", exitCode: 3 });
  });
});
