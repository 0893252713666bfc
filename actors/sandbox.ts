/**
 * The sandbox actor: the parent of its containers' actors, which it spawns on its own worker, so
 * that a sandbox and its containers always share one thread and are stopped together.
 */
import type { Behavior } from "../src/actor-system/index.ts";
import { behaviorRef } from "../src/actor-system/index.ts";
import type { SandboxMessage } from "./protocol.ts";

export const containerRef = behaviorRef(new URL("./container.ts", import.meta.url).href, "containerBehavior");
export const sandboxRef = behaviorRef(import.meta.url, "sandboxBehavior");

export const sandboxBehavior: Behavior<{ id: string; containers: string[] }, SandboxMessage, { id: string }> = {
  start: (init) => ({ id: init.id, containers: [] }),

  async receive(state, message, context) {
    switch (message.type) {
      case "sandbox.add-container": {
        const id = await context.spawn({ id: message.record.id, behavior: containerRef, init: message.record });
        state.containers.push(id);
        return id;
      }
    }
  },
};
