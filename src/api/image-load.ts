import { defineMethod } from "./api-method.ts";
import * as schemas from "./image-schemas.ts";

/** Loads the images of an OCI layout or archive at `path` on the daemon's machine (podvisor's own; not in the CRI). */
export const loadImage = defineMethod("LoadImage", schemas.loadImage, async (params, { service }) => service.loadImage(params));
