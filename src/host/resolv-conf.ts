/**
 * A sandbox's `resolv.conf`, written once into its folder under the daemon's root when it runs, and
 * bound read-only on `/etc/resolv.conf` into each of its containers that has a root of its own
 * (supervisor/container-spec.ts). As CRI-O and containerd do: from the pod's DNS config when it names
 * anything (`search`, then `nameserver` lines, then `options`), else a copy of the host's
 * `/etc/resolv.conf` as it is at the sandbox's start. The config was checked already
 * (src/api/dns-config-schema.ts): every value is one word.
 */
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { getLogger } from "../log/logger.ts";
import type { DnsConfig } from "../state/records.ts";

const log = getLogger("host:resolv-conf");

export const hostResolvConf = "/etc/resolv.conf";

/** The file's text for a DNS config that names something; `undefined` when it names nothing. */
export function resolvConfText(config: DnsConfig | undefined): string | undefined {
  const servers = config?.servers ?? [];
  const searches = config?.searches ?? [];
  const options = config?.options ?? [];
  if (servers.length + searches.length + options.length === 0) return undefined;
  const lines = [
    ...(searches.length > 0 ? [`search ${searches.join(" ")}`] : []),
    ...servers.map((server) => `nameserver ${server}`),
    ...(options.length > 0 ? [`options ${options.join(" ")}`] : []),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * Writes `<sandboxDir>/resolv.conf` (mode 0644) and returns its path. Without a DNS config that
 * names anything, the host's file is copied; a host without one gives an empty file (the
 * resolver's defaults: a server on the container's own loopback), said in the log.
 *
 * @example
 * await writeResolvConf("/var/lib/podvisor/sandboxes/abc", { servers: ["10.96.0.10"], searches: ["svc.cluster.local"], options: ["ndots:5"] });
 */
export async function writeResolvConf(sandboxDir: string, config: DnsConfig | undefined, options: { hostFile?: string } = {}): Promise<string> {
  const path = join(sandboxDir, "resolv.conf");
  const text = resolvConfText(config);
  if (text !== undefined) {
    await writeFile(path, text, { mode: 0o644 });
    return path;
  }
  const hostFile = options.hostFile ?? hostResolvConf;
  try {
    await copyFile(hostFile, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    log.warn("The host has no resolv.conf to copy: the sandbox's containers get an empty one", { hostFile });
    await writeFile(path, "", { mode: 0o644 });
  }
  return path;
}
