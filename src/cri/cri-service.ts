/**
 * What the CRI endpoint needs from the daemon: the supervisor's verbs (as in `PodService`) with
 * their status types. The image store's verbs (`pullImage` …) are looked up when called
 * (`image-handlers.ts`): until the daemon has them, ImageService says images are not there yet.
 */
import type { ContainerFilter, SandboxFilter } from "../api/status-filter.ts";
import type { ServerUnaryCall } from "@grpc/grpc-js";
import type { ContainerStatus, PodSandboxStatus } from "../api/api-types.ts";
import type { PodService } from "../api/pod-service.ts";
import type { Message } from "./cri-message.ts";

export interface CriPodService
  extends Pick<PodService, "runPodSandbox" | "stopPodSandbox" | "removePodSandbox" | "createContainer" | "startContainer" | "stopContainer" | "removeContainer" | "execSync" | "networkStatus"> {
  // The status verbs with the status types the CRI's views read.
  podSandboxStatus(id: string): PodSandboxStatus;
  listPodSandbox(filter?: SandboxFilter): PodSandboxStatus[];
  containerStatus(id: string): ContainerStatus;
  listContainers(filter?: ContainerFilter): ContainerStatus[];
  /** The runtime backend's name (`process`, `runc` …): what the warnings of a container's config name. */
  readonly backendName?: string;
}

/** What every handler is given. */
export interface CriContext {
  service: CriPodService;
  /** The daemon's root: ImageFsInfo's file system when the image store cannot say. */
  root: string;
  logs: { follow(status: ContainerStatus): void };
}

export type Handler = (context: CriContext, request: Message, call: ServerUnaryCall<Message, Message>) => Promise<Message> | Message;
