import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

/** Stops a sandbox; streams a `progress` notification for each phase the stop reaches. */
export const stopPodSandbox = defineMethod("StopPodSandbox", schemas.stopPodSandbox, async (params, { service, notify, requestId }) => {
  await service.stopPodSandbox(params.podSandboxId, {
    timeoutMs: params.timeoutMs,
    deadlineAt: params.deadlineAt,
    onProgress: (progress) => notify("progress", { requestId, ...progress }),
  });
  return {};
});
