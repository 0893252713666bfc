import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { waitForSocket } from "../../src/api/socket-probe.ts";
import { ApiClient } from "../../src/cli/client.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { tagOf } from "../crash/daemon.ts";
import { networkLeftovers } from "./bench-network.ts";
import type { BenchNetwork } from "./bench-network.ts";
import type { Notification } from "../../src/cli/client.ts";
import { percentile } from "../stats.ts";
import { stopThroughCri } from "./cri-stop.ts";
import { probeProcess } from "./daemon-probe.ts";
import { startPoller } from "./poller-handle.ts";
import { setUpSandboxes } from "./sandbox-setup.ts";
import type { SetupCost } from "./sandbox-setup.ts";
import { isOciBackend, needsInitAsPid1, workloads } from "./workloads.ts";
import type { Backend, Workload } from "./workloads.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface TeardownOptions {
  sandboxes: number;
  containers: number;
  workload: Workload;
  timeoutMs: number;
  runtime: "node" | "deno";
  strategy: "parallel" | "sequential";
  /** The daemon's `--backend` (the `lagging` workload runs `--backend lagging` instead). */
  backend: Backend;
  /** Every container's rootfs (required on runc and crun). */
  rootfs?: string;
  /** The CNI network of the benchmark's own (`--network cni`); without it, network "none" (a conf dir that does not exist). */
  network?: BenchNetwork;
  /** How the sandboxes are stopped: one JSON-RPC `StopPodSandboxes {all}` (the default), or kubelet's way through the CRI (`cri-stop.ts`; Node daemon only). */
  via?: "json-rpc" | "cri";
}

export interface PodvisorResult {
  strategy: string;
  /** "json-rpc": one StopPodSandboxes {all}; "cri": StopContainer of every container, then StopPodSandbox of every pod, over one gRPC connection. */
  via: "json-rpc" | "cri";
  runtime: string;
  backend: string;
  /** "none", or "cni": the benchmark's bridge network. */
  network: "none" | "cni";
  /** Running every sandbox, and what it cost the daemon and the machine. */
  setup: SetupCost;
  stopWallMs: number;
  failed: number;
  /** The first few failures' messages. */
  errors: string[];
  /** Per sandbox, as the daemon timed it: from the start of its own stop (CRI: its StopPodSandbox call's time). */
  latencyMs: number[];
  /** Per sandbox, from the stop-all request to its `progress` notification at the client (CRI: from the first StopContainer to its StopPodSandbox answered): queueing included. */
  latencyFromRequestMs: number[];
  /** The daemon's per-sandbox phases (JSON-RPC only: the CRI answers none). */
  phasesP50Ms: Record<string, number>;
  /** Through the CRI: how long every StopContainer took, then every StopPodSandbox, and how many containers were stopped. */
  cri?: { stopContainersMs: number; stopPodSandboxesMs: number; containers: number };
  /** PodSandboxStatus of one sandbox, every 10 ms while the stop runs. */
  statusMs: { p50: number; p99: number; samples: number };
  /** ListPodSandbox (ready ones) then ListContainers (one sandbox's), every 100 ms while the stop runs. */
  listMs: { p50: number; p99: number; samples: number };
  daemon: { rssAfterSetupBytes: number; peakRssBytes: number; cpuMs: number; actorsPerWorker: number[] };
  /** RemovePodSandbox failures after the measurement (each tried twice), as `<id>: <message>`; not part of what is measured. */
  removeErrors: string[];
  /** What the daemon left on the host after it exited (netns, mounts, cgroups, processes; the network's addresses and veths): must be empty. */
  leftovers: string[];
}

/**
 * Starts a daemon on a fresh root, runs the sandboxes through the API, then stops them all with
 * one StopPodSandboxes (or, `via: "cri"`, kubelet's way through the CRI) while two other
 * connections ask status and list; removes everything after.
 */
