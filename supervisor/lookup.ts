import type { ContainerRecord, SandboxRecord } from "../src/state/records.ts";
import type { SupervisorContext } from "./context.ts";
import { containerNotFound, sandboxNotFound, validateId } from "../src/state/ids.ts";

/** The record of a sandbox, or a NOT_FOUND error; a malformed id is a TypeError. */
export function findSandbox(context: SupervisorContext, id: unknown): SandboxRecord {
  validateId(id, "pod sandbox");
  const record = context.store.sandboxes.get(id);
  if (record === undefined) throw sandboxNotFound(id);
  return record;
}

/** The record of a container, or a NOT_FOUND error; a malformed id is a TypeError. */
export function findContainer(context: SupervisorContext, id: unknown): ContainerRecord {
  validateId(id, "container");
  const record = context.store.containers.get(id);
  if (record === undefined) throw containerNotFound(id);
  return record;
}
