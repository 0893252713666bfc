import { describeVersion } from "../version.ts";
import { defineMethod } from "./api-method.ts";
import { noParams } from "./schemas.ts";

/** The version of the API spoken here; bumped on any incompatible change. */
export const apiVersion = "v1alpha1";

export const version = defineMethod("Version", noParams, () => ({
  ...describeVersion(),
  apiVersion,
  /** The container runtime backend (`process`, `runc` …), as the daemon's command line set it; absent for an embedded daemon. */
  containerBackend: process.env.PODVISOR_CONTAINER_BACKEND,
}));
