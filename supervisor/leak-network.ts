/**
 * The leak check's CNI part: host-local's address reservations and the veths on the bridges of
 * the networks podvisor used, against the records. A reservation or veth is owned by a ready
 * sandbox whose stored attachment names it; one of a stopped sandbox, of no record at all (a crash
 * between the ADD and the record's write), or of an ADD begun and never recorded (the CNI cache) is
 * a leak. The repair is a DEL — from the stored configuration and result, else from the cache's
 * configuration, else from the network's current one — then `ip link del` of a veth still left.
 * The same guards as the rest of the check (leak-check.ts): ownership is read in the same turn as
 * the in-flight window starts, and anything named after an id in flight is left alone.
 */
import { toErrorData } from "../src/errors/coded-error.ts";
import { CodedError } from "../src/errors/coded-error.ts";
import type { HostKindReport } from "../src/api/api-types.ts";
import { runHostCommand } from "../src/host/host-command.ts";
import { netnsPath } from "../src/host/netns.ts";
import type { CniConfigList } from "../src/network/cni-types.ts";
import { networkPlaces, readNetworkInventory } from "../src/network/network-inventory.ts";
import type { SandboxNetwork, SandboxState } from "../src/state/records.ts";
import type { SupervisorContext } from "./context.ts";

/** What the records say of the networks, read once, synchronously (see leak-check.ts, 2.). */
export interface NetworkOwnership {
  /** By CNI container id: the attachment of a ready sandbox. */
  owned: Map<string, { sandboxId: string; network: SandboxNetwork }>;
  /** By CNI container id: every stored attachment, whatever its sandbox's state (for an exact DEL). */
  stored: Map<string, { sandboxId: string; state: SandboxState; network: SandboxNetwork }>;
}

export function networkOwnership(context: SupervisorContext): NetworkOwnership {
  const ownership: NetworkOwnership = { owned: new Map(), stored: new Map() };
  for (const sandbox of context.store.sandboxes.values()) {
    if (sandbox.network === undefined) continue;
    ownership.stored.set(sandbox.network.containerId, { sandboxId: sandbox.id, state: sandbox.state, network: sandbox.network });
    if (sandbox.state === "ready") ownership.owned.set(sandbox.network.containerId, { sandboxId: sandbox.id, network: sandbox.network });
  }
  return ownership;
}

export interface NetworkCheckOptions {
  busy: ReadonlySet<string>;
  repair: boolean;
  /** With `repair`: only what `lastLeaks` (`<kind>:<name>`) holds is repaired. */
  onlyRepeated?: ReadonlySet<string>;
  expected(sandboxId: string): boolean;
  signal?: AbortSignal;
}

/** A DEL the repair is to run: for one container id, with the best configuration known. */
interface PlannedDel {
  containerId: string;
  config: CniConfigList;
  result?: Record<string, unknown>;
  ifName: string;
  /** The leaks (names in `addresses`) it repairs. */
  names: string[];
}

/** Checks (and with `repair`, repairs) the addresses and veths; a part that cannot be read is its kind's `error`. */
export async function checkNetwork(context: SupervisorContext, ownership: NetworkOwnership, options: NetworkCheckOptions): Promise<{ addresses: HostKindReport; veths: HostKindReport }> {
  const addresses = emptyKind();
  const veths = emptyKind();
  const prefix = `pv-${context.tag}-`;
  const idOf = (containerId: string) => containerId.slice(prefix.length);
  const cache = (await context.network?.cache.list().catch(() => [])) ?? [];
  const current = await context.network?.current().catch(() => undefined);
  const configs = new Map<string, CniConfigList>(); // by network name: the one to DEL with when nothing better is known
  if (current !== undefined) configs.set(current.configList.name, current.configList);
  for (const entry of cache) configs.set((entry.config as CniConfigList).name, entry.config as CniConfigList);
  for (const { network } of ownership.stored.values()) configs.set(network.name, network.config as CniConfigList);
  if (configs.size === 0) return { addresses, veths };
  const knownVeths = new Map<string, { sandboxId: string; state: SandboxState }>(); // by veth name: whose attachment names it
  const ownedVeths = new Set<string>();
  for (const [containerId, stored] of ownership.stored) {
    for (const name of hostVeths(stored.network)) {
      knownVeths.set(name, stored);
      if (ownership.owned.has(containerId)) ownedVeths.add(name);
    }
  }
  const host = await readNetworkInventory([...configs.values()], prefix, new Set(knownVeths.keys()));
  if (host.errors.addresses !== undefined) addresses.error = host.errors.addresses;
  if (host.errors.veths !== undefined) veths.error = host.errors.veths;

  const dels = new Map<string, PlannedDel>();
  const planDel = (containerId: string, network: string, name: string) => {
    const planned = dels.get(containerId);
    if (planned !== undefined) return void planned.names.push(name);
    const stored = ownership.stored.get(containerId)?.network;
    const cached = cache.find((entry) => entry.containerId === containerId);
    const config = (stored?.config ?? cached?.config ?? configs.get(network)) as CniConfigList | undefined;
    if (config === undefined) return;
    dels.set(containerId, { containerId, config, result: stored?.result, ifName: stored?.ifName ?? cached?.ifName ?? "eth0", names: [name] });
  };
  const reason = (containerId: string) => {
    const stored = ownership.stored.get(containerId);
    return stored?.state === "stopped" ? `its pod sandbox ${stored.sandboxId} is stopped` : "no record owns it";
  };

  const seenAttachments = new Set<string>();
  for (const reservation of host.reservations) {
    const name = `${reservation.network}/${reservation.ip}`;
    addresses.onHost.push(name);
    seenAttachments.add(reservation.containerId);
    if (ownership.owned.get(reservation.containerId)?.network.name === reservation.network) addresses.owned.push(name);
    else if (options.busy.has(idOf(reservation.containerId))) addresses.inFlight.push(name);
    else {
      addresses.leaks.push({ name, reason: `reserved for ${reservation.containerId}: ${reason(reservation.containerId)}` });
      planDel(reservation.containerId, reservation.network, name);
    }
  }
  // An ADD begun and never recorded, whose plugins keep no reservation podvisor can read: its cache entry.
  for (const entry of cache) {
    if (seenAttachments.has(entry.containerId) || ownership.owned.has(entry.containerId) || options.busy.has(idOf(entry.containerId))) continue;
    const name = `cni-cache:${entry.containerId}`;
    addresses.onHost.push(name);
    addresses.leaks.push({ name, reason: `an ADD begun (CNI cache) that ${reason(entry.containerId)}` });
    planDel(entry.containerId, (entry.config as CniConfigList).name, name);
  }
  if (addresses.error === undefined) {
    const onHost = new Set(addresses.onHost);
    for (const { sandboxId, network } of ownership.owned.values()) {
      if (networkPlaces(network.config as CniConfigList).reservationDirs.length === 0 || !options.expected(sandboxId)) continue;
      for (const ip of network.ips) if (!onHost.has(`${network.name}/${ip}`)) addresses.missing.push(`${network.name}/${ip}`);
    }
  }

  for (const veth of host.veths) {
    veths.onHost.push(veth.name);
    const stored = knownVeths.get(veth.name);
    const sandboxId = veth.peerNetns === undefined ? stored?.sandboxId : idOf(veth.peerNetns);
    if (ownedVeths.has(veth.name)) veths.owned.push(veth.name);
    else if (sandboxId !== undefined && options.busy.has(sandboxId)) veths.inFlight.push(veth.name);
    else veths.leaks.push({ name: veth.name, reason: `on bridge ${veth.bridge}${veth.peerNetns === undefined ? "" : `, its peer in ${veth.peerNetns}`}: ${stored?.state === "stopped" ? `its pod sandbox ${stored.sandboxId} is stopped` : "no record owns it"}` });
  }

  if (options.repair) await repair(context, { addresses, veths }, [...dels.values()], { ...options, idOf });
  return { addresses, veths };
}

