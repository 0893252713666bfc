import { defineMethod } from "./api-method.ts";
import * as schemas from "./image-schemas.ts";

export const removeImage = defineMethod("RemoveImage", schemas.imageTarget, async (params, { service }) => {
  await service.removeImage(params);
  return {};
});
