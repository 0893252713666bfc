/**
 * One test's runtime: a backend, a cgroup prefix and a temp dir of its own, and an afterEach that
 * kills and deletes every container it ran, removes the prefix, and checks that no cgroup, process
 * or zombie is left behind.
 */
import { join } from "node:path";
import { afterEach, beforeEach, expect } from "vitest";
import { listCgroups } from "../../src/host/cgroup.ts";
import { removeCgroup } from "../../src/host/cgroup-remove.ts";
import type { ContainerSpec, RuntimeBackend, StartResult } from "../../src/runtime/runtime-backend.ts";
import { expectNoZombies, expectPidsGone, makeTempDir, removeTempDir, testCgroupPrefix } from "./runtime-fixtures.ts";

/** A bound for waits in cleanup: generous, never reached when things work. */
const cleanupTimeoutMs = 5_000;

export interface RuntimeHarness<B extends RuntimeBackend> {
  readonly backend: B;
  readonly prefix: string;
  readonly dir: string;
  /** Creates and starts a container; `extra` overrides any spec field. */
  run(command: string[], extra?: Partial<ContainerSpec>): Promise<StartResult & { id: string; logPath: string }>;
  /** Creates a container without starting it. */
  create(command: string[], extra?: Partial<ContainerSpec>): Promise<ContainerSpec>;
}

export function useRuntimeHarness<B extends RuntimeBackend>(makeBackend: () => B): RuntimeHarness<B> {
  let backend: B | undefined;
  let prefix = "";
  let dir = "";
  const ids: string[] = [];
  const pids = new Set<number>();

  beforeEach(async () => {
    backend = makeBackend();
    prefix = testCgroupPrefix();
    dir = await makeTempDir("runtime");
  });

  afterEach(async () => {
    const current = backend as B;
    try {
      for (const id of ids.splice(0)) await cleanUp(current, id, pids);
    } finally {
      current.close();
      await removeCgroup(prefix);
      await removeTempDir(dir);
    }
    expect(await listCgroups(prefix)).toEqual([]);
    await expectPidsGone([...pids]);
    pids.clear();
    await expectNoZombies();
  });

  const harness: RuntimeHarness<B> = {
    get backend() {
      return backend as B;
    },
    get prefix() {
      return prefix;
    },
    get dir() {
      return dir;
    },
    async create(command, extra = {}) {
      const id = extra.id ?? `c${ids.length + 1}`;
      const spec: ContainerSpec = { id, command, logPath: join(dir, `${id}.log`), cgroupPath: `${prefix}/pod/ctr-${id}`, ...extra };
      await harness.backend.create(spec);
      ids.push(id);
      return spec;
    },
    async run(command, extra = {}) {
      const spec = await harness.create(command, extra);
      const started = await harness.backend.start(spec.id);
      pids.add(started.pid);
      return { ...started, id: spec.id, logPath: spec.logPath };
    },
  };
  return harness;
}

/** Kills, waits for and deletes one container; one the test deleted itself is skipped. */
async function cleanUp(backend: RuntimeBackend, id: string, pids: Set<number>): Promise<void> {
  const state = await backend.state(id).catch((error: { code?: string }) => {
    if (error.code === "NOT_FOUND") return undefined;
    throw error;
  });
  if (state === undefined) return;
  for (const pid of await backend.pids(id)) pids.add(pid);
  await backend.killAll(id);
  if (state.status !== "created") {
    await backend.waitForStopped(id, { signal: AbortSignal.timeout(cleanupTimeoutMs) }).catch(() => {});
  }
  await backend.delete(id);
}
