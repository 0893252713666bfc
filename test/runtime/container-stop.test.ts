/**
 * The container-stop sequence's rules, on a manual clock: no real process and no real wait. The port
 * here is a scripted stand-in for the runtime (a fake, on purpose: it lets a test decide when the
 * "runtime" reports a container stopped, to the millisecond). The same sequence runs on real
 * processes in test/supervisor (through the actor, and through the main thread's takeover).
 */
import { describe, expect, test } from "vitest";
import { ManualClock } from "../../src/async/clock.ts";
import { stopContainerSequence } from "../../src/runtime/container-stop.ts";
import type { ContainerStopPort } from "../../src/runtime/container-stop.ts";
import type { RuntimeState } from "../../src/runtime/runtime-backend.ts";
import type { ContainerRecord } from "../../src/state/records.ts";

const start = 1_000_000;

function running(overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: "c1",
    sandboxId: "s1",
    name: "app",
    infra: false,
    command: ["sleep", "1000"],
    env: {},
    stopSignal: "SIGTERM",
    dir: "/x",
    logPath: "/x/log",
    cgroupPath: "podvisor-t/s1/c1",
    state: "running",
    createdAt: start,
    ...overrides,
  };
}

/** A runtime that reports stopped `signalExitMs` after the stop signal (never, if undefined), and `killExitMs` after the kill. */
function scriptedPort(clock: ManualClock, script: { signalExitMs?: number; killExitMs?: number; notFound?: boolean; saveFails?: boolean }) {
  const calls: string[] = [];
  const saved: ContainerRecord[] = [];
  const waitUntil = (exitAt: number | undefined, deadlineAt: number, state: RuntimeState) =>
    new Promise<RuntimeState | undefined>((resolve) => {
      if (exitAt !== undefined && exitAt <= deadlineAt) clock.setTimeout(() => resolve(state), exitAt - clock.now());
      else clock.setTimeout(() => resolve(undefined), deadlineAt - clock.now());
    });
  const port: ContainerStopPort = {
    clock,
    async signalAndWait(record, signal, deadlineAt) {
      calls.push(`signal ${signal} at ${clock.now() - start}`);
      if (script.notFound) throw Object.assign(new Error("no such container"), { code: "NOT_FOUND" });
      const exitAt = script.signalExitMs === undefined ? undefined : clock.now() + script.signalExitMs;
      return waitUntil(exitAt, deadlineAt, { status: "stopped", signal: "SIGTERM", finishedAt: exitAt });
    },
    async killAndWait(record, deadlineAt) {
      calls.push(`kill at ${clock.now() - start}`);
      const exitAt = script.killExitMs === undefined ? undefined : clock.now() + script.killExitMs;
      return waitUntil(exitAt, deadlineAt, { status: "stopped", signal: "SIGKILL", finishedAt: exitAt });
    },
    async save(record) {
      calls.push(`save ${record.state}`);
      if (script.saveFails) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      saved.push(record);
    },
  };
  return { port, calls, saved };
}

/** Runs the sequence while moving the manual clock forward, 10 ms at a time, until it settles. */
async function drive<T>(clock: ManualClock, run: Promise<T>): Promise<T> {
  let settled = false;
  const done = run.finally(() => {
    settled = true;
  });
  done.catch(() => {});
  for (let steps = 0; !settled && steps < 10_000; steps++) {
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(10);
  }
  return done;
}

