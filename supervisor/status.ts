/**
 * Status and list of sandboxes and containers. They read the main thread's copy of the records
 * only: they never wait behind a stop, and never hop to a worker.
 */
import type { ContainerStatus, PodSandboxStatus } from "../src/api/api-types.ts";
import { containerMatches, sandboxMatches } from "../src/api/status-filter.ts";
import type { ContainerFilter, SandboxFilter } from "../src/api/status-filter.ts";
import type { ContainerRecord, SandboxRecord } from "../src/state/records.ts";
import type { SupervisorContext } from "./context.ts";
import { findContainer, findSandbox } from "./lookup.ts";

export type { ContainerStatus, PodSandboxStatus };

export function podSandboxStatus(context: SupervisorContext, id: string): PodSandboxStatus {
  return sandboxStatus(findSandbox(context, id));
}

export function listPodSandbox(context: SupervisorContext, filter: SandboxFilter = {}): PodSandboxStatus[] {
  return [...context.store.sandboxes.values()].map(sandboxStatus).filter((status) => sandboxMatches(status, filter));
}

export function containerStatus(context: SupervisorContext, id: string): ContainerStatus {
  return containerView(findContainer(context, id));
}

export function listContainers(context: SupervisorContext, filter: ContainerFilter = {}): ContainerStatus[] {
  return [...context.store.containers.values()].map(containerView).filter((status) => containerMatches(status, filter));
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
