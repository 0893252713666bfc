/**
 * How many times a stop crosses between the main thread and the workers, per container: the
 * numbers docs/STOP.md gives ("what the actors are for"). Measured on real processes, from the actor
 * runtime's own count of envelopes, so a change that adds a round trip shows here.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ignoresTermCommand, runTestPod, startTestSupervisor } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

let t: TestSupervisor;

beforeAll(async () => {
  t = await startTestSupervisor();
});

afterAll(async () => {
  await t.close();
});

/** Envelopes in both directions during `run`, divided by `containers`. */
async function crossingsPerContainer(containers: number, run: () => Promise<unknown>): Promise<{ toWorkers: number; fromWorkers: number }> {
  const before = t.supervisor.actorSystem.stats().crossings;
  await run();
  const after = t.supervisor.actorSystem.stats().crossings;
  return { toWorkers: (after.toWorkers - before.toWorkers) / containers, fromWorkers: (after.fromWorkers - before.fromWorkers) / containers };
}

describe("crossings between the main thread and the workers", () => {
  test("a container that stops on its signal costs 7 envelopes; one killed at its deadline, 9", async () => {
    // 3 application containers + the infra container, all of which stop on SIGTERM.
    const graceful = await runTestPod(t, [["sleep", "1000"], ["sleep", "1000"], ["sleep", "1000"]]);
    const obeying = await crossingsPerContainer(4, () => t.supervisor.stopPodSandbox(graceful.id, { timeoutMs: 5_000 }));
    console.log("crossings per container that stops on its signal:", obeying);
    // main → worker: the stop, the answers to signal-and-wait and to save, the exit report; worker → main: the two requests and the acknowledgement.
    expect(obeying).toEqual({ toWorkers: 4, fromWorkers: 3 });

    const stubborn = await runTestPod(t, [ignoresTermCommand, ignoresTermCommand, ignoresTermCommand]);
    const killed = await crossingsPerContainer(3, () => t.supervisor.stopPodSandbox(stubborn.id, { timeoutMs: 1_500 }));
    console.log("crossings per container killed at its deadline (infra container included in the count's envelopes):", killed);
    // Each stubborn container adds the kill-and-wait round trip; the infra container (which obeys) is spread over the three.
    expect(killed.toWorkers * 3).toBe(3 * 5 + 4);
    expect(killed.fromWorkers * 3).toBe(3 * 4 + 3);
    await t.supervisor.removePodSandbox(graceful.id);
    await t.supervisor.removePodSandbox(stubborn.id);
  });
});
