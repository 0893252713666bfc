import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { createCgroup } from "../src/host/cgroup.ts";
import { removeCgroup } from "../src/host/cgroup-remove.ts";
import { createNetns } from "../src/host/netns-create.ts";
import { removeNetns } from "../src/host/netns-remove.ts";
import { mountShm, unmountShm } from "../src/host/shm.ts";
import { writeResolvConf } from "../src/host/resolv-conf.ts";
import { getLogger } from "../src/log/logger.ts";
import type { SandboxRecord } from "../src/state/records.ts";
import { sandboxRef } from "../actors/sandbox.ts";
import { createContainer } from "./container-create.ts";
import { startContainer } from "./container-start.ts";
import type { SupervisorContext } from "./context.ts";
import { newId } from "../src/state/ids.ts";
import { inFlightOf } from "./in-flight.ts";
import { normalizeSandboxConfig } from "./validate.ts";

const log = getLogger("supervisor:sandbox");

/** The infra (pause) container: one process that holds the sandbox's namespaces. */
export const infraCommand = ["sleep", "infinity"];

/**
 * Runs a pod sandbox: its record, its resolv.conf, a network namespace unless host network, an shm
 * tmpfs unless host IPC, its cgroup, its actor, and its infra container. On failure, undoes what it made.
 */
export async function runPodSandbox(context: SupervisorContext, config: unknown): Promise<string> {
  const normalized = normalizeSandboxConfig(config);
  const id = newId();
  const record: SandboxRecord = {
    id,
    ...normalized,
    state: "ready",
    createdAt: Date.now(),
    dir: context.store.sandboxDir(id),
    cgroupPath: `podvisor-${context.tag}/pod-${id}`,
  };
  const startedAt = performance.now();
  // Its netns, shm and cgroup exist before its record does: the leak check leaves them alone until then.
  const done = inFlightOf(context).begin(id);
  try {
    await mkdir(record.dir, { recursive: true, mode: 0o700 });
    record.resolvConfPath = await writeResolvConf(record.dir, record.dnsConfig);
    if (!record.hostNetwork) {
      const netns = await createNetns(`pv-${context.tag}-${id}`);
      Object.assign(record, { netnsName: netns.name, netnsPath: netns.path });
      // Loopback is up already (createNetns); then the CNI network, stored with the first record write.
      const network = await context.network?.attach({ containerId: netns.name, netns: netns.path, podName: record.name });
      if (network !== undefined) record.network = network;
    }
    if (!record.hostIpc) record.shmPath = await mountShm(join(record.dir, "shm"), { root: context.root });
    await createCgroup(record.cgroupPath).catch((error: unknown) => log.warn("Cannot create the sandbox cgroup; containers fall back to process groups", { id, error }));
    await context.store.saveSandbox(record);
    await context.system.spawn({ id, behavior: sandboxRef, init: { id } });
    const infraId = await createContainer(context, id, { name: "infra", command: infraCommand }, { infra: true });
    record.infraContainerId = infraId;
    await context.store.saveSandbox(record);
    await startContainer(context, infraId);
  } catch (error) {
    await undo(context, record);
    throw error;
  } finally {
    done();
  }
  log.info("Ran pod sandbox", { sandboxId: id, name: record.name, durationMs: Math.round(performance.now() - startedAt) });
  return id;
}

async function undo(context: SupervisorContext, record: SandboxRecord): Promise<void> {
  const steps = [
    async () => {
      for (const container of context.store.containersOf(record.id)) {
        await context.backend.killAll(container.id).catch(() => {});
        await context.backend.delete(container.id);
      }
    },
    () => context.system.stop(record.id, { deadlineAt: Date.now() + 5_000 }),
    () => record.network === undefined ? undefined : context.network?.detach(record.network, record.netnsPath ?? ""),
    () => record.netnsName === undefined ? undefined : removeNetns(record.netnsName),
    () => record.shmPath === undefined ? undefined : unmountShm(record.shmPath, { root: context.root }),
    () => removeCgroup(record.cgroupPath),
    () => context.store.removeSandbox(record),
    () => rm(record.dir, { recursive: true, force: true }),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      log.warn("Cannot undo part of a failed sandbox run", { sandboxId: record.id, error });
    }
  }
}
