import type { ContainerRecord } from "../src/state/records.ts";
import type { ContainerMessage } from "../actors/protocol.ts";
import type { SupervisorContext } from "./context.ts";
import { inFlightOf } from "./in-flight.ts";
import { findContainer } from "./lookup.ts";

const startCallMs = 30_000;

/** Starts a created container: its own cgroup, the sandbox's netns, output to its log. */
export async function startContainer(context: SupervisorContext, id: string): Promise<ContainerRecord> {
  findContainer(context, id);
  const message: ContainerMessage = { type: "container.start" };
  // Its process is in its cgroup before its record says running: the leak check leaves it alone until then.
  const done = inFlightOf(context).begin(id);
  try {
    return await context.system.ask<ContainerRecord>(id, message, { deadlineAt: context.clock.now() + startCallMs });
  } finally {
    done();
  }
}
