/**
 * The pod network: attaching a sandbox's namespace to the CNI network of the conf dir (ADD: each
 * plugin of the list in order, each given the one before's result) and detaching it (DEL: in
 * reverse, with the configuration and result its ADD stored), each plugin bounded by a deadline.
 * ADDs and DELs run under a concurrency limit of their own, so a stop of thousands neither forks
 * thousands of plugins at once nor waits behind other host work.
 */
import { statfs } from "node:fs/promises";
import { CodedError } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import type { SandboxNetwork } from "../state/records.ts";
import { CniCache } from "./cni-cache.ts";
import { loadNetworkConfig } from "./cni-config.ts";
import type { LoadedNetworkConfig } from "./cni-config.ts";
import { invokePlugin } from "./cni-invoke.ts";
import type { CniConfigList, CniResult } from "./cni-types.ts";
import { networkAddresses } from "./network-status.ts";
import { Limiter } from "../host/host-batcher.ts";

const log = getLogger("network:cni");

/** How podvisor finds its network: `--cni-conf-dir`, `--cni-bin-dir`. */
export interface PodNetworkOptions {
  confDir: string;
  binDirs: string[];
  /** Where the cache of attachments begun lives: `<root>/cni`. */
  cacheDir: string;
  /** Plugins run at once, at most; default 16. */
  concurrency?: number;
  /** How long one plugin may run when the caller's deadline is nearer (or passed); default 10 s. */
  pluginTimeoutMs?: number;
}

/** What a plugin call is bounded by. */
export interface NetworkCallOptions {
  /** The caller's deadline; each plugin gets at least `pluginTimeoutMs` from when it starts. */
  deadlineAt?: number;
  signal?: AbortSignal;
}

/** The interface podvisor adds in every sandbox. */
export const podInterface = "eth0";
export const defaultPluginTimeoutMs = 10_000;
export const defaultNetworkConcurrency = 16;

/** Who is attached: CNI_CONTAINERID (podvisor uses the netns name) and the namespace file. */
export interface AttachTarget {
  containerId: string;
  netns: string;
  /** The pod's name, passed as K8S_POD_NAME when it is a plain name. */
  podName?: string;
}

export class PodNetwork {
  readonly options: Readonly<PodNetworkOptions>;
  readonly cache: CniCache;
  readonly #limiter: Limiter;

  constructor(options: PodNetworkOptions) {
    this.options = options;
    this.cache = new CniCache(options.cacheDir);
    this.#limiter = new Limiter(options.concurrency ?? defaultNetworkConcurrency);
  }

  /** The conf dir's network now (read afresh), or undefined: network "none". */
  current(): Promise<LoadedNetworkConfig | undefined> {
    return loadNetworkConfig(this.options.confDir);
  }

  /**
   * Attaches the namespace to the conf dir's network; undefined when there is none. A failed ADD
   * is undone (DEL of the whole list) before it rejects with the plugin's error; if the undo fails
   * too, the cache entry stays for the leak check, and the error says so.
   */
  async attach(target: AttachTarget, options: NetworkCallOptions = {}): Promise<SandboxNetwork | undefined> {
    const loaded = await this.current();
    if (loaded === undefined) return undefined;
    const { configList, source } = loaded;
    const startedAt = performance.now();
    await this.cache.write({ containerId: target.containerId, ifName: podInterface, netns: target.netns, source, config: configList, createdAt: Date.now() });
    let result: CniResult | undefined;
    try {
      for (const plugin of configList.plugins) {
        const config = { ...plugin, name: configList.name, cniVersion: configList.cniVersion, ...(result === undefined ? {} : { prevResult: result }) };
        result = await this.#invoke(plugin.type, "ADD", target, config, options);
      }
    } catch (error) {
      const undo = await this.detach({ containerId: target.containerId, ifName: podInterface, config: configList, result }, target.netns, options).then(
        () => undefined,
        (undoError: unknown) => undoError as Error,
      );
      if (undo !== undefined) log.error("Cannot undo a failed CNI ADD; the leak check retries the DEL", { containerId: target.containerId, error: undo.message });
      const code = (error as { code?: string }).code ?? "INTERNAL";
      const suffix = undo === undefined ? "" : `; its undo failed too (${undo.message}), the leak check retries it`;
      throw new CodedError(code, `Cannot attach the pod to network ${configList.name} (${source}): ${(error as Error).message}${suffix}`, {
        cause: error,
        details: { network: configList.name, source, ...(error as { details?: object }).details },
      });
    }
    if (result === undefined) throw new CodedError("INTERNAL", `Cannot attach the pod to network ${configList.name}: no plugin gave a result`);
    log.debug("Attached pod network", { containerId: target.containerId, network: configList.name, durationMs: Math.round(performance.now() - startedAt) });
    return { name: configList.name, source, containerId: target.containerId, ifName: podInterface, config: configList, result, ...networkAddresses(result) };
  }

