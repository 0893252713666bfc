import type { ContainerRecord } from "../src/state/records.ts";
import type { StopOptions, SupervisorContext } from "./context.ts";
import { resolveDeadline } from "./context.ts";
import { stopContainers } from "./stop/containers-stop.ts";
import { findContainer } from "./lookup.ts";

/** Stops one container: its stop signal, then a kill of its whole cgroup at the deadline. */
export async function stopContainer(context: SupervisorContext, id: string, options: StopOptions = {}): Promise<ContainerRecord> {
  const record = findContainer(context, id);
  const { errors } = await stopContainers(context, [record], resolveDeadline(options, context.clock.now()));
  const error = errors.get(record.sandboxId)?.[0];
  if (error !== undefined) throw error;
  return context.store.containers.get(id) ?? record;
}
