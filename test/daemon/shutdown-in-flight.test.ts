import { watch } from "node:fs";
import { rm } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import { Supervisor } from "../../supervisor/supervisor.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import { rootTag } from "../support/host-snapshot.ts";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";

const senders = 6;

/** What one sender saw: the sandboxes it was given, and how its last request ended. */
interface Sent {
  ids: string[];
  end: { code?: string; message?: string } | "closed";
}

/** Sends RunPodSandbox after RunPodSandbox on one connection until one fails or the connection closes. */
async function sendRuns(socket: string, sender: number): Promise<Sent> {
  const client = await RawClient.connect(socket);
  const closed = client.closed().then(() => "closed" as const);
  const ids: string[] = [];
  try {
    for (let n = 0; ; n++) {
      const answer = await Promise.race([client.call("RunPodSandbox", { config: { name: `burst-${sender}-${n}` } }, n + 1), closed]);
      if (answer === "closed") return { ids, end: "closed" };
      if (answer.error !== undefined) return { ids, end: { code: answer.error.data?.code, message: answer.error.message } };
      ids.push(answer.result.podSandboxId);
    }
  } finally {
    client.close();
  }
}

/**
 * Starts `senders` connections sending runs, and sends SIGTERM as soon as the first run is being
 * served: its first step makes the sandbox's folder (`<root>/sandboxes/<id>`), and a run takes
 * hundreds of milliseconds more (netns, shm, cgroup, infra container), so the signal arrives while
 * it, and the runs sent with it, are in flight.
 */
async function terminateDuringRuns(daemon: Awaited<ReturnType<typeof startDaemonProcess>>): Promise<Sent[]> {
  const watcher = watch(daemon.root, (_event, name) => {
    if (name !== "sandboxes") return;
    watcher.close();
    daemon.child.kill("SIGTERM");
  });
  try {
    return await Promise.all(Array.from({ length: senders }, (_, sender) => sendRuns(daemon.socket, sender)));
  } finally {
    watcher.close();
  }
}

/** Stops whatever a daemon left on `root` (a live restore leaves its workloads), then reports what is left on the host. */
async function stopLeftWorkloads(root: string) {
  const supervisor = await Supervisor.start({ root, workers: 1, killGraceMs: 2_000 });
  await supervisor.shutdown({ stopAll: true, timeoutMs: 2_000 });
  return findHostLeftovers({ root, tag: rootTag(root) });
}

describe.each(runtimes)("a daemon on %s receiving SIGTERM while RunPodSandbox requests are in flight", (runtime) => {
  test("lets them settle, refuses new ones, then stops every sandbox they made: nothing is left on the host", async () => {
    const daemon = await startDaemonProcess(runtime, ["--log-level", "info", "--log-format", "json"]);
    const sent = await terminateDuringRuns(daemon);
    const result = await daemon.child;
    // Whatever the outcome, nothing of this test stays on the host.
    const leftovers = await stopLeftWorkloads(daemon.root);
    expect(result.exitCode).toBe(0);
    const stderr = String(result.stderr);
    // The race was run: creations were in flight when the shutdown began. A request that came
    // after was refused, or found the socket closed (the refusal itself: test/supervisor/shutdown-gate.test.ts).
    expect(stderr).toContain("Creations in flight settled before the shutdown");
    for (const { end } of sent) if (end !== "closed") expect(end).toEqual({ code: "UNAVAILABLE", message: "Cannot run pod sandbox: the daemon is shutting down" });
    // Every request the daemon took was answered: a sender's first one either made a sandbox or was
    // refused; only a request sent after its answer may find the socket closed.
    for (const { ids, end } of sent) expect(ids.length > 0 || end !== "closed").toBe(true);
    expect(leftovers).toEqual(noLeftovers);
    // Every sandbox a client was given is in the records, stopped, as is every other one made.
    const supervisor = await Supervisor.start({ root: daemon.root, workers: 1 });
    try {
      const states = new Map(supervisor.listPodSandbox().map((status) => [status.id, status.state]));
      for (const id of sent.flatMap((each) => each.ids)) expect(states.get(id)).toBe("stopped");
      expect([...states.values()].every((state) => state === "stopped")).toBe(true);
      expect(states.size).toBeGreaterThan(0);
    } finally {
      await supervisor.shutdown({ stopAll: true });
    }
    await rm(daemon.root, { recursive: true, force: true });
  });

  test("with --live-restore leaves what they made running, whole: nothing half-made, no leak", async () => {
    const daemon = await startDaemonProcess(runtime, ["--live-restore", "--log-level", "info", "--log-format", "json"]);
    try {
      const sent = await terminateDuringRuns(daemon);
      const result = await daemon.child;
      expect(result.exitCode).toBe(0);
      expect(String(result.stderr)).toContain("Creations in flight settled before the shutdown");
      for (const { ids, end } of sent) expect(ids.length > 0 || end !== "closed").toBe(true);
      // A next daemon on the root finds a record for every netns, mount and cgroup on the host,
      // and every sandbox a client was given still ready.
      const supervisor = await Supervisor.start({ root: daemon.root, workers: 1 });
      try {
        expect((await supervisor.checkHost({ repair: false })).leaks).toBe(0);
        const ready = supervisor.listPodSandbox().filter((status) => status.state === "ready").map((status) => status.id);
        for (const id of sent.flatMap((each) => each.ids)) expect(ready).toContain(id);
      } finally {
        await supervisor.shutdown({ stopAll: false });
      }
    } finally {
      await daemon.child;
      expect(await stopLeftWorkloads(daemon.root)).toEqual(noLeftovers);
    }
    await rm(daemon.root, { recursive: true, force: true });
  });
});
