import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const containerStatus = defineMethod("ContainerStatus", schemas.containerTarget, (params, { service }) => ({
  status: service.containerStatus(params.containerId),
}));