  /**
   * Detaches an attachment: DEL of each plugin in reverse order, with its stored configuration and
   * result. The namespace may be gone already (its file too, or only what was mounted on it):
   * CNI_NETNS is then empty, and the plugins free what they hold on the host (host-local its
   * address). Its cache entry goes once DEL succeeded.
   */
  async detach(attachment: Pick<SandboxNetwork, "containerId" | "ifName"> & { config: Record<string, unknown>; result?: Record<string, unknown> }, netns: string, options: NetworkCallOptions = {}): Promise<void> {
    const configList = attachment.config as CniConfigList;
    const netnsNow = await joinableNetns(netns);
    const target: AttachTarget = { containerId: attachment.containerId, netns: netnsNow };
    const startedAt = performance.now();
    for (const plugin of [...configList.plugins].reverse()) {
      const config = { ...plugin, name: configList.name, cniVersion: configList.cniVersion, ...(attachment.result === undefined ? {} : { prevResult: attachment.result }) };
      await this.#invoke(plugin.type, "DEL", target, config, options, attachment.ifName);
    }
    await this.cache.remove(attachment.containerId);
    log.debug("Detached pod network", { containerId: attachment.containerId, network: configList.name, netnsGone: netnsNow === "", durationMs: Math.round(performance.now() - startedAt) });
  }

  #invoke(type: string, command: "ADD" | "DEL", target: AttachTarget, config: Record<string, unknown>, options: NetworkCallOptions, ifName = podInterface): Promise<CniResult | undefined> {
    return this.#limiter.run(() => {
      const floorAt = Date.now() + (this.options.pluginTimeoutMs ?? defaultPluginTimeoutMs);
      const deadlineAt = Math.max(options.deadlineAt ?? floorAt, floorAt);
      return invokePlugin(type, { command, containerId: target.containerId, netns: target.netns, ifName, args: cniArgs(target), config }, { binDirs: this.options.binDirs, deadlineAt, signal: options.signal });
    });
  }
}

/** NSFS_MAGIC: what statfs says of a file a network namespace is mounted on. */
const nsfsMagic = 0x6e736673;

/**
 * The namespace file if a namespace is mounted on it, else "": a file left with nothing mounted on
 * it (a namespace half made or half removed) makes the bridge plugin fail ("unknown FS magic").
 */
async function joinableNetns(path: string): Promise<string> {
  if (path === "") return "";
  try {
    return (await statfs(path)).type === nsfsMagic ? path : "";
  } catch {
    return "";
  }
}

function cniArgs(target: AttachTarget): string {
  const args = ["IgnoreUnknown=1", `K8S_POD_INFRA_CONTAINER_ID=${target.containerId}`];
  if (target.podName !== undefined && /^[A-Za-z0-9._-]{1,253}$/.test(target.podName)) args.push(`K8S_POD_NAME=${target.podName}`);
  return args.join(";");
}