export async function measurePodvisor(options: TeardownOptions): Promise<PodvisorResult> {
  const via = options.via ?? "json-rpc";
  if (via === "cri" && options.runtime !== "node") throw new RangeError("Cannot benchmark: the CRI is served on Node only (docs/CRI.md); give --runtime node");
  const root = await realpath(await mkdtemp(join(tmpdir(), "pvbench-")));
  const socket = join(root, "api.sock");
  const criSocket = join(root, "cri.sock");
  const args = [cli, "daemon", "--root", root, "--socket", socket, "--cri-socket", criSocket, "--log-level", "error", "--stop-strategy", options.strategy];
  // Network "none" whatever /etc/cni/net.d holds: a conf dir that does not exist.
  if (options.network === undefined) args.push("--cni-conf-dir", join(root, "no-cni-conf"));
  else args.push("--cni-conf-dir", options.network.confDir, "--cni-bin-dir", options.network.binDirs.join(":"));
  if (options.workload === "lagging") args.push("--backend", "lagging", "--backend-lag-ms", "300");
  else if (options.backend !== "process") args.push("--backend", options.backend);
  // Extra runtime flags for the daemon, for profiling it: PODVISOR_BENCH_DAEMON_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = process.env.PODVISOR_BENCH_DAEMON_FLAGS?.split(" ").filter(Boolean) ?? [];
  const [file, argv] = options.runtime === "node" ? ["node", [...extra, ...args]] : ["deno", ["run", "-A", ...extra, ...args]];
  const leftovers: string[] = [];
  const daemon = execa(file, argv as string[], { preferLocal: true, reject: false, stdio: ["ignore", "ignore", "inherit"] });
  let exited: string | undefined;
  void daemon.then((result) => (exited = `Cannot benchmark: the daemon exited before serving (${result.shortMessage ?? `exit ${result.exitCode}`}; its stderr is above)`));
  try {
    await waitForSocket(socket, { timeoutMs: 60_000, gaveUp: () => exited });
    if (via === "cri") await waitForSocket(criSocket, { timeoutMs: 60_000, gaveUp: () => exited });
    const client = await ApiClient.connect(socket);
    const oci = isOciBackend(options.backend);
    const setup = await setUpSandboxes(client, daemon.pid as number, {
      sandboxes: options.sandboxes,
      containers: options.containers,
      command: workloads[options.workload],
      rootfs: options.rootfs,
      init: oci && needsInitAsPid1.has(options.workload),
    });
    const before = await probeProcess(daemon.pid as number);
    const metrics = await client.call<{ text: string }>("Metrics");
    const actorsPerWorker = [...metrics.text.matchAll(/^podvisor_actors\{worker="(\d+)"\} (\d+)/gm)].map((m) => Number(m[2]));

    // While the stop runs, one connection asks a sandbox's status every 10 ms, another lists every
    // 100 ms: each from a thread of its own (see poller.ts).
    const someId = (await client.call<{ items: { id: string }[] }>("ListPodSandbox")).items[0].id;
    const pollers = (["status", "list"] as const).map((kind) => startPoller({ socket, kind, podSandboxId: someId }));
    await Promise.all(pollers.map((poller) => poller.ready));
    console.error(`  stop-all${via === "cri" ? " through the CRI" : ""} begins ${new Date().toISOString()}`);
    const stop = via === "cri" ? await stopThroughCriChecked(client, criSocket, options.timeoutMs) : await stopAll(client, options.timeoutMs);
    console.error(`  stop-all ended ${new Date().toISOString()}`);
    const [statusMs, listMs] = await Promise.all(pollers.map((poller) => poller.stop()));
    const after = await probeProcess(daemon.pid as number);
    const { items } = await client.call<{ items: { id: string }[] }>("ListPodSandbox");
    const removeErrors = await removeAll(client, items.map((item) => item.id));
    client.close();
    return {
      strategy: options.strategy,
      via,
      runtime: options.runtime,
      backend: options.workload === "lagging" ? "lagging" : options.backend,
      network: options.network === undefined ? "none" : "cni",
      setup,
      ...stop,
      statusMs: { p50: percentile(statusMs, 50), p99: percentile(statusMs, 99), samples: statusMs.length },
      listMs: { p50: percentile(listMs, 50), p99: percentile(listMs, 99), samples: listMs.length },
      daemon: { rssAfterSetupBytes: before.rssBytes, peakRssBytes: after.peakRssBytes, cpuMs: after.cpuMs, actorsPerWorker },
      removeErrors,
      leftovers,
    };
  } finally {
    daemon.kill("SIGTERM");
    await daemon;
    leftovers.push(...(await hostLeftovers(root, options.network)));
    await rm(root, { recursive: true, force: true });
  }
}

/** The stop's part of the result. */
type StopOutcome = Pick<PodvisorResult, "stopWallMs" | "failed" | "errors" | "latencyMs" | "latencyFromRequestMs" | "phasesP50Ms" | "cri">;

