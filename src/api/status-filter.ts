/**
 * The one filter of sandbox and container lists, as the CRI defines it: by id and owning sandbox
 * (whole or a prefix, as crictl passes them; ids have one length, so a whole id matches only
 * itself), state, name, and a label selector (every pair must match). Used by the API thread's
 * copy, the supervisor and the CRI endpoint alike.
 */
import type { ContainerStatus, PodSandboxStatus } from "./api-types.ts";

export interface SandboxFilter {
  id?: string;
  state?: PodSandboxStatus["state"];
  name?: string;
  labelSelector?: Record<string, string>;
}

export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerStatus["state"];
  name?: string;
  labelSelector?: Record<string, string>;
}

export function sandboxMatches(status: PodSandboxStatus, filter: SandboxFilter = {}): boolean {
  return common(status, filter) && (filter.state === undefined || status.state === filter.state);
}

export function containerMatches(status: ContainerStatus, filter: ContainerFilter = {}): boolean {
  return (
    common(status, filter) &&
    (filter.state === undefined || status.state === filter.state) &&
    (filter.podSandboxId === undefined || filter.podSandboxId === "" || status.podSandboxId.startsWith(filter.podSandboxId))
  );
}

function common(status: { id: string; name: string; labels?: Record<string, string> }, filter: { id?: string; name?: string; labelSelector?: Record<string, string> }): boolean {
  if (filter.id !== undefined && filter.id !== "" && !status.id.startsWith(filter.id)) return false;
  if (filter.name !== undefined && status.name !== filter.name) return false;
  if (filter.labelSelector === undefined) return true;
  const labels = status.labels ?? {};
  return Object.entries(filter.labelSelector).every(([key, value]) => labels[key] === value);
}
