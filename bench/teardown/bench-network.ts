/**
 * The teardown benchmark's own CNI network (`--network cni`): a conf dir in a temp folder with one
 * bridge network (Debian's containernetworking-plugins, bridge + host-local) whose bridge name,
 * subnet and host-local data dir are the benchmark's alone — never /var/lib/cni, never a subnet
 * the host routes already. No traffic is sent on it: the sandboxes only get addresses.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export const pluginDir = "/usr/lib/cni";

/** Subnets the benchmark may take, first free one first (each a /16: 65,000 sandboxes fit). */
export const candidateSubnets = ["10.240.0.0/16", "10.241.0.0/16", "10.242.0.0/16", "10.243.0.0/16", "10.239.0.0/16"] as const;

export interface BenchNetwork {
  name: string;
  bridge: string;
  subnet: string;
  dir: string;
  confDir: string;
  /** host-local's data dir (its reservations are in `<dataDir>/<name>/`). */
  dataDir: string;
  binDirs: string[];
  /** The network configuration list written into the conf dir. */
  configList: BenchConfigList;
  close(): Promise<void>;
}

export interface BenchConfigList {
  cniVersion: "1.0.0";
  name: string;
  plugins: Record<string, unknown>[];
}

/** The conf dir's one file: a bridge with host-local addresses, confined to the benchmark's data dir. */
export function benchConfigList(options: { name: string; bridge: string; subnet: string; dataDir: string }): BenchConfigList {
  return {
    cniVersion: "1.0.0",
    name: options.name,
    plugins: [{ type: "bridge", bridge: options.bridge, isGateway: true, ipMasq: false, ipam: { type: "host-local", dataDir: options.dataDir, ranges: [[{ subnet: options.subnet }]] } }],
  };
}

/** An IPv4 CIDR as [first address, last address] (32-bit numbers). */
export function cidrRange(cidr: string): [number, number] {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr);
  if (match === null) throw new TypeError(`Cannot read ${JSON.stringify(cidr)} as an IPv4 CIDR`);
  const octets = match.slice(1, 5).map(Number);
  if (octets.some((octet) => octet > 255)) throw new TypeError(`Cannot read ${JSON.stringify(cidr)} as an IPv4 CIDR`);
  const bits = match[5] === undefined ? 32 : Number(match[5]);
  if (bits > 32) throw new TypeError(`Cannot read ${JSON.stringify(cidr)} as an IPv4 CIDR`);
  const address = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  const size = 2 ** (32 - bits);
  const first = Math.floor(address / size) * size;
  return [first, first + size - 1];
}

/** The first candidate that overlaps none of `inUse` (IPv4 CIDRs the host routes or has), or undefined. */
export function freeSubnet(inUse: readonly string[], candidates: readonly string[] = candidateSubnets): string | undefined {
  const used = inUse.filter((cidr) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(cidr)).map(cidrRange);
  return candidates.find((candidate) => {
    const [first, last] = cidrRange(candidate);
    return used.every(([usedFirst, usedLast]) => last < usedFirst || first > usedLast);
  });
}

/** The IPv4 destinations the host routes and the addresses it has (`ip -j route`, `ip -j addr`), except the default route. */
async function subnetsInUse(): Promise<string[]> {
  const routes = JSON.parse((await execa("ip", ["-j", "-4", "route", "show", "table", "all"])).stdout) as { dst: string }[];
  const addresses = JSON.parse((await execa("ip", ["-j", "-4", "addr"])).stdout) as { addr_info?: { local: string; prefixlen: number }[] }[];
  return [
    ...routes.map((route) => route.dst).filter((dst) => dst !== "default"),
    ...addresses.flatMap((link) => (link.addr_info ?? []).map((info) => `${info.local}/${info.prefixlen}`)),
  ];
}

/**
 * Makes the network: a temp folder with the conf dir and host-local's data dir, a bridge name
 * `pvb<tag>` (made by the bridge plugin at the first ADD) and a free /16.
 *
 * @example
 * const network = await makeBenchNetwork("a1b2c3"); … await network.close();
 */
export async function makeBenchNetwork(tag: string): Promise<BenchNetwork> {
  const subnet = freeSubnet(await subnetsInUse());
  if (subnet === undefined) throw new Error(`Cannot benchmark with a CNI network: every subnet the benchmark may take (${candidateSubnets.join(", ")}) is in use on this host`);
  const dir = await mkdtemp(join(tmpdir(), "pvbench-cni-"));
  const confDir = join(dir, "net.d");
  const dataDir = join(dir, "host-local");
  await mkdir(confDir);
  await mkdir(dataDir);
  const name = `pvbench-${tag}`;
  const bridge = `pvb${tag}`.slice(0, 15);
  const configList = benchConfigList({ name, bridge, subnet, dataDir });
  await writeFile(join(confDir, "10-pvbench.conflist"), `${JSON.stringify(configList, null, 2)}\n`);
  return {
    name,
    bridge,
    subnet,
    dir,
    confDir,
    dataDir,
    binDirs: [pluginDir],
    configList,
    async close() {
      await execa("ip", ["link", "del", bridge], { reject: false });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** What is left of the network's use: host-local's reservations, and the veths on its bridge. */
export async function networkLeftovers(network: Pick<BenchNetwork, "dataDir" | "name" | "bridge">): Promise<{ reservations: string[]; veths: string[] }> {
  const reservations = (await readdir(join(network.dataDir, network.name)).catch(() => [] as string[])).filter((file) => /^[0-9a-f.:]+$/.test(file));
  const veths = await readdir(`/sys/class/net/${network.bridge}/brif`).catch(() => [] as string[]);
  return { reservations, veths };
}
