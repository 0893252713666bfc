import { fromErrorData } from "../errors/coded-error.ts";
import type { ContainerFilter, SandboxFilter } from "./status-filter.ts";
import type { BridgedMethod, ServiceBridge } from "./api-thread.ts";
import type { HostCheckReport, ImageFilesystemUsage, ImageView, SandboxStopResult } from "./api-types.ts";
import type { BatchStopOptions, PodService, StopRequestOptions } from "./pod-service.ts";
import type { StatusReplica } from "./status-replica.ts";

type Hooks = Record<string, (value: never) => void>;

/**
 * The daemon's verbs as the API thread sees them: status and list from its copy of the records,
 * everything else by a call to the main thread, answered once the copy has caught up with it (so
 * a client reads its own writes). A call's progress hooks come back over the feed (`hook`).
 */
export class RemotePodService implements PodService {
  #replica: StatusReplica;
  #bridge: ServiceBridge;
  #nextCallId = 1;
  #hooks = new Map<number, Hooks>();

  constructor(replica: StatusReplica, bridge: ServiceBridge) {
    this.#replica = replica;
    this.#bridge = bridge;
  }

  /** Calls a hook of a call still in progress; a late one (its call has answered) is dropped. */
  hook(callId: number, name: string, value: unknown): void {
    this.#hooks.get(callId)?.[name]?.(value as never);
  }

  async #call<T>(method: BridgedMethod, args: unknown[]): Promise<T> {
    const options = args.at(-1) as Record<string, unknown> | undefined;
    const names = options === undefined || typeof options !== "object" ? [] : Object.keys(options).filter((key) => typeof options[key] === "function");
    let hooks: { callId: number; names: string[] } | undefined;
    if (names.length > 0) {
      hooks = { callId: this.#nextCallId++, names };
      this.#hooks.set(hooks.callId, Object.fromEntries(names.map((name) => [name, options?.[name]])) as Hooks);
      args = [...args.slice(0, -1), Object.fromEntries(Object.entries(options ?? {}).filter(([key]) => !names.includes(key)))];
    }
    try {
      const result = await this.#bridge.call(method, args, hooks);
      await this.#replica.whenAt(result.seq);
      if (!result.ok) throw fromErrorData(result.error);
      return result.value as T;
    } finally {
      if (hooks !== undefined) this.#hooks.delete(hooks.callId);
    }
  }

  runPodSandbox(config: unknown): Promise<string> {
    return this.#call("runPodSandbox", [config]);
  }

  stopPodSandbox(id: string, options?: StopRequestOptions): Promise<unknown> {
    return this.#call("stopPodSandbox", [id, options ?? {}]);
  }

  removePodSandbox(id: string): Promise<void> {
    return this.#call("removePodSandbox", [id]);
  }

  createContainer(sandboxId: string, config: unknown): Promise<string> {
    return this.#call("createContainer", [sandboxId, config]);
  }

  startContainer(id: string): Promise<void> {
    return this.#call("startContainer", [id]);
  }

  stopContainer(id: string, options?: StopRequestOptions): Promise<void> {
    return this.#call("stopContainer", [id, options ?? {}]);
  }

  removeContainer(id: string): Promise<void> {
    return this.#call("removeContainer", [id]);
  }

  stopPodSandboxes(target: { ids: string[] } | { all: true }, options?: BatchStopOptions): Promise<SandboxStopResult[]> {
    return this.#call("stopPodSandboxes", [target, options ?? {}]);
  }

  /**
   * One scrape at a time: the requests that come while one is in flight share its text (a client
   * pipelining thousands of Metrics requests costs one exposition per round, not one each).
   */
  metricsText(): Promise<string> {
    this.#metricsText ??= this.#call<string>("metricsText", []).finally(() => {
      this.#metricsText = undefined;
    });
    return this.#metricsText;
  }

  #metricsText: Promise<string> | undefined;

  checkHost(options?: { repair?: boolean }): Promise<HostCheckReport> {
    return this.#call("checkHost", [options ?? {}]);
  }

  pullImage(params: { image: { image: string }; auth?: object }, options?: { onProgress?: (progress: { doneBytes: number; totalBytes: number }) => void }): Promise<{ imageRef: string }> {
    return this.#call("pullImage", [params, options ?? {}]);
  }

  listImages(params?: { filter?: { image?: { image: string } } }): Promise<{ images: ImageView[] }> {
    return this.#call("listImages", [params ?? {}]);
  }

  imageStatus(params: { image: { image: string } }): Promise<{ image: ImageView | null }> {
    return this.#call("imageStatus", [params]);
  }

  removeImage(params: { image: { image: string } }): Promise<void> {
    return this.#call("removeImage", [params]);
  }

  imageFsInfo(): Promise<{ imageFilesystems: ImageFilesystemUsage[] }> {
    return this.#call("imageFsInfo", []);
  }

  loadImage(params: { path: string; name?: string }): Promise<{ images: ImageView[] }> {
    return this.#call("loadImage", [params]);
  }

  podSandboxStatus(id: string): object {
    return this.#replica.podSandboxStatus(id);
  }

  listPodSandbox(filter?: SandboxFilter): object[] {
    return this.#replica.listPodSandbox(filter);
  }

  containerStatus(id: string): object {
    return this.#replica.containerStatus(id);
  }

  listContainers(filter?: ContainerFilter): object[] {
    return this.#replica.listContainers(filter);
  }
}