/** One StopPodSandboxes {all}, each sandbox timed from the request by its `progress` notification. */
async function stopAll(client: ApiClient, timeoutMs: number): Promise<StopOutcome> {
  const latencyFromRequestMs: number[] = [];
  const stopStartedAt = performance.now();
  const onNotification = (notification: Notification) => {
    if (notification.method === "progress") latencyFromRequestMs.push(performance.now() - stopStartedAt);
  };
  const { results } = await client.call<{ results: { ok: boolean; durationMs: number; phases: Record<string, number>; error?: { message: string } }[] }>(
    "StopPodSandboxes",
    { all: true, timeoutMs },
    { onNotification },
  );
  const stopWallMs = performance.now() - stopStartedAt;
  const phaseNames = [...new Set(results.flatMap((r) => Object.keys(r.phases)))];
  return {
    stopWallMs,
    failed: results.filter((r) => !r.ok).length,
    errors: results.filter((r) => !r.ok).slice(0, 3).map((r) => r.error?.message ?? "unknown"),
    latencyMs: results.map((r) => r.durationMs),
    latencyFromRequestMs,
    phasesP50Ms: Object.fromEntries(phaseNames.map((name) => [name, percentile(results.map((r) => r.phases[name] ?? 0), 50)])),
  };
}

/**
 * The CRI stop (`cri-stop.ts`), then a check through the API that it stopped everything: a sandbox
 * still ready, or a container of it not exited, counts as failed — the CRI answers no per-sandbox result.
 */
async function stopThroughCriChecked(client: ApiClient, criSocket: string, timeoutMs: number): Promise<StopOutcome> {
  const stop = await stopThroughCri(criSocket, { timeoutMs });
  const { items } = await client.call<{ items: { id: string; state: string }[] }>("ListPodSandbox");
  const { items: containers } = await client.call<{ items: { podSandboxId: string; state: string }[] }>("ListContainers");
  const notStopped = new Set([
    ...items.filter((sandbox) => sandbox.state === "ready").map((sandbox) => sandbox.id),
    ...containers.filter((container) => container.state !== "exited").map((container) => container.podSandboxId),
  ]);
  const errors = [...stop.errors, ...[...notStopped].map((id) => `sandbox ${id}: not stopped after the CRI stop`)];
  return {
    stopWallMs: stop.stopWallMs,
    failed: new Set([...notStopped, ...stop.failedPods]).size,
    errors: errors.slice(0, 3),
    latencyMs: stop.latencyMs,
    latencyFromRequestMs: stop.latencyFromRequestMs,
    phasesP50Ms: {},
    cri: { stopContainersMs: stop.stopContainersMs, stopPodSandboxesMs: stop.stopPodSandboxesMs, containers: stop.containers },
  };
}

/** What a daemon on `root` left after it exited, one line each. */
async function hostLeftovers(root: string, network: BenchNetwork | undefined): Promise<string[]> {
  const host = await findHostLeftovers({ root, tag: tagOf(root) });
  const net = network === undefined ? { reservations: [], veths: [] } : await networkLeftovers(network);
  return [
    ...host.netns.map((name) => `netns ${name}`),
    ...host.mounts.map((mount) => `mount ${mount}`),
    ...host.cgroups.map((cgroup) => `cgroup ${cgroup}`),
    ...host.pids.map((pid) => `process ${pid}`),
    ...net.reservations.map((ip) => `address ${ip}`),
    ...net.veths.map((veth) => `veth ${veth}`),
  ];
}

/**
 * Removes every sandbox, all at once, then once more one at a time for those that failed; gives
 * the failures that remain. A failure here comes after the measurement and must not lose it.
 */
async function removeAll(client: ApiClient, ids: string[]): Promise<string[]> {
  const remove = (id: string) => client.call("RemovePodSandbox", { podSandboxId: id }).then(() => undefined, (error: unknown) => `${id}: ${(error as Error).message}`);
  const failed = (await Promise.all(ids.map(remove))).filter((error) => error !== undefined);
  if (failed.length === 0) return [];
  console.error(`  ${failed.length} sandboxes failed to be removed at once (first: ${failed[0]}); trying them one at a time`);
  const left: string[] = [];
  for (const error of failed) {
    const again = await remove(error.slice(0, error.indexOf(":")));
    if (again !== undefined) left.push(again);
  }
  for (const error of left.slice(0, 3)) console.error(`  could not remove sandbox ${error}`);
  return left;
}
