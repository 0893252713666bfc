/**
 * What the API needs from the daemon: the supervisor's verbs. Declared here so that the API does
 * not depend on the actors (the daemon hands it the supervisor, which has this shape).
 */
import type { HostCheckReport, ImageFilesystemUsage, ImageView, SandboxStopResult } from "./api-types.ts";
import type { ContainerFilter, SandboxFilter } from "./status-filter.ts";

/** A stop's time budget (`deadlineAt` wins over `timeoutMs`), and a hook for each phase reached. */
export interface StopRequestOptions {
  timeoutMs?: number;
  deadlineAt?: number;
  onProgress?: (progress: { podSandboxId: string; phase: string }) => void;
}

export type { SandboxStopResult };

/** Options of a batch stop: the stop's, plus hooks for progress. */
export type BatchStopOptions = StopRequestOptions & { onStart?: (total: number) => void; onDone?: (result: SandboxStopResult) => void };

export interface PodService {
  runPodSandbox(config: unknown): Promise<string>;
  stopPodSandbox(id: string, options?: StopRequestOptions): Promise<unknown>;
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): object;
  listPodSandbox(filter?: SandboxFilter): object[];
  createContainer(sandboxId: string, config: unknown): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, options?: StopRequestOptions): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): object;
  listContainers(filter?: ContainerFilter): object[];
  stopPodSandboxes(
    target: { ids: string[] } | { all: true },
    options?: BatchStopOptions,
  ): Promise<SandboxStopResult[]>;
  metricsText(): Promise<string>;
  /** The leak check: the host against the records; with `repair`, what no record owns is removed. */
  checkHost(options?: { repair?: boolean }): Promise<HostCheckReport>;
  /** CRI PullImage: `imageRef` is the image's id (its config's digest); `onProgress` counts blob bytes. */
  pullImage(params: { image: { image: string }; auth?: object }, options?: { onProgress?: (progress: { doneBytes: number; totalBytes: number }) => void }): Promise<{ imageRef: string }>;
  listImages(params?: { filter?: { image?: { image: string } } }): Promise<{ images: ImageView[] }>;
  /** CRI ImageStatus: `image` is null when the store has none by that name. */
  imageStatus(params: { image: { image: string } }): Promise<{ image: ImageView | null }>;
  /** CRI RemoveImage: an unknown image is removed already; one a container uses is refused. */
  removeImage(params: { image: { image: string } }): Promise<void>;
  imageFsInfo(): Promise<{ imageFilesystems: ImageFilesystemUsage[] }>;
  /** Loads the images of an OCI layout or archive on the daemon's machine (`podvisor image load`). */
  loadImage(params: { path: string; name?: string }): Promise<{ images: ImageView[] }>;
  /** Runs a command in a running container (CRI `ExecSync`); UNIMPLEMENTED when the backend cannot. */
  execSync?(id: string, command: string[], options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<{ stdout: string; stderr: string; exitCode: number; timedOut: boolean }>;
  /** Whether pods get a network (CRI `Status`'s NetworkReady), and why not. */
  networkStatus?(): Promise<NetworkStatus> | NetworkStatus;
}

/** Whether pods get a network; when not, a CRI reason (`NetworkPluginNotReady`) and a message. */
export interface NetworkStatus {
  ready: boolean;
  reason?: string;
  message?: string;
}

