/**
 * The shapes of the API's params and results that clients read (docs/API.md has them all). The
 * daemon's status views and the CLI both use these, so the two cannot drift apart.
 */
import type { ContainerRecord, SandboxRecord } from "../state/records.ts";

export type { ContainerConfig, SandboxConfig } from "../state/records.ts";

/** `PodSandboxStatus`'s `status`, and each item of `ListPodSandbox`. */
export type PodSandboxStatus = Omit<SandboxRecord, "dir" | "netnsName">;

/** `ContainerStatus`'s `status`, and each item of `ListContainers` (`infra` marks the pause container). */
export type ContainerStatus = Omit<ContainerRecord, "sandboxId" | "dir"> & { podSandboxId: string };

/** One sandbox's outcome in `StopPodSandboxes`. */
export interface SandboxStopResult {
  podSandboxId: string;
  ok: boolean;
  error?: { code: string; message: string; details?: unknown };
  durationMs: number;
  phases: Record<string, number>;
  warnings?: string[];
}
