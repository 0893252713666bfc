import type { ApiMethod } from "./api-method.ts";
import { createContainer } from "./container-create.ts";
import { listContainers } from "./container-list.ts";
import { removeContainer } from "./container-remove.ts";
import { checkHost } from "./host-check.ts";
import { startContainer } from "./container-start.ts";
import { containerStatus } from "./container-status.ts";
import { stopContainer } from "./container-stop.ts";
import { metrics } from "./metrics.ts";
import { listPodSandbox } from "./sandbox-list.ts";
import { removePodSandbox } from "./sandbox-remove.ts";
import { runPodSandbox } from "./sandbox-run.ts";
import { podSandboxStatus } from "./sandbox-status.ts";
import { stopPodSandbox } from "./sandbox-stop.ts";
import { stopPodSandboxes } from "./sandboxes-stop.ts";
import { version } from "./version.ts";
import { imageFsInfo } from "./image-fs-info.ts";
import { listImages } from "./image-list.ts";
import { loadImage } from "./image-load.ts";
import { pullImage } from "./image-pull.ts";
import { removeImage } from "./image-remove.ts";
import { imageStatus } from "./image-status.ts";

/** Every method of the API, named after the Kubernetes CRI. docs/API.md describes each. */
export const apiMethods: ApiMethod[] = [
  version,
  runPodSandbox,
  stopPodSandbox,
  stopPodSandboxes,
  removePodSandbox,
  podSandboxStatus,
  listPodSandbox,
  createContainer,
  startContainer,
  stopContainer,
  removeContainer,
  containerStatus,
  listContainers,
  metrics,
  checkHost,
  pullImage,
  listImages,
  imageStatus,
  removeImage,
  imageFsInfo,
  loadImage,
];
