import { defineMethod } from "./api-method.ts";
import * as schemas from "./image-schemas.ts";

export const listImages = defineMethod("ListImages", schemas.listImages, async (params, { service }) => service.listImages(params ?? {}));
