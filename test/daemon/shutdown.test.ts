import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { Supervisor } from "../../supervisor/supervisor.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { commandFor, runtimes } from "../support/runtimes.ts";
import type { Runtime } from "../support/runtimes.ts";
import { isAlive, noLeftovers } from "../support/supervisor.ts";

const script = new URL("../support/daemon-with-pods.ts", import.meta.url).pathname;

/** Starts the daemon in a child process; resolves with what it made once it says so. */
async function startDaemonProcess(runtime: Runtime, root: string, options: { liveRestore?: boolean } = {}) {
  const [file, args] = commandFor(runtime, script, [root, "3", options.liveRestore ? "live-restore" : ""]);
  const child = execa(file, args, { preferLocal: true, reject: false, env: { PODVISOR_LOG_LEVEL: "warn" } });
  const made = await new Promise<{ tag: string; root: string; sandboxes: string[]; pids: number[] }>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString().split("\n")[0])));
    void child.then((result) => reject(new Error(`daemon exited early: ${result.stderr}`)));
  });
  return { child, made };
}

describe.each(runtimes)("the daemon on %s", (runtime) => {
  test("stops every sandbox in parallel on SIGTERM, then exits, leaving nothing", async () => {
    const root = await mkdtemp(join(tmpdir(), "pvtest-daemon-"));
    const { child, made } = await startDaemonProcess(runtime, root);
    expect(made.pids.every(isAlive)).toBe(true);
    const startedAt = Date.now();
    child.kill("SIGTERM");
    const result = await child;
    // Three sandboxes, each with a container that needs the kill at its 1 s deadline: in parallel, ~1 s.
    expect(Date.now() - startedAt).toBeLessThan(6_000);
    expect(result.exitCode).toBe(0);
    expect(made.pids.filter(isAlive)).toEqual([]);
    expect(await findHostLeftovers({ root: made.root, tag: made.tag })).toEqual(noLeftovers);
    // A clean restart finds every sandbox and container again, stopped, with their exit status.
    const supervisor = await Supervisor.start({ root, workers: 1 });
    expect(supervisor.listPodSandbox().map((s) => s.id).sort()).toEqual([...made.sandboxes].sort());
    expect(supervisor.listPodSandbox().every((s) => s.state === "stopped")).toBe(true);
    const containers = supervisor.listContainers();
    expect(containers).toHaveLength(9);
    expect(containers.every((c) => c.state === "exited" && c.reason !== undefined)).toBe(true);
    await supervisor.shutdown({ stopAll: true });
    await rm(root, { recursive: true, force: true });
  });

  test("with --live-restore leaves workloads running on SIGTERM; a later daemon finds and stops them", async () => {
    const root = await mkdtemp(join(tmpdir(), "pvtest-daemon-"));
    const { child, made } = await startDaemonProcess(runtime, root, { liveRestore: true });
    child.kill("SIGTERM");
    expect((await child).exitCode).toBe(0);
    expect(made.pids.every(isAlive)).toBe(true);
    // Re-adopting live containers is a later issue; a new daemon still finds them and can stop them,
    // killing through the cgroups their records name.
    const supervisor = await Supervisor.start({ root, workers: 1, killGraceMs: 2_000 });
    expect(supervisor.listPodSandbox().filter((s) => s.state === "ready")).toHaveLength(3);
    const results = await supervisor.shutdown({ stopAll: true, timeoutMs: 500 });
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(made.pids.filter(isAlive)).toEqual([]);
    expect(await findHostLeftovers({ root: made.root, tag: made.tag })).toEqual(noLeftovers);
    await rm(root, { recursive: true, force: true });
  });
});
