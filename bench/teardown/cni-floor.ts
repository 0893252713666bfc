/**
 * The floor of the network step (`--network cni`): the plugins' own cost. N network namespaces
 * are made (`ip -batch`) and attached by ADD of the benchmark's network, called directly with
 * podvisor's own invoker (`src/network/cni-invoke.ts`); then DEL of all of them is timed, called
 * directly, all at once — under podvisor's limit for plugin runs and without a limit, each on a
 * fresh set — and everything is removed. The floor is the faster of the two.
 */
import { execa } from "execa";
import { invokePlugin } from "../../src/network/cni-invoke.ts";
import { defaultNetworkConcurrency } from "../../src/network/pod-network.ts";
import { Limiter } from "../../src/host/host-batcher.ts";
import { listNetns } from "../../src/host/netns.ts";
import type { CniResult } from "../../src/network/cni-types.ts";
import { networkLeftovers } from "./bench-network.ts";
import type { BenchNetwork } from "./bench-network.ts";

/** One DEL round: how many at once (undefined: no limit) and how long all took. */
export interface DelRound {
  concurrency: number | "unlimited";
  /** ADD of all (setup; under podvisor's limit). */
  addMs: number;
  delMs: number;
  failed: number;
}

export interface CniFloorResult {
  sandboxes: number;
  rounds: DelRound[];
  /** The faster round's DEL time: the floor. */
  delMs: number;
  chosen: number | "unlimited";
  /** What was left after the rounds (must be empty). */
  leftovers: string[];
}

const pluginTimeoutMs = 60_000;

/**
 * Measures the DEL floor for `sandboxes` namespaces on `network`.
 *
 * @example
 * const floor = await measureCniFloor(network, { sandboxes: 1000, tag: "a1b2c3" });
 */
export async function measureCniFloor(network: BenchNetwork, options: { sandboxes: number; tag: string }): Promise<CniFloorResult> {
  const rounds: DelRound[] = [];
  for (const concurrency of [defaultNetworkConcurrency, undefined]) {
    console.error(`  DEL floor: ${options.sandboxes} namespaces, ADD then DEL ${concurrency === undefined ? "all at once" : `${concurrency} at a time`}…`);
    rounds.push(await delRound(network, options, concurrency));
  }
  const best = rounds.reduce((a, b) => (b.delMs < a.delMs ? b : a));
  const left = await networkLeftovers(network);
  const netns = await listNetns(floorPrefix(options.tag));
  const leftovers = [
    ...left.reservations.map((ip) => `address ${ip}`),
    ...left.veths.map((veth) => `veth ${veth}`),
    ...netns.map((name) => `netns ${name}`),
  ];
  return { sandboxes: options.sandboxes, rounds, delMs: best.delMs, chosen: best.concurrency, leftovers };
}

function floorPrefix(tag: string): string {
  return `pvbf-${tag}-`;
}

async function delRound(network: BenchNetwork, options: { sandboxes: number; tag: string }, concurrency: number | undefined): Promise<DelRound> {
  const names = Array.from({ length: options.sandboxes }, (_, index) => `${floorPrefix(options.tag)}${index}`);
  const plugins = network.configList.plugins;
  const call = (name: string, command: "ADD" | "DEL", config: Record<string, unknown>) =>
    invokePlugin(String(config.type), {
      command,
      containerId: name,
      netns: `/run/netns/${name}`,
      ifName: "eth0",
      args: `IgnoreUnknown=1;K8S_POD_INFRA_CONTAINER_ID=${name}`,
      config,
    }, { binDirs: network.binDirs, deadlineAt: Date.now() + pluginTimeoutMs });
  const pluginConfig = (plugin: Record<string, unknown>, prevResult: CniResult | undefined) =>
    ({ ...plugin, name: network.configList.name, cniVersion: network.configList.cniVersion, ...(prevResult === undefined ? {} : { prevResult }) });
  const results = new Map<string, CniResult | undefined>();
  await ipBatch(names.map((name) => `netns add ${name}`));
  try {
    const addLimiter = new Limiter(defaultNetworkConcurrency);
    const addStartedAt = performance.now();
    // All settled before any cleanup: a DEL must never race the same namespace's ADD.
    const added = await Promise.allSettled(names.map((name) => addLimiter.run(async () => {
      results.set(name, undefined);
      let result: CniResult | undefined;
      for (const plugin of plugins) result = await call(name, "ADD", pluginConfig(plugin, result));
      results.set(name, result);
    })));
    const addMs = performance.now() - addStartedAt;
    const addFailed = added.filter((outcome) => outcome.status === "rejected");
    if (addFailed.length > 0) throw new Error(`Cannot measure the DEL floor: ${addFailed.length} of ${names.length} ADDs failed (first: ${(addFailed[0] as PromiseRejectedResult).reason})`);

    // The measurement: DEL of every one, as podvisor's stop runs it (plugins in reverse, the stored result as prevResult).
    const limiter = concurrency === undefined ? undefined : new Limiter(concurrency);
    const del = async (name: string) => {
      for (const plugin of [...plugins].reverse()) await call(name, "DEL", pluginConfig(plugin, results.get(name)));
    };
    const delStartedAt = performance.now();
    const outcomes = await Promise.allSettled(names.map((name) => (limiter === undefined ? del(name) : limiter.run(() => del(name)))));
    const delMs = performance.now() - delStartedAt;
    const failed = outcomes.filter((outcome) => outcome.status === "rejected");
    if (failed.length > 0) console.error(`  DEL floor: ${failed.length} DELs failed (first: ${(failed[0] as PromiseRejectedResult).reason})`);
    for (const name of names) results.delete(name);
    return { concurrency: concurrency ?? "unlimited", addMs, delMs, failed: failed.length };
  } finally {
    // What an error left attached is detached again (one at a time, bounded), then the namespaces go.
    for (const [name, result] of results) {
      for (const plugin of [...plugins].reverse()) await call(name, "DEL", pluginConfig(plugin, result)).catch((error: unknown) => console.error(`  DEL floor cleanup: ${(error as Error).message}`));
    }
    await ipBatch(names.map((name) => `netns delete ${name}`));
  }
}

/** Runs `ip -batch -` with these lines; `-force` goes on past a failed line. */
async function ipBatch(lines: string[]): Promise<void> {
  await execa("ip", ["-force", "-batch", "-"], { input: `${lines.join("\n")}\n`, reject: false });
}
