/**
 * What a restarted supervisor does before it answers anything: hands the runtime back every
 * container its records name. A running one is adopted through its cgroup (see
 * `src/runtime/process-adopted.ts`); one that ended while no daemon watched is recorded exited,
 * its exit status unknown — never left "running"; a created one in a ready sandbox is created again,
 * so it can still be started. Exit codes already on record are never touched.
 */
import { Limiter } from "../src/host/host-batcher.ts";
import { getLogger } from "../src/log/logger.ts";
import type { ContainerRecord } from "../src/state/records.ts";
import { exitFields } from "../src/runtime/container-stop.ts";
import { containerSpec } from "./container-spec.ts";
import type { SupervisorContext } from "./context.ts";

const log = getLogger("supervisor:restore");

/** Containers restored at once: each reads a few cgroup files. */
const concurrency = 64;

export interface Restored {
  /** Running containers now watched by the runtime: their exits reach their actors once spawned. */
  adopted: string[];
  /** Containers found stopped: recorded exited, exit status unknown. */
  exitedWhileDown: string[];
  recreated: number;
  failed: { containerId: string; message: string }[];
}

export async function restoreContainers(context: SupervisorContext): Promise<Restored> {
  const restored: Restored = { adopted: [], exitedWhileDown: [], recreated: 0, failed: [] };
  const limiter = new Limiter(concurrency);
  await Promise.all([...context.store.containers.values()].map((record) => limiter.run(async () => {
    try {
      await restoreOne(context, record, restored);
    } catch (error) {
      restored.failed.push({ containerId: record.id, message: (error as Error).message });
      log.error("Cannot restore a container", { containerId: record.id, sandboxId: record.sandboxId, error });
    }
  })));
  if (restored.adopted.length + restored.exitedWhileDown.length + restored.failed.length > 0) {
    log.warn("Restored containers an earlier daemon process ran", {
      adopted: restored.adopted.length,
      exitedWhileDown: restored.exitedWhileDown.length,
      recreated: restored.recreated,
      failed: restored.failed.length,
    });
  }
  return restored;
}

async function restoreOne(context: SupervisorContext, record: ContainerRecord, restored: Restored): Promise<void> {
  const sandbox = context.store.sandboxes.get(record.sandboxId);
  if (sandbox === undefined) return;
  if (record.state === "created") {
    if (sandbox.state !== "ready") return; // it can never start; its removal needs no runtime
    await context.backend.create(containerSpec(record, sandbox));
    restored.recreated++;
    return;
  }
  if (record.state !== "running" || record.pid === undefined) return;
  const state = await context.backend.adopt(containerSpec(record, sandbox), { pid: record.pid, startedAt: record.startedAt ?? record.createdAt });
  if (state.status === "running") {
    restored.adopted.push(record.id);
    return;
  }
  await context.store.saveContainer({ ...record, ...exitFields(state, undefined, context.clock.now()) });
  restored.exitedWhileDown.push(record.id);
}
