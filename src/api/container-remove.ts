import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const removeContainer = defineMethod("RemoveContainer", schemas.containerTarget, async (params, { service }) => {
  await service.removeContainer(params.containerId);
  return {};
});
