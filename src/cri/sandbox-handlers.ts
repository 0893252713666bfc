/** RuntimeService's pod sandbox calls. */
import { isWellFormedId } from "../state/ids.ts";
import { getLogger } from "../log/logger.ts";
import { CriError, isNotFound } from "./cri-errors.ts";
import { nanos, sub } from "./cri-message.ts";
import type { CriContext, Handler } from "./cri-service.ts";
import { podSandbox, podSandboxStatus } from "./cri-views.ts";
import { sandboxConfigFromCri } from "./sandbox-config.ts";
import { stopBudget } from "./stop-budget.ts";

const log = getLogger("cri");

const runPodSandbox: Handler = async ({ service }, request) => {
  const config = sandboxConfigFromCri(request, service.backendName);
  const id = await service.runPodSandbox(config);
  if (config.warnings !== undefined) log.warn("Pod sandbox runs without some of what it asked for", { podSandboxId: id, warnings: config.warnings });
  return { pod_sandbox_id: id };
};

/** Its budget from the call's deadline when it has one (as CRI-O's since 1.32), else the daemon's default; gone already is success. */
const stopPodSandbox: Handler = async ({ service }, request, call) => {
  const id = requiredId(request.pod_sandbox_id, "stop pod sandbox", "pod_sandbox_id");
  if (!couldExist(id)) return {};
  try {
    await service.stopPodSandbox(id, stopBudget(call.getDeadline()));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return {};
};

/** A ready sandbox is stopped first, at once (the CRI's rule); gone already is success. */
const removePodSandbox: Handler = async ({ service }, request) => {
  const id = requiredId(request.pod_sandbox_id, "remove pod sandbox", "pod_sandbox_id");
  if (!couldExist(id)) return {};
  try {
    if (service.podSandboxStatus(id).state === "ready") await service.stopPodSandbox(id, { timeoutMs: 0 });
    await service.removePodSandbox(id);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return {};
};

const podSandboxStatusHandler: Handler = ({ service }, request) => {
  const id = requiredId(request.pod_sandbox_id, "get pod sandbox status", "pod_sandbox_id");
  const status = service.podSandboxStatus(id);
  return {
    status: podSandboxStatus(status, service.backendName),
    info: request.verbose === true ? { info: JSON.stringify(status) } : {},
    containers_statuses: [],
    timestamp: nanos(Date.now()),
  };
};

const listPodSandbox: Handler = ({ service }, request) => {
  const filter = sub(request, "filter");
  const state = filter.state === null || filter.state === undefined ? undefined : filter.state.state === "SANDBOX_READY" ? "ready" : "stopped";
  const items = service.listPodSandbox({ state, id: filter.id, labelSelector: filter.label_selector ?? undefined }).map(podSandbox);
  return { items };
};

/**
 * Whether `id` could be one podvisor made. The CRI's idempotence rule (a stop or remove of what is
 * gone is success) covers ids of any form — kubelet and critest ask for UUIDs that never existed —
 * so those calls answer success for an id podvisor could never have made, where the JSON-RPC API
 * answers INVALID_ARGUMENT (SEMANTICS.md row 2).
 */
export function couldExist(id: string): boolean {
  return isWellFormedId(id);
}

export function requiredId(value: unknown, action: string, field: string): string {
  if (typeof value !== "string" || value === "") throw new CriError("INVALID_ARGUMENT", `Cannot ${action}: ${field} is empty`);
  return value;
}

export const sandboxHandlers: Record<string, Handler> = {
  RunPodSandbox: runPodSandbox,
  StopPodSandbox: stopPodSandbox,
  RemovePodSandbox: removePodSandbox,
  PodSandboxStatus: podSandboxStatusHandler,
  ListPodSandbox: listPodSandbox,
};

export type { CriContext };
