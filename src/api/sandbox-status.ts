import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const podSandboxStatus = defineMethod("PodSandboxStatus", schemas.podSandboxTarget, (params, { service }) => ({
  status: service.podSandboxStatus(params.podSandboxId),
}));
