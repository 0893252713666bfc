/**
 * Status and list of sandboxes and containers. They read the main thread's copy of the records
 * only: they never wait behind a stop, and never hop to a worker.
 */
import type { ContainerStatus, PodSandboxStatus } from "../src/api/api-types.ts";
import type { ContainerRecord, ContainerState, SandboxRecord, SandboxState } from "../src/state/records.ts";
import type { SupervisorContext } from "./context.ts";
import { findContainer, findSandbox } from "./lookup.ts";

export type { ContainerStatus, PodSandboxStatus };

export function podSandboxStatus(context: SupervisorContext, id: string): PodSandboxStatus {
  return sandboxStatus(findSandbox(context, id));
}

export function listPodSandbox(context: SupervisorContext, filter: { state?: SandboxState } = {}): PodSandboxStatus[] {
  return [...context.store.sandboxes.values()]
    .filter((record) => filter.state === undefined || record.state === filter.state)
    .map(sandboxStatus);
}

export function containerStatus(context: SupervisorContext, id: string): ContainerStatus {
  return containerView(findContainer(context, id));
}

export function listContainers(context: SupervisorContext, filter: { podSandboxId?: string; state?: ContainerState } = {}): ContainerStatus[] {
  return [...context.store.containers.values()]
    .filter((record) => filter.podSandboxId === undefined || record.sandboxId === filter.podSandboxId)
    .filter((record) => filter.state === undefined || record.state === filter.state)
    .map(containerView);
}

export function sandboxStatus(record: SandboxRecord): PodSandboxStatus {
  const { dir: _dir, netnsName: _netnsName, network, ...status } = record;
  if (network === undefined) return status;
  return { ...status, network: { ...(network.ip === undefined ? {} : { ip: network.ip }), ips: network.ips, interface: network.ifName } };
}

export function containerView(record: ContainerRecord): ContainerStatus {
  const { sandboxId, dir: _dir, ...status } = record;
  return { ...status, podSandboxId: sandboxId };
}
