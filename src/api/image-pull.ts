import { defineMethod } from "./api-method.ts";
import * as schemas from "./image-schemas.ts";

/** Pulls an image; streams `progress` notifications (`doneBytes`, `totalBytes`) while its blobs come in. */
export const pullImage = defineMethod("PullImage", schemas.pullImage, async (params, { service, notify, requestId }) =>
  service.pullImage(params, { onProgress: (progress) => notify("progress", { requestId, ...progress }) }));
