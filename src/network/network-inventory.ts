/**
 * What lies on the host of the CNI networks podvisor used, read for the leak check: host-local's
 * address reservations (`<dataDir>/<network>/<ip>`, each file holding the container id it was
 * reserved for) and the veths on the networks' bridges. Only what carries this daemon's names is
 * listed — a reservation for a container id `pv-<tag>-…`, a veth whose peer is in a namespace
 * `pv-<tag>-…` or whose name a record holds — so another runtime's pods on the same network are
 * never taken for leaks. Reading only.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { toErrorData } from "../errors/coded-error.ts";
import type { ErrorData } from "../errors/coded-error.ts";
import { runHostCommand } from "../host/host-command.ts";
import type { CniConfigList } from "./cni-types.ts";

/** Where host-local keeps its reservations when the config does not say (`ipam.dataDir`). */
export const hostLocalDefaultDataDir = "/var/lib/cni/networks";
/** The bridge plugin's bridge when the config does not say. */
export const bridgeDefaultName = "cni0";

export interface Reservation {
  network: string;
  /** The folder it lies in: `<dataDir>/<network>`. */
  dir: string;
  ip: string;
  containerId: string;
}

export interface BridgeVeth {
  bridge: string;
  name: string;
  /** The namespace of its peer, by name, when it has one. */
  peerNetns?: string;
}

export interface NetworkInventory {
  reservations: Reservation[];
  veths: BridgeVeth[];
  errors: Partial<Record<"addresses" | "veths", ErrorData>>;
}

/** The host-local folders and bridges a network list uses. */
export function networkPlaces(config: CniConfigList): { reservationDirs: string[]; bridges: string[] } {
  const reservationDirs: string[] = [];
  const bridges: string[] = [];
  for (const plugin of config.plugins) {
    const ipam = plugin.ipam as { type?: unknown; dataDir?: unknown } | undefined;
    if (ipam?.type === "host-local") reservationDirs.push(join(typeof ipam.dataDir === "string" ? ipam.dataDir : hostLocalDefaultDataDir, config.name));
    if (plugin.type === "bridge") bridges.push(typeof plugin.bridge === "string" ? plugin.bridge : bridgeDefaultName);
  }
  return { reservationDirs, bridges };
}

/**
 * Reads the reservations and veths of the networks given whose owner is one of `containerPrefix`
 * (`pv-<tag>-`), or, for veths, whose name is one of `knownVeths`.
 */
export async function readNetworkInventory(configs: CniConfigList[], containerPrefix: string, knownVeths: ReadonlySet<string>): Promise<NetworkInventory> {
  const inventory: NetworkInventory = { reservations: [], veths: [], errors: {} };
  const dirs = new Map<string, string>();
  const bridges = new Set<string>();
  for (const config of configs) {
    const places = networkPlaces(config);
    for (const dir of places.reservationDirs) dirs.set(dir, config.name);
    for (const bridge of places.bridges) bridges.add(bridge);
  }
  try {
    for (const [dir, network] of dirs) {
      for (const ip of await listOrNone(dir)) {
        if (!/^[0-9a-fA-F.:]+$/.test(ip) || !ip.match(/[.:]/)) continue; // lock, last_reserved_ip.0
        const containerId = (await readFile(join(dir, ip), "utf8").catch(() => "")).split(/\r?\n/)[0];
        if (containerId.startsWith(containerPrefix)) inventory.reservations.push({ network, dir, ip, containerId });
      }
    }
  } catch (error) {
    inventory.errors.addresses = toErrorData(error);
  }
  try {
    const namesById = await netnsNamesById();
    for (const bridge of bridges) {
      const links = await bridgePorts(bridge);
      for (const link of links) {
        const peerNetns = link.link_netnsid === undefined ? undefined : namesById.get(link.link_netnsid);
        if (peerNetns?.startsWith(containerPrefix) || knownVeths.has(link.ifname)) inventory.veths.push({ bridge, name: link.ifname, ...(peerNetns === undefined ? {} : { peerNetns }) });
      }
    }
  } catch (error) {
    inventory.errors.veths = toErrorData(error);
  }
  return inventory;
}

async function listOrNone(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** The ports of a bridge (none if there is no such bridge), with their peers' namespace ids. */
async function bridgePorts(bridge: string): Promise<{ ifname: string; link_netnsid?: number }[]> {
  const result = await runHostCommand("ip", ["-j", "-d", "link", "show", "master", bridge], { action: `list the ports of bridge ${bridge}`, reject: false });
  if (result.failed) {
    if (/does not exist|Cannot find device/.test(result.stderr)) return [];
    throw new Error(`Cannot list the ports of bridge ${bridge}: ${result.stderr.trim() || result.shortMessage}`);
  }
  return result.stdout.trim() === "" ? [] : (JSON.parse(result.stdout) as { ifname: string; link_netnsid?: number }[]);
}

/** The names (`/run/netns/<name>`) of the namespaces this one has ids for. */
async function netnsNamesById(): Promise<Map<number, string>> {
  const result = await runHostCommand("ip", ["-j", "netns", "list-id"], { action: "list the network namespace ids" });
  const entries = result.stdout.trim() === "" ? [] : (JSON.parse(result.stdout) as { nsid: number; name?: string }[]);
  return new Map(entries.filter((entry) => entry.name !== undefined).map((entry) => [entry.nsid, entry.name as string]));
}
