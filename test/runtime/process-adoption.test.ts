/**
 * Adoption after a restart. The "earlier daemon" is the harness's backend, the "next daemon" a fresh
 * ProcessBackend in the same test process: it knows the containers only through their specs and the
 * pid and start time in their records, exactly as a restarted daemon does.
 */
import { readFile, rm } from "node:fs/promises";
import { execa } from "execa";
import { describe, expect, onTestFinished, test } from "vitest";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import { exitStatusPath } from "../../src/runtime/process-holder-command.ts";
import type { ContainerSpec } from "../../src/runtime/runtime-backend.ts";
import { isPopulated } from "../../src/host/cgroup.ts";
import { isLive } from "./runtime-fixtures.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";

const deadline = () => AbortSignal.timeout(10_000);

describe("ProcessBackend adoption", () => {
  const h = useRuntimeHarness(() => new ProcessBackend());

  /** A fresh backend, as after a restart; its containers are forgotten when the test ends. */
  function nextDaemon(): ProcessBackend {
    const next = new ProcessBackend();
    const adopted: string[] = [];
    const adopt = next.adopt.bind(next);
    next.adopt = (spec, record) => (adopted.push(spec.id), adopt(spec, record));
    onTestFinished(async () => {
      for (const id of adopted) {
        await next.killAll(id).catch(() => {});
        await next.waitForStopped(id, { signal: deadline() }).catch(() => {});
        await next.delete(id);
      }
    });
    return next;
  }

  async function runWithSpec(command: string[]): Promise<{ spec: ContainerSpec; pid: number; startedAt: number }> {
    const spec = await h.create(command);
    const started = await h.backend.start(spec.id);
    // The command enters its cgroup a moment after it is spawned (see process-holder-command.ts).
    await expect.poll(() => isPopulated(spec.cgroupPath)).toBe(true);
    return { spec, ...started };
  }

  test("a running container is adopted through its cgroup: signalled, killed with its children, and seen to stop, its exit status from the earlier holder", async () => {
    const { spec, pid, startedAt } = await runWithSpec(["sh", "-c", "sleep 1000 & trap '' TERM; echo ready; while :; do sleep 0.1; done"]);
    h.backend.close(); // the earlier daemon is gone; its holder stays while its children run
    const next = nextDaemon();
    expect(await next.adopt(spec, { pid, startedAt })).toEqual({ status: "running", pid, startedAt });
    await next.signal(spec.id, "SIGTERM"); // ignored by the shell
    expect(await isLive(pid)).toBe(true);
    await expect.poll(async () => (await next.pids(spec.id)).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2); // its background sleep has started
    const pids = await next.pids(spec.id);
    await next.killAll(spec.id);
    const stopped = await next.waitForStopped(spec.id, { signal: deadline() });
    expect(stopped).toMatchObject({ status: "stopped", pid, signal: "SIGKILL" });
    expect(stopped.exitCodeUnknown).toBeUndefined();
    for (const child of pids) expect(await isLive(child)).toBe(false);
  });

  test("a container that exited while no daemon watched is reported stopped with the exit status its holder kept", async () => {
    const { spec, pid, startedAt } = await runWithSpec(["sh", "-c", "sleep 0.3; exit 9"]);
    h.backend.close(); // the earlier daemon is gone before its container ends
    // Made empty at the spawn; the status goes in when the holder reaps it.
    await expect.poll(() => readFile(exitStatusPath(spec), "utf8").catch(() => ""), { timeout: 5_000 }).toMatch(/^\d+\n$/);
    const adopted = await new ProcessBackend().adopt(spec, { pid, startedAt });
    expect(adopted).toMatchObject({ status: "stopped", pid, exitCode: 9 });
    expect(adopted.exitCodeUnknown).toBeUndefined();
  });

  test("without its holder's exit file (the holder was killed too) the exit status is unknown, never made up", async () => {
    const { spec, pid, startedAt } = await runWithSpec(["sleep", "1000"]);
    await h.backend.signal(spec.id, "SIGTERM");
    await h.backend.waitForStopped(spec.id, { signal: deadline() });
    await rm(exitStatusPath(spec));
    const adopted = await new ProcessBackend().adopt(spec, { pid, startedAt });
    expect(adopted).toMatchObject({ status: "stopped", pid, exitCodeUnknown: true });
    expect(adopted.exitCode).toBeUndefined();
    expect(adopted.signal).toBeUndefined();
  });

  test("a reused pid is never signalled: only a pid listed in the container's own cgroup is", async () => {
    const { spec, startedAt } = await runWithSpec(["sleep", "1000"]);
    // An unrelated process holds the pid the record names (as if the pid had been reused).
    const stranger = execa("sleep", ["1000"], { reject: false });
    onTestFinished(async () => void (stranger.kill("SIGKILL"), await stranger));
    const next = nextDaemon();
    await next.adopt(spec, { pid: stranger.pid as number, startedAt });
    await next.signal(spec.id, "SIGTERM");
    await next.killAll(spec.id);
    await next.waitForStopped(spec.id, { signal: deadline() });
    expect(await isLive(stranger.pid as number)).toBe(true);
  });

  test("adopting an id it knows already is refused", async () => {
    const { spec, pid, startedAt } = await runWithSpec(["sleep", "1000"]);
    await expect(h.backend.adopt(spec, { pid, startedAt })).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
  });
});
