import { defineMethod } from "./api-method.ts";
import * as schemas from "./schemas.ts";

export const listPodSandbox = defineMethod("ListPodSandbox", schemas.listPodSandbox, (params, { service }) => ({
  items: service.listPodSandbox(params?.filter),
}));
