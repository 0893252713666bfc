import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const createContainer = defineMethod("CreateContainer", schemas.createContainer, async (params, { service }) => ({
  containerId: await service.createContainer(params.podSandboxId, params.config),
}));
