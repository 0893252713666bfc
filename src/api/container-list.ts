import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const listContainers = defineMethod("ListContainers", schemas.listContainers, (params, { service }) => ({
  items: service.listContainers(params?.filter),
}));
