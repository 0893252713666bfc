import { rm } from "node:fs/promises";
import { expect, test } from "vitest";
import { ManualClock } from "../../src/async/clock.ts";
import { CreationGate } from "../../supervisor/creation-gate.ts";
import { Supervisor } from "../../supervisor/supervisor.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { noLeftovers, startTestSupervisor } from "../support/supervisor.ts";

test("a shutdown lets the runs and creations in flight finish, refuses new ones, and stops what they made", async () => {
  const t = await startTestSupervisor();
  const { supervisor } = t;
  const sandboxId = await supervisor.runPodSandbox({ name: "before" });
  // In flight when the shutdown begins: a run, a create, and a start of a container created before.
  const created = await supervisor.createContainer(sandboxId, { name: "started", command: ["sleep", "1000"] });
  const running = supervisor.runPodSandbox({ name: "in-flight" });
  const creating = supervisor.createContainer(sandboxId, { name: "in-flight", command: ["sleep", "1000"] });
  const starting = supervisor.startContainer(created);
  const results = supervisor.shutdown({ stopAll: true, timeoutMs: 2_000 });
  await expect(supervisor.runPodSandbox({ name: "after" })).rejects.toMatchObject({ code: "UNAVAILABLE", message: "Cannot run pod sandbox: the daemon is shutting down" });
  await expect(supervisor.createContainer(sandboxId, { name: "after", command: ["true"] })).rejects.toMatchObject({ code: "UNAVAILABLE", message: "Cannot create container: the daemon is shutting down" });
  await expect(supervisor.startContainer(created)).rejects.toMatchObject({ code: "UNAVAILABLE", message: "Cannot start container: the daemon is shutting down" });
  const madeId = await running;
  await creating;
  await starting;
  // The stop-all counted the sandbox the run in flight made.
  expect((await results).map((result) => result.podSandboxId).sort()).toEqual([sandboxId, madeId].sort());
  expect((await results).every((result) => result.ok)).toBe(true);
  expect(await findHostLeftovers({ root: supervisor.root, tag: supervisor.tag })).toEqual(noLeftovers);
  const next = await Supervisor.start({ root: t.root, workers: 1 });
  expect(next.listPodSandbox().map((status) => status.state)).toEqual(["stopped", "stopped"]);
  expect(next.listContainers().every((status) => status.state === "exited" || status.state === "created")).toBe(true);
  await next.shutdown({ stopAll: true });
  await rm(t.root, { recursive: true, force: true });
});

test("the creation gate gives up waiting at its deadline and names what is still in flight", async () => {
  const clock = new ManualClock(1_000);
  const gate = new CreationGate();
  let finish: () => void = () => {};
  void gate.run("run pod sandbox", () => new Promise<void>((resolve) => (finish = resolve)));
  const closed = gate.close({ deadlineAt: 31_000, clock });
  expect(gate.open).toBe(false);
  clock.advance(30_000);
  expect(await closed).toEqual({ unsettled: ["run pod sandbox"] });
  finish();
  await Promise.resolve();
  expect(gate.size).toBe(0);
  expect(await gate.close({ deadlineAt: 31_000, clock })).toEqual({ unsettled: [] });
});
