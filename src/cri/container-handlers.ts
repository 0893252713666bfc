import { mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
/** RuntimeService's container calls. The infra (pause) container is podvisor's own: the CRI never sees it. */
import type { ContainerStatus } from "../api/api-types.ts";
import { getLogger } from "../log/logger.ts";
import { bindMountsFromCri } from "./bind-mounts.ts";
import { readLimits, writeLimits } from "./cgroup-limits.ts";
import { containerConfigFromCri, resourcesFromCri } from "./container-config.ts";
import { controllersAvailable } from "./cgroup-controllers.ts";
import { CriError, isNotFound } from "./cri-errors.ts";
import { containerMatches } from "../api/status-filter.ts";
import { sub } from "./cri-message.ts";
import type { CriContext, Handler } from "./cri-service.ts";
import { container, containerStatus } from "./cri-views.ts";
import { couldExist, requiredId } from "./sandbox-handlers.ts";

const log = getLogger("cri");
const stateNames = { CONTAINER_CREATED: "created", CONTAINER_RUNNING: "running", CONTAINER_EXITED: "exited" } as const;

const createContainer: Handler = async ({ service }, request) => {
  const sandboxId = requiredId(request.pod_sandbox_id, "create container", "pod_sandbox_id");
  const sandbox = service.podSandboxStatus(sandboxId);
  const config = containerConfigFromCri(sub(request, "config"), sandbox, service.backendName);
  const { mounts, warnings: mountWarnings } = await bindMountsFromCri(sub(request, "config").mounts);
  if (mountWarnings.length > 0) config.warnings = [...(config.warnings ?? []), ...mountWarnings];
  // The backend binds them: the process backend beneath the container's overlay, the OCI backends from the bundle.
  if (mounts.length > 0) config.mounts = mounts;
  // Limits the host cannot take are said (a warning), not refused: kubelet sends cpu shares with every container.
  if (config.resources !== undefined && Object.keys(config.resources).length > 0 && !(await controllersAvailable(sandbox.cgroupPath, config.resources))) {
    config.warnings = [...(config.warnings ?? []), "linux.resources: not applied (this host's cgroup v2 has no cpu or memory controller for podvisor's cgroups)"];
    delete config.resources;
  }
  const id = await service.createContainer(sandboxId, config);
  try {
    if (config.resources !== undefined && Object.keys(config.resources).length > 0) await writeLimits(service.containerStatus(id).cgroupPath, config.resources, "create container");
  } catch (error) {
    await service.removeContainer(id).catch((cleanup: unknown) => log.warn("Cannot remove a container whose limits or mounts failed", { containerId: id, error: cleanup }));
    throw error;
  }
  if (config.warnings !== undefined) log.warn("Container runs without some of what it asked for", { containerId: id, warnings: config.warnings });
  return { container_id: id };
};

const startContainer: Handler = async ({ service, logs }, request) => {
  const id = requiredId(request.container_id, "start container", "container_id");
  visible(service.containerStatus(id));
  await service.startContainer(id);
  const started = service.containerStatus(id);
  // The CRI log exists once the container runs, as conmon makes it for CRI-O: a reader may open it at once.
  if (started.criLogPath !== undefined) {
    await mkdir(dirname(started.criLogPath), { recursive: true });
    await (await open(started.criLogPath, "a", 0o640)).close();
  }
  logs.follow(started);
  return {};
};

/** `timeout` seconds (0: kill at once); gone already is success. */
const stopContainer: Handler = async ({ service }, request) => {
  const id = requiredId(request.container_id, "stop container", "container_id");
  const timeout = Number(request.timeout ?? 0);
  if (!Number.isSafeInteger(timeout) || timeout < 0 || timeout > 86_400) throw new CriError("INVALID_ARGUMENT", "Cannot stop container: timeout must be 0 to 86400 seconds");
  if (!couldExist(id)) return {};
  try {
    await service.stopContainer(id, { timeoutMs: timeout * 1_000 });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return {};
};

/** A running container is killed first (the CRI's rule); gone already is success. */
const removeContainer: Handler = async ({ service }, request) => {
  const id = requiredId(request.container_id, "remove container", "container_id");
  if (!couldExist(id)) return {};
  try {
    if (visible(service.containerStatus(id)).state === "running") await service.stopContainer(id, { timeoutMs: 0 });
    await service.removeContainer(id);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return {};
};

const containerStatusHandler: Handler = async ({ service }, request) => {
  const id = requiredId(request.container_id, "get container status", "container_id");
  const status = visible(service.containerStatus(id));
  const resources = (await readLimits(status.cgroupPath)) ?? criResources(status);
  const view = containerStatus(status, resources);
  // kubelet takes image_ref as the image's id (its config's digest) when the store knows it.
  const imageId = await storedImageId(service, status.image);
  if (imageId !== undefined) Object.assign(view, { image_ref: imageId, image_id: imageId });
  return { status: view, info: request.verbose === true ? { info: JSON.stringify(status) } : {} };
};

const listContainers: Handler = ({ service }, request) => {
  return { containers: filterContainers(service.listContainers(), sub(request, "filter")).map(container) };
};

/** CRI's ContainerFilter (and ContainerStatsFilter): id and pod prefixes, state, labels; never the infra container. */
export function filterContainers(statuses: ContainerStatus[], filter: Record<string, any>): ContainerStatus[] {
  const state = filter.state === null || filter.state === undefined ? undefined : stateNames[filter.state.state as keyof typeof stateNames];
  const wanted = { id: filter.id, podSandboxId: filter.pod_sandbox_id, state, labelSelector: filter.label_selector ?? undefined };
  return statuses.filter((status) => !status.infra && containerMatches(status, wanted));
}

const updateContainerResources: Handler = async ({ service }, request) => {
  const id = requiredId(request.container_id, "update container resources", "container_id");
  const status = visible(service.containerStatus(id));
  if (status.state === "exited") throw new CriError("FAILED_PRECONDITION", `Cannot update container resources: container ${id} is exited`);
  const { resources, ignored } = resourcesFromCri(request.linux);
  if (ignored.length > 0) throw new CriError("INVALID_ARGUMENT", `Cannot update container resources: ${ignored.join("; ")}`);
  if (resources !== undefined) await writeLimits(status.cgroupPath, resources, "update container resources");
  return {};
};

/** The CRI log is opened for every write (`cri-log.ts`): a rotated file is followed by a new one at once. */
/**
 * The CRI log is appended by path at every write (`cri-log.ts`), so a log rotated away is followed by
 * a new file at the path anyway; reopening makes that file at once, as a rotating kubelet expects.
 */
const reopenContainerLog: Handler = async ({ service }, request) => {
  const id = requiredId(request.container_id, "reopen container log", "container_id");
  const status = visible(service.containerStatus(id));
  if (status.state !== "running") throw new CriError("FAILED_PRECONDITION", `Cannot reopen container log: container ${id} is ${status.state}`);
  if (status.criLogPath !== undefined) await (await open(status.criLogPath, "a", 0o640)).close();
  return {};
};

/** The infra container is the sandbox's, not the client's: NOT_FOUND, as for any id the CRI never made. */
export function visible(status: ContainerStatus): ContainerStatus {
  if (status.infra) throw new CriError("NOT_FOUND", `Cannot find container "${status.id}"`);
  return status;
}

async function storedImageId(service: CriContext["service"], image: string | undefined): Promise<string | undefined> {
  const imageStatus = (service as { imageStatus?: (params: { image: { image: string } }) => Promise<{ image: { id: string } | null }> }).imageStatus;
  if (image === undefined || image.startsWith("/") || typeof imageStatus !== "function") return undefined;
  const { image: found } = await imageStatus.call(service, { image: { image } }).catch(() => ({ image: null }));
  return found?.id;
}

function criResources(status: ContainerStatus): Record<string, number> | undefined {
  const { resources } = status;
  if (resources === undefined) return undefined;
  return { cpu_period: resources.cpuPeriod ?? 0, cpu_quota: resources.cpuQuota ?? 0, cpu_shares: resources.cpuShares ?? 0, memory_limit_in_bytes: resources.memoryLimitInBytes ?? 0 };
}

export const containerHandlers: Record<string, Handler> = {
  CreateContainer: createContainer,
  StartContainer: startContainer,
  StopContainer: stopContainer,
  RemoveContainer: removeContainer,
  ContainerStatus: containerStatusHandler,
  ListContainers: listContainers,
  UpdateContainerResources: updateContainerResources,
  ReopenContainerLog: reopenContainerLog,
};

export type { CriContext };
