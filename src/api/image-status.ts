import { defineMethod } from "./api-method.ts";
import * as schemas from "./image-schemas.ts";

/** `{image: null}` when the store has no such image (CRI's answer), not an error. */
export const imageStatus = defineMethod("ImageStatus", schemas.imageTarget, async (params, { service }) => service.imageStatus(params));
