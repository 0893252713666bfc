/** What the daemon says at start about its pod network: which one, from where, or "none". */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { getLogger } from "../log/logger.ts";
import { loadNetworkConfig } from "./cni-config.ts";

const log = getLogger("network:cni");

/** The defaults of `--cni-conf-dir` and `--cni-bin-dir`, as kubelet's runtimes have them on Debian. */
export const defaultCniConfDir = "/etc/cni/net.d";
export const defaultCniBinDirs = ["/usr/lib/cni"];

/**
 * Logs the pod network sandboxes will get: the conf dir's first network with its plugins (a
 * plugin missing from the bin dirs is a warning: every ADD would fail), or network "none". Never
 * throws: a broken conf file is logged as an error, and each RunPodSandbox then fails saying why.
 *
 * @example
 * await logPodNetwork({ confDir: "/etc/cni/net.d", binDirs: ["/usr/lib/cni"] });
 */
export async function logPodNetwork(options: { confDir: string; binDirs: string[] } | undefined): Promise<void> {
  if (options === undefined) {
    log.info("CNI is off: sandboxes get network \"none\" (loopback only)");
    return;
  }
  try {
    const loaded = await loadNetworkConfig(options.confDir);
    if (loaded === undefined) {
      log.info("No CNI network configured: sandboxes get network \"none\" (loopback only)", { confDir: options.confDir });
      return;
    }
    const plugins = loaded.configList.plugins.map((plugin) => plugin.type);
    const missing: string[] = [];
    for (const plugin of plugins) if (!(await isInBinDirs(plugin, options.binDirs))) missing.push(plugin);
    log.info("Pod network", { network: loaded.configList.name, source: loaded.source, plugins, binDirs: options.binDirs });
    if (missing.length > 0) log.warn("CNI plugins missing from the bin dirs: every RunPodSandbox will fail until they are there", { missing, binDirs: options.binDirs });
  } catch (error) {
    log.error("Cannot use the CNI configuration: every RunPodSandbox will fail until it is fixed", { confDir: options.confDir, error: (error as Error).message });
  }
}

async function isInBinDirs(plugin: string, binDirs: string[]): Promise<boolean> {
  for (const dir of binDirs) {
    if (await access(join(dir, plugin), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}
