import { afterEach, describe, expect, test } from "vitest";
import { LaggingBackend } from "../../src/runtime/lagging-backend.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import type { ContainerSpec, RuntimeState, RuntimeBackend, WaitForStoppedOptions } from "../../src/runtime/runtime-backend.ts";
import { noLeftovers, startTestSupervisor } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";

/**
 * A runtime whose agent is wedged: it reports no container stopped until `comeBack()`, then
 * reports every stop it owes, pending waits included. This fakes, on purpose, a VM runtime's
 * agent going quiet and returning, which cannot be made to happen on demand with a real runtime.
 */
class WedgedBackend implements RuntimeBackend {
  readonly name = "wedged(process)";
  readonly #inner = new ProcessBackend();
  readonly #back = new EventTarget();
  #reporting = false;
  comeBack(): void {
    this.#reporting = true;
    this.#back.dispatchEvent(new Event("back"));
  }
  create = (spec: ContainerSpec) => this.#inner.create(spec);
  start = (id: string) => this.#inner.start(id);
  signal = (id: string, signal?: NodeJS.Signals) => this.#inner.signal(id, signal);
  killAll = (id: string) => this.#inner.killAll(id);
  state = (id: string) => this.#inner.state(id);
  pids = (id: string) => this.#inner.pids(id);
  delete = (id: string) => this.#inner.delete(id);
  adopt = this.#inner.adopt.bind(this.#inner);
  close = () => this.#inner.close();
  waitForStopped = async (id: string, options: WaitForStoppedOptions = {}): Promise<RuntimeState> => {
    const state = await this.#inner.waitForStopped(id, options);
    if (this.#reporting) return state;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(options.signal?.reason);
      this.#back.addEventListener("back", () => {
        options.signal?.removeEventListener("abort", onAbort);
        resolve(state);
      }, { once: true });
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  };
}

describe("a runtime that reports stopped late (VM-based, like Kata)", () => {
  let t: TestSupervisor | undefined;
  afterEach(async () => {
    expect(await t?.close()).toEqual(noLeftovers);
    t = undefined;
  });

  test("the stop waits for the runtime's report, not for the process", async () => {
    const lagMs = 600;
    t = await startTestSupervisor({ backend: new LaggingBackend(new ProcessBackend(), { lagMs }) });
    const id = await t.supervisor.runPodSandbox({ name: "kata-like" });
    const containerId = await t.supervisor.createContainer(id, { name: "sleep", command: ["sleep", "1000"] });
    await t.supervisor.startContainer(containerId);
    const startedAt = Date.now();
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    const elapsed = Date.now() - startedAt;
    // The app container's report lags, then the infra container's: both waited for.
    expect(elapsed).toBeGreaterThanOrEqual(2 * lagMs - 50);
    expect(elapsed).toBeLessThan(5_000);
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled" });
  });

  test("a report that never comes fails the stop after a bound, leaves the sandbox not-stopped, and a retry finishes it", async () => {
    const backend = new WedgedBackend();
    t = await startTestSupervisor({ backend, killGraceMs: 500 });
    const id = await t.supervisor.runPodSandbox({ name: "wedged" });
    const containerId = await t.supervisor.createContainer(id, { name: "sleep", command: ["sleep", "1000"] });
    await t.supervisor.startContainer(containerId);
    const startedAt = Date.now();
    const error = await t.supervisor.stopPodSandbox(id, { timeoutMs: 500 }).catch((caught: unknown) => caught);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(error).toMatchObject({ code: "STOP_INCOMPLETE" });
    expect((error as Error).message).toMatch(/did not report it stopped \d+ ms after the kill.*retry the stop/);
    expect(t.supervisor.podSandboxStatus(id).state).toBe("ready");
    expect(t.supervisor.containerStatus(containerId).state).toBe("running");
    backend.comeBack();
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 500 });
    expect(t.supervisor.podSandboxStatus(id).state).toBe("stopped");
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", reason: "signalled" });
  });
});
