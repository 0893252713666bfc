import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const runPodSandbox = defineMethod("RunPodSandbox", schemas.runPodSandbox, async (params, { service }) => ({
  podSandboxId: await service.runPodSandbox(params.config),
}));
