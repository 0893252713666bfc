import { defineMethod } from "./api-method.ts";
import { noParams } from "./schemas.ts";

export const imageFsInfo = defineMethod("ImageFsInfo", noParams, async (_params, { service }) => service.imageFsInfo());
