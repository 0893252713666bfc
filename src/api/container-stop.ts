import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const stopContainer = defineMethod("StopContainer", schemas.stopContainer, async (params, { service }) => {
  await service.stopContainer(params.containerId, { timeoutMs: params.timeoutMs, deadlineAt: params.deadlineAt });
  return {};
});