describe("stopContainerSequence()", () => {
  test("a container that stops on its signal is recorded with its own status, never killed", async () => {
    const clock = new ManualClock(start);
    const { port, calls, saved } = scriptedPort(clock, { signalExitMs: 300 });
    const ended = await drive(clock, stopContainerSequence(running(), { deadlineAt: start + 2_000, killGraceMs: 500 }, port));
    expect(calls).toEqual(["signal SIGTERM at 0", "save exited"]);
    expect(ended).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled", finishedAt: start + 300 });
    expect(saved).toEqual([ended]);
    expect(clock.pendingTimers).toBe(0);
  });

  test("one that outlives its deadline is killed at the deadline, and says so", async () => {
    const clock = new ManualClock(start);
    const { port, calls } = scriptedPort(clock, { killExitMs: 20 });
    const ended = await drive(clock, stopContainerSequence(running(), { deadlineAt: start + 2_000, killGraceMs: 500 }, port));
    expect(calls).toEqual(["signal SIGTERM at 0", "kill at 2000", "save exited"]);
    expect(ended).toMatchObject({ state: "exited", signal: "SIGKILL", reason: "killed-at-deadline" });
  });

  test("a deadline already passed sends no stop signal: the kill comes at once", async () => {
    const clock = new ManualClock(start);
    const { port, calls } = scriptedPort(clock, { killExitMs: 5 });
    const ended = await drive(clock, stopContainerSequence(running(), { deadlineAt: start - 1, killGraceMs: 500 }, port));
    expect(calls).toEqual(["kill at 0", "save exited"]);
    expect(ended.reason).toBe("killed-at-deadline");
  });

  test("a runtime that never reports the kill fails the stop after the grace, and nothing is recorded", async () => {
    const clock = new ManualClock(start);
    const { port, calls } = scriptedPort(clock, {});
    const stop = drive(clock, stopContainerSequence(running(), { deadlineAt: start + 1_000, killGraceMs: 500 }, port));
    await expect(stop).rejects.toMatchObject({ code: "STOP_INCOMPLETE", message: expect.stringMatching(/did not report it stopped 500 ms after the kill/) });
    expect(calls).toEqual(["signal SIGTERM at 0", "kill at 1000"]);
  });

  test("a container the runtime does not know is killed through its cgroup when the port can, else the error goes to the caller", async () => {
    const clock = new ManualClock(start);
    const { port } = scriptedPort(clock, { notFound: true });
    await expect(drive(clock, stopContainerSequence(running(), { deadlineAt: start + 1_000, killGraceMs: 500 }, port))).rejects.toMatchObject({ code: "NOT_FOUND" });
    const killed: string[] = [];
    port.killUnknown = async (record) => void killed.push(record.cgroupPath);
    const ended = await drive(clock, stopContainerSequence(running(), { deadlineAt: start + 1_000, killGraceMs: 500, message: "stopped by the supervisor: its worker died" }, port));
    expect(killed).toEqual(["podvisor-t/s1/c1"]);
    expect(ended).toMatchObject({ state: "exited", exitCodeUnknown: true, reason: "killed-at-deadline", message: "stopped by the supervisor: its worker died" });
  });

  test("an exit that could not be written is written again by the next stop; a failed write is STOP_INCOMPLETE naming the step", async () => {
    const clock = new ManualClock(start);
    const failing = scriptedPort(clock, { signalExitMs: 10, saveFails: true });
    await expect(drive(clock, stopContainerSequence(running(), { deadlineAt: start + 1_000, killGraceMs: 500 }, failing.port))).rejects.toMatchObject({
      code: "STOP_INCOMPLETE",
      details: { step: "container-record-write", reason: "ENOSPC" },
    });
    const exited = running({ state: "exited", exitCode: 0, reason: "exited", finishedAt: start });
    const { port, calls } = scriptedPort(clock, {});
    expect(await stopContainerSequence(exited, { deadlineAt: start + 1_000, killGraceMs: 500 }, port)).toBe(exited);
    expect(calls).toEqual(["save exited"]);
  });

  test("a container that never started is left alone", async () => {
    const clock = new ManualClock(start);
    const { port, calls } = scriptedPort(clock, {});
    await stopContainerSequence(running({ state: "created" }), { deadlineAt: start + 1_000, killGraceMs: 500 }, port);
    expect(calls).toEqual([]);
  });
});
