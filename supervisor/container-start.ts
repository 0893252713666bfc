import { getLogger } from "../src/log/logger.ts";
import type { ContainerRecord } from "../src/state/records.ts";
import type { ContainerMessage } from "../actors/protocol.ts";
import type { SupervisorContext } from "./context.ts";
import { inFlightOf } from "./in-flight.ts";
import { findContainer } from "./lookup.ts";

const log = getLogger("supervisor");
const startCallMs = 30_000;

/** Starts a created container: its own cgroup, the sandbox's netns, output to its log. */
export async function startContainer(context: SupervisorContext, id: string): Promise<ContainerRecord> {
  findContainer(context, id);
  const message: ContainerMessage = { type: "container.start" };
  // Its process is in its cgroup before its record says running: the leak check leaves it alone until then.
  const done = inFlightOf(context).begin(id);
  try {
    const started = await context.system.ask<ContainerRecord>(id, message, { deadlineAt: context.clock.now() + startCallMs });
    log.info("Started container", { containerId: id, sandboxId: started.sandboxId, pid: started.pid });
    return started;
  } finally {
    done();
  }
}
