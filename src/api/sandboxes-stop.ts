import { z } from "zod";
import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

const params = z.object({
  podSandboxIds: z.array(schemas.id).max(100_000).optional(),
  all: z.literal(true).optional(),
  ...schemas.timeout,
}).strict().refine((p) => (p.podSandboxIds === undefined) !== (p.all === undefined), {
  message: "give either podSandboxIds or all: true",
});

/**
 * Stops many sandboxes under one absolute deadline. Streams a `progress` notification as each
 * sandbox finishes (`done` of `total`), then answers with every sandbox's outcome.
 */
export const stopPodSandboxes = defineMethod("StopPodSandboxes", params, async (p, { service, notify, requestId }) => {
  let done = 0;
  let total = 0;
  const results = await service.stopPodSandboxes(p.all ? { all: true } : { ids: p.podSandboxIds ?? [] }, {
    timeoutMs: p.timeoutMs,
    deadlineAt: p.deadlineAt,
    onStart: (count) => (total = count),
    onDone: (result) => notify("progress", { requestId, podSandboxId: result.podSandboxId, ok: result.ok, done: ++done, total }),
  });
  return { results };
});
