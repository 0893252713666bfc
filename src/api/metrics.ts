import { defineMethod } from "./api-method.ts";
import { noParams } from "./schemas.ts";

export const metrics = defineMethod("Metrics", noParams, async (_params, { service }) => ({ text: await service.metricsText() }));
