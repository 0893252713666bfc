import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const startContainer = defineMethod("StartContainer", schemas.containerTarget, async (params, { service }) => {
  await service.startContainer(params.containerId);
  return {};
});
