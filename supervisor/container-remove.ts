import { unmountRootfs } from "../src/host/rootfs.ts";
import type { SupervisorContext } from "./context.ts";
import { stopContainer } from "./container-stop.ts";
import { validateId } from "../src/state/ids.ts";
import { CodedError } from "../src/actor-system/index.ts";

/**
 * Removes a container (CRI `RemoveContainer`): a running one is killed first; then its rootfs is
 * unmounted, the runtime forgets it, its actor stops and its directory goes. Unknown id: success.
 */
export async function removeContainer(context: SupervisorContext, id: string): Promise<void> {
  validateId(id, "container");
  const record = context.store.containers.get(id);
  if (record === undefined) return;
  if (record.infra && context.store.sandboxes.get(record.sandboxId)?.state === "ready") {
    throw new CodedError("FAILED_PRECONDITION", `Cannot remove container ${id}: it is the infra container of a ready pod sandbox`);
  }
  if (record.state === "running") await stopContainer(context, id, { timeoutMs: 0 });
  if (record.rootfs !== undefined) await unmountRootfs(record.dir, { root: context.root });
  await context.backend.delete(id);
  await context.system.stop(id, { deadlineAt: context.clock.now() + 10_000 });
  await context.store.removeContainer(context.store.containers.get(id) ?? record);
}
