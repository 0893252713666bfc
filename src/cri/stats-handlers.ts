/** RuntimeService's stats calls, from the cgroups (`cgroup-stats.ts`). */
import type { ContainerStatus, PodSandboxStatus } from "../api/api-types.ts";
import { readCgroupUsage, sumUsage } from "./cgroup-stats.ts";
import type { CgroupUsage } from "./cgroup-stats.ts";
import { CriError } from "./cri-errors.ts";
import { nanos, sub } from "./cri-message.ts";
import type { Message } from "./cri-message.ts";
import type { CriContext, Handler } from "./cri-service.ts";
import { containerMetadata, sandboxMetadata } from "./cri-views.ts";
import { filterContainers } from "./container-handlers.ts";
import { requiredId } from "./sandbox-handlers.ts";

const containerStats: Handler = async ({ service }, request) => {
  const id = requiredId(request.container_id, "get container stats", "container_id");
  const status = service.containerStatus(id);
  if (status.infra) throw new CriError("NOT_FOUND", `Cannot find container "${id}"`);
  return { stats: await statsOf(status) };
};

const listContainerStats: Handler = async ({ service }, request) => {
  const statuses = filterContainers(service.listContainers(), sub(request, "filter")).filter((status) => status.state !== "exited");
  return { stats: await Promise.all(statuses.map(statsOf)) };
};

const podSandboxStats: Handler = async (context, request) => {
  const id = requiredId(request.pod_sandbox_id, "get pod sandbox stats", "pod_sandbox_id");
  return { stats: await sandboxStats(context, context.service.podSandboxStatus(id)) };
};

const listPodSandboxStats: Handler = async (context, request) => {
  const filter = sub(request, "filter");
  const sandboxes = context.service.listPodSandbox({ state: "ready", id: filter.id, labelSelector: filter.label_selector ?? undefined });
  return { stats: await Promise.all(sandboxes.map((status) => sandboxStats(context, status))) };
};

/** A sandbox's use is its containers' (the infra one's too): measured the same way on every host. */
async function sandboxStats({ service }: CriContext, status: PodSandboxStatus): Promise<Message> {
  const containers = service.listContainers({ podSandboxId: status.id }).filter((entry) => entry.state === "running");
  const usages = (await Promise.all(containers.map((entry) => readCgroupUsage(entry.cgroupPath)))).filter((usage) => usage !== undefined);
  const total = sumUsage(usages);
  return {
    attributes: { id: status.id, metadata: sandboxMetadata(status), labels: status.labels, annotations: status.annotations },
    linux: {
      cpu: cpu(total),
      memory: memory(total),
      process: { timestamp: nanos(total.timestamp), process_count: { value: total.processCount } },
      containers: await Promise.all(containers.filter((entry) => !entry.infra).map(statsOf)),
    },
  };
}

async function statsOf(status: ContainerStatus): Promise<Message> {
  const usage = await readCgroupUsage(status.cgroupPath);
  return {
    attributes: { id: status.id, metadata: containerMetadata(status), labels: status.labels ?? {}, annotations: status.annotations ?? {} },
    ...(usage === undefined ? {} : { cpu: cpu(usage), memory: memory(usage) }),
  };
}

function cpu(usage: CgroupUsage): Message {
  return { timestamp: nanos(usage.timestamp), ...(usage.cpuUsageNanos === undefined ? {} : { usage_core_nano_seconds: { value: usage.cpuUsageNanos } }) };
}

function memory(usage: CgroupUsage): Message {
  return {
    timestamp: nanos(usage.timestamp),
    ...(usage.memoryWorkingSetBytes === undefined ? {} : { working_set_bytes: { value: usage.memoryWorkingSetBytes } }),
    ...(usage.memoryUsageBytes === undefined ? {} : { usage_bytes: { value: usage.memoryUsageBytes } }),
    ...(usage.memoryLimitBytes === undefined || usage.memoryWorkingSetBytes === undefined
      ? {}
      : { available_bytes: { value: Math.max(0, usage.memoryLimitBytes - usage.memoryWorkingSetBytes) } }),
  };
}

export const statsHandlers: Record<string, Handler> = {
  ContainerStats: containerStats,
  ListContainerStats: listContainerStats,
  PodSandboxStats: podSandboxStats,
  ListPodSandboxStats: listPodSandboxStats,
};
