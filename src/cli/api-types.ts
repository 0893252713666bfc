/**
 * The parts of the API's answers the client reads (docs/API.md has them all). Declared here so that
 * the client depends on the protocol only, not on the daemon's code.
 */
export interface SandboxStatus {
  id: string;
  name: string;
  state: "ready" | "stopped";
  createdAt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  hostNetwork: boolean;
  hostIpc: boolean;
  stoppedAt?: number;
}

export interface ContainerStatus {
  id: string;
  podSandboxId: string;
  name: string;
  /** The sandbox's infra (pause) container; `ps` does not show it, as crictl does not. */
  infra: boolean;
  state: "created" | "running" | "exited";
  createdAt: number;
  pid?: number;
  exitCode?: number;
  signal?: string;
  reason?: string;
}

export interface SandboxConfig {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  hostNetwork?: boolean;
  hostIpc?: boolean;
}

export interface ContainerConfig {
  name: string;
  command: string[];
  env?: Record<string, string>;
  cwd?: string;
  stopSignal?: string;
  rootfs?: string;
}
