/**
 * What the API needs from the daemon: the supervisor's verbs. Declared here so that the API does
 * not depend on the actors (the daemon hands it the supervisor, which has this shape).
 */
import type { HostCheckReport, SandboxStopResult } from "./api-types.ts";

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
  listPodSandbox(filter?: { state?: "ready" | "stopped" }): object[];
  createContainer(sandboxId: string, config: unknown): Promise<string>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, options?: StopRequestOptions): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerStatus(id: string): object;
  listContainers(filter?: { podSandboxId?: string; state?: "created" | "running" | "exited" }): object[];
  stopPodSandboxes(
    target: { ids: string[] } | { all: true },
    options?: BatchStopOptions,
  ): Promise<SandboxStopResult[]>;
  metricsText(): Promise<string>;
  /** The leak check: the host against the records; with `repair`, what no record owns is removed. */
  checkHost(options?: { repair?: boolean }): Promise<HostCheckReport>;
}

