import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const removePodSandbox = defineMethod("RemovePodSandbox", schemas.podSandboxTarget, async (params, { service }) => {
  await service.removePodSandbox(params.podSandboxId);
  return {};
});
