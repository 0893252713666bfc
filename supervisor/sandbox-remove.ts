import { getLogger } from "../src/log/logger.ts";
import type { SupervisorContext } from "./context.ts";
import { validateId } from "../src/state/ids.ts";
import { containerRootfsMounts, unmountContainerRootfs } from "./stop/sandbox-cleanup.ts";
import { stopPodSandbox } from "./stop/sandbox-stop.ts";

const log = getLogger("supervisor:sandbox");

/**
 * Removes a pod sandbox (CRI `RemovePodSandbox`): stops it first if needed, then forgets its
 * containers, stops its actors and deletes its records and directories. Unknown id: success.
 */
export async function removePodSandbox(context: SupervisorContext, id: string): Promise<void> {
  validateId(id, "pod sandbox");
  const record = context.store.sandboxes.get(id);
  if (record === undefined) return;
  if (record.state !== "stopped") await stopPodSandbox(context, id);
  // A rootfs its stop could not unmount (a warning then, as in the reference) must go before its directory.
  await unmountContainerRootfs(context, containerRootfsMounts(context, record));
  for (const container of context.store.containersOf(id)) await context.backend.delete(container.id);
  await context.system.stop(id, { deadlineAt: context.clock.now() + 10_000 });
  await context.store.removeSandbox(record);
  log.info("Removed pod sandbox", { sandboxId: id });
}
