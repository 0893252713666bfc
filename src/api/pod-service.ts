/**
 * What the API needs from the daemon: the supervisor's verbs. Declared here so that the API does
 * not depend on the actors (the daemon hands it the supervisor, which has this shape).
 */
export interface StopRequestOptions {
  timeoutMs?: number;
  deadlineAt?: number;
  onProgress?: (progress: { podSandboxId: string; phase: string }) => void;
}

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
    options?: StopRequestOptions & { onStart?: (total: number) => void; onDone?: (result: SandboxStopResult) => void },
  ): Promise<SandboxStopResult[]>;
  metricsText(): Promise<string>;
}

/** One sandbox's outcome in a batch stop. */
export interface SandboxStopResult {
  podSandboxId: string;
  ok: boolean;
  error?: { code: string; message: string; details?: unknown };
  durationMs: number;
  phases: Record<string, number>;
}
