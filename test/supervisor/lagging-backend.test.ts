/**
 * SEMANTICS.md rule 7 on both backends: the stop waits until the RUNTIME reports a container
 * stopped, and fails (leaving the sandbox not-stopped, for a retry) when no report comes.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { LaggingBackend } from "../../src/runtime/lagging-backend.ts";
import type { ContainerSpec, RuntimeState, RuntimeBackend, WaitForStoppedOptions } from "../../src/runtime/runtime-backend.ts";
import { backends, startBackendSupervisor, useBackendSupervisors } from "../support/backends.ts";
import type { BackendName, BackendSupervisor } from "../support/backends.ts";
import { isMounted } from "../../src/host/mountinfo.ts";
import { noLeftovers, waitUntil } from "../support/supervisor.ts";

useBackendSupervisors();

/**
 * A runtime whose agent is wedged: it reports no container stopped until `comeBack()`, then
 * reports every stop it owes, pending waits included. This fakes, on purpose, a VM runtime's
 * agent going quiet and returning, which cannot be made to happen on demand with a real runtime.
 */
class WedgedBackend implements RuntimeBackend {
  readonly name: string;
  readonly #inner: RuntimeBackend;
  readonly #back = new EventTarget();
  constructor(inner: RuntimeBackend) {
    this.#inner = inner;
    this.name = `wedged(${inner.name})`;
  }
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
  adopt = (spec: ContainerSpec, record: Parameters<RuntimeBackend["adopt"]>[1]) => this.#inner.adopt(spec, record);
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

describe.each(backends)("a runtime that reports stopped late (VM-based, like Kata), on %s", (backendName: BackendName) => {
  let t: BackendSupervisor | undefined;
  afterEach(async () => {
    expect(await t?.close()).toEqual(noLeftovers);
    t = undefined;
  });

  test("the stop waits for the runtime's report, not for the process", async () => {
    const lagMs = 600;
    t = await startBackendSupervisor(backendName, { wrap: (backend) => new LaggingBackend(backend, { lagMs }) });
    const { id, containers: [containerId] } = await t.runPod([["sleep", "1000"]], { name: "kata-like" });
    const startedAt = Date.now();
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    const elapsed = Date.now() - startedAt;
    // The app container's report lags, then the infra container's: both waited for.
    expect(elapsed).toBeGreaterThanOrEqual(2 * lagMs - 50);
    expect(elapsed).toBeLessThan(5_000);
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", signal: "SIGTERM", reason: "signalled" });
  });

  // Rule 8, as the reference orders it: an application container's storage goes once it has stopped,
  // not after the infra container's stop (here: after its late report). Only runc's test containers
  // have a rootfs.
  test.runIf(backendName === "runc")("the application containers' rootfs is unmounted while the infra container's report is awaited", async () => {
    t = await startBackendSupervisor(backendName, { wrap: (backend) => new LaggingBackend(backend, { lagMs: 1_500 }) });
    const { id, containers: [containerId] } = await t.runPod([["sleep", "1000"]], { name: "storage-early" });
    const merged = join(t.root, "sandboxes", id, "containers", containerId, "merged");
    expect(await isMounted(merged)).toBe(true);
    const infraId = t.supervisor.podSandboxStatus(id).infraContainerId as string;
    const stop = t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    await waitUntil(async () => !(await isMounted(merged)));
    // Its report comes 1.5 s after the application container's: until then its record says running.
    expect(t.supervisor.containerStatus(containerId).state).toBe("exited");
    expect(t.supervisor.containerStatus(infraId).state).toBe("running");
    await stop;
    expect(t.supervisor.podSandboxStatus(id).state).toBe("stopped");
  });

  test("a report that never comes fails the stop after a bound, leaves the sandbox not-stopped, and a retry finishes it", async () => {
    t = await startBackendSupervisor(backendName, { wrap: (inner) => new WedgedBackend(inner), killGraceMs: 500 });
    const backend = t.backend as WedgedBackend;
    const { id, containers: [containerId] } = await t.runPod([["sleep", "1000"]], { name: "wedged" });
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

  /**
   * runc itself made to lag (test/runtime/fixtures/lagging-runc, a DELIBERATE FAKE wrapping the real
   * runc: its `state` and `list` say "running" until asked LAG times after the exit), so the wait is
   * for the runtime's own word, as with a VM runtime; such runtimes get their own `kill`.
   */
  test.runIf(backendName === "runc")("runc made to lag: the stop signals through the runtime's kill and waits until the runtime itself says stopped", async () => {
    const lag = 3;
    const fake = fileURLToPath(new URL("../runtime/fixtures/lagging-runc", import.meta.url));
    t = await startBackendSupervisor(backendName, { oci: { runtime: "lagging-runc", runtimePath: fake, signalsDirectly: false } });
    const runtimeRoot = join(t.root, "oci", "runtime");
    await writeFile(join(runtimeRoot, "lag-count"), String(lag));
    const exitsOnTerm = { command: ["sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"], init: false };
    const { id, containers: [containerId] } = await t.runPod([exitsOnTerm], { name: "vm-like" });
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 5_000 });
    expect(t.supervisor.containerStatus(containerId)).toMatchObject({ state: "exited", exitCode: 3, reason: "exited" });
    const calls = await readFile(join(runtimeRoot, "calls"), "utf8");
    expect(calls).toMatch(new RegExp(`kill ${containerId} SIGTERM\\n`)); // through the runtime, not process.kill
    // Asked until it said "stopped": LAG answers of "running" after the exit, then "stopped" (a list
    // round while the infra container is waited for asks about the app container again: at least).
    expect(Number(await readFile(join(runtimeRoot, "lag", containerId), "utf8"))).toBeGreaterThanOrEqual(lag + 1);
    const infraId = t.supervisor.podSandboxStatus(id).infraContainerId as string;
    expect(Number(await readFile(join(runtimeRoot, "lag", infraId), "utf8"))).toBeGreaterThanOrEqual(lag + 1);
    await t.supervisor.removePodSandbox(id);
  });
});