async function repair(context: SupervisorContext, kinds: { addresses: HostKindReport; veths: HostKindReport }, dels: PlannedDel[], options: NetworkCheckOptions & { idOf(containerId: string): string }): Promise<void> {
  const held = (kind: string, name: string) => options.onlyRepeated !== undefined && !options.onlyRepeated.has(`${kind}:${name}`);
  const hold = (report: HostKindReport, names: string[], why: string) => {
    for (const leak of report.leaks) if (names.includes(leak.name)) leak.notRepaired ??= why;
  };
  const firstSeen = "first seen by this check: the next check removes it if it is still there";
  options.signal?.throwIfAborted();
  await Promise.all(dels.map(async (del) => {
    if (del.names.some((name) => held("addresses", name))) return hold(kinds.addresses, del.names, firstSeen);
    if (options.busy.has(options.idOf(del.containerId))) return hold(kinds.addresses, del.names, "an operation on its sandbox began while the check ran");
    try {
      if (context.network === undefined) throw new CodedError("FAILED_PRECONDITION", `Cannot delete network ${del.config.name} for ${del.containerId}: this daemon runs without CNI (no --cni-bin-dir)`);
      await context.network.detach({ containerId: del.containerId, ifName: del.ifName, config: del.config, result: del.result }, netnsFile(del.containerId), { signal: options.signal });
      kinds.addresses.removed.push(...del.names);
    } catch (error) {
      for (const name of del.names) kinds.addresses.failed.push({ name, ...toErrorData(error) });
    }
  }));
  for (const leak of kinds.addresses.leaks) {
    if (!kinds.addresses.removed.includes(leak.name) && !kinds.addresses.failed.some((f) => f.name === leak.name)) leak.notRepaired ??= "no configuration of its network is known to DEL it with";
  }
  options.signal?.throwIfAborted();
  for (const leak of kinds.veths.leaks) {
    if (held("veths", leak.name)) {
      leak.notRepaired ??= firstSeen;
      continue;
    }
    const outcome = await runHostCommand("ip", ["link", "del", leak.name], { action: `delete veth ${leak.name}`, reject: false, signal: options.signal });
    if (!outcome.failed || /Cannot find device|does not exist/.test(outcome.stderr)) kinds.veths.removed.push(leak.name);
    else kinds.veths.failed.push({ name: leak.name, code: "HOST_COMMAND_FAILED", message: `Cannot delete veth ${leak.name}: ${outcome.stderr.trim() || outcome.shortMessage}` });
  }
}

/** The host ends of an attachment's veths: the result's interfaces outside the sandbox, except bridges it names. */
function hostVeths(network: SandboxNetwork): string[] {
  const interfaces = (network.result.interfaces ?? []) as { name: string; sandbox?: string }[];
  const bridges = new Set(networkPlaces(network.config as CniConfigList).bridges);
  return interfaces.filter((entry) => (entry.sandbox ?? "") === "" && !bridges.has(entry.name)).map((entry) => entry.name);
}

/** The namespace file of a CNI container id (podvisor names both the same), or "" for a name that is none. */
function netnsFile(containerId: string): string {
  try {
    return netnsPath(containerId);
  } catch {
    return "";
  }
}

function emptyKind(): HostKindReport {
  return { owned: [], onHost: [], leaks: [], inFlight: [], missing: [], removed: [], failed: [] };
}
