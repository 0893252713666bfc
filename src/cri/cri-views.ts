/** podvisor's sandbox and container statuses as the CRI's messages. */
import { constants } from "node:os";
import type { ContainerStatus, PodSandboxStatus } from "../api/api-types.ts";
import { nanos } from "./cri-message.ts";
import type { Message } from "./cri-message.ts";

/** The sandbox status, with the network field the CNI work adds when it is there. */
type SandboxView = PodSandboxStatus & { network?: { ip?: string; ips?: string[] } };

export function sandboxMetadata(status: SandboxView): Message {
  return { name: status.name, uid: status.uid ?? "", namespace: status.namespace ?? "", attempt: status.attempt ?? 0 };
}

export function sandboxState(status: PodSandboxStatus): "SANDBOX_READY" | "SANDBOX_NOTREADY" {
  return status.state === "ready" ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
}

/** An item of ListPodSandbox. */
export function podSandbox(status: SandboxView): Message {
  return {
    id: status.id,
    metadata: sandboxMetadata(status),
    state: sandboxState(status),
    created_at: nanos(status.createdAt),
    labels: status.labels,
    annotations: status.annotations,
    runtime_handler: "",
  };
}

/** PodSandboxStatus's `status`: the pid namespace is the host's with the process backend, each container's own with an OCI runtime. */
export function podSandboxStatus(status: SandboxView, backend = "process"): Message {
  const ips = status.network?.ips ?? [];
  return {
    ...podSandbox(status),
    network: { ip: status.network?.ip ?? "", additional_ips: ips.filter((ip) => ip !== status.network?.ip).map((ip) => ({ ip })) },
    linux: { namespaces: { options: { network: status.hostNetwork ? "NODE" : "POD", ipc: status.hostIpc ? "NODE" : "POD", pid: backend.includes("process") ? "NODE" : "CONTAINER" } } },
  };
}

export function containerState(status: ContainerStatus): "CONTAINER_CREATED" | "CONTAINER_RUNNING" | "CONTAINER_EXITED" {
  if (status.state === "running") return "CONTAINER_RUNNING";
  return status.state === "exited" ? "CONTAINER_EXITED" : "CONTAINER_CREATED";
}

export function containerMetadata(status: ContainerStatus): Message {
  return { name: status.name, attempt: status.attempt ?? 0 };
}

/** An item of ListContainers. */
export function container(status: ContainerStatus): Message {
  return {
    id: status.id,
    pod_sandbox_id: status.podSandboxId,
    metadata: containerMetadata(status),
    image: { image: status.image ?? "" },
    image_ref: status.image ?? "",
    image_id: status.image ?? "",
    state: containerState(status),
    created_at: nanos(status.createdAt),
    labels: status.labels ?? {},
    annotations: status.annotations ?? {},
  };
}

/** ContainerStatus's `status`; `resources` are what its cgroup says now (read by the caller). */
export function containerStatus(status: ContainerStatus, resources: Message | undefined): Message {
  const exited = status.state === "exited";
  const exitCode = status.exitCode ?? (status.signal === undefined ? (exited ? -1 : 0) : 128 + signalNumber(status.signal));
  return {
    ...container(status),
    started_at: nanos(status.startedAt),
    finished_at: nanos(status.finishedAt),
    exit_code: exited ? exitCode : 0,
    reason: exited ? exitReason(status, exitCode) : "",
    message: status.message ?? (status.reason === "killed-at-deadline" ? "killed when its stop's deadline passed" : ""),
    mounts: (status.mounts ?? []).map((mount) => ({ container_path: mount.containerPath, host_path: mount.hostPath, readonly: mount.readonly, propagation: "PROPAGATION_PRIVATE" })),
    log_path: status.criLogPath ?? "",
    ...(resources === undefined ? {} : { resources: { linux: resources } }),
  };
}

/** Kubernetes' words: Completed (exit 0), Error, or podvisor's own when it is plain. */
function exitReason(status: ContainerStatus, exitCode: number): string {
  if (status.exitCodeUnknown === true) return "Unknown";
  return exitCode === 0 ? "Completed" : "Error";
}

function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name] ?? 0;
}
