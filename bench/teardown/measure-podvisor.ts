import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { execa } from "execa";
import { waitForSocket } from "../../src/api/socket-probe.ts";
import { ApiClient } from "../../src/cli/client.ts";
import { percentile } from "../stats.ts";
import { probeProcess } from "./daemon-probe.ts";
import { workloads } from "./workloads.ts";
import type { Workload } from "./workloads.ts";
import type { PollerInit } from "./poller.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface TeardownOptions {
  sandboxes: number;
  containers: number;
  workload: Workload;
  timeoutMs: number;
  runtime: "node" | "deno";
  strategy: "parallel" | "sequential";
}

export interface PodvisorResult {
  strategy: string;
  runtime: string;
  setupMs: number;
  stopWallMs: number;
  failed: number;
  /** The first few failures' messages. */
  errors: string[];
  latencyMs: number[];
  phasesP50Ms: Record<string, number>;
  /** PodSandboxStatus of one sandbox, every 10 ms while the stop runs. */
  statusMs: { p50: number; p99: number; samples: number };
  /** ListPodSandbox (ready ones) then ListContainers (one sandbox's), every 100 ms while the stop runs. */
  listMs: { p50: number; p99: number; samples: number };
  daemon: { rssBeforeStopBytes: number; peakRssBytes: number; cpuMs: number; actorsPerWorker: number[] };
}

/**
 * Starts a daemon on a fresh root, runs the sandboxes through the API, then stops them all with
 * one StopPodSandboxes while another connection asks status and list; removes everything after.
 */
export async function measurePodvisor(options: TeardownOptions): Promise<PodvisorResult> {
  const root = await mkdtemp(join(tmpdir(), "pvbench-"));
  const socket = join(root, "api.sock");
  const args = [cli, "daemon", "--root", root, "--socket", socket, "--log-level", "error", "--stop-strategy", options.strategy];
  if (options.workload === "lagging") args.push("--backend", "lagging", "--backend-lag-ms", "300");
  // Extra runtime flags for the daemon, for profiling it: PODVISOR_BENCH_DAEMON_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = process.env.PODVISOR_BENCH_DAEMON_FLAGS?.split(" ").filter(Boolean) ?? [];
  const [file, argv] = options.runtime === "node" ? ["node", [...extra, ...args]] : ["deno", ["run", "-A", ...extra, ...args]];
  const daemon = execa(file, argv as string[], { preferLocal: true, reject: false, stdio: ["ignore", "ignore", "inherit"] });
  try {
    await waitForSocket(socket, { timeoutMs: 60_000 });
    const client = await ApiClient.connect(socket);
    const setupStartedAt = performance.now();
    await runSandboxes(client, options);
    const setupMs = performance.now() - setupStartedAt;
    const before = await probeProcess(daemon.pid as number);
    const metrics = await client.call<{ text: string }>("Metrics");
    const actorsPerWorker = [...metrics.text.matchAll(/^podvisor_actors\{worker="(\d+)"\} (\d+)/gm)].map((m) => Number(m[2]));

    // While the stop runs, one connection asks a sandbox's status every 10 ms, another lists every
    // 100 ms: each from a thread of its own (see poller.ts).
    const someId = (await client.call<{ items: { id: string }[] }>("ListPodSandbox")).items[0].id;
    const pollers = (["status", "list"] as const).map((kind) => startPoller({ socket, kind, podSandboxId: someId }));
    await Promise.all(pollers.map((poller) => poller.ready));
    console.error(`  stop-all begins ${new Date().toISOString()}`);
    const stopStartedAt = performance.now();
    const { results } = await client.call<{ results: { ok: boolean; durationMs: number; phases: Record<string, number>; error?: { message: string } }[] }>(
      "StopPodSandboxes",
      { all: true, timeoutMs: options.timeoutMs },
    );
    const stopWallMs = performance.now() - stopStartedAt;
    console.error(`  stop-all ended ${new Date().toISOString()}`);
    const [statusMs, listMs] = await Promise.all(pollers.map((poller) => poller.stop()));
    const after = await probeProcess(daemon.pid as number);
    const phaseNames = [...new Set(results.flatMap((r) => Object.keys(r.phases)))];
    const phasesP50Ms = Object.fromEntries(phaseNames.map((name) => [name, percentile(results.map((r) => r.phases[name] ?? 0), 50)]));
    const { items } = await client.call<{ items: { id: string }[] }>("ListPodSandbox");
    await Promise.all(items.map((item) => client.call("RemovePodSandbox", { podSandboxId: item.id })));
    client.close();
    return {
      strategy: options.strategy,
      runtime: options.runtime,
      setupMs,
      stopWallMs,
      failed: results.filter((r) => !r.ok).length,
      errors: results.filter((r) => !r.ok).slice(0, 3).map((r) => r.error?.message ?? "unknown"),
      latencyMs: results.map((r) => r.durationMs),
      phasesP50Ms,
      statusMs: { p50: percentile(statusMs, 50), p99: percentile(statusMs, 99), samples: statusMs.length },
      listMs: { p50: percentile(listMs, 50), p99: percentile(listMs, 99), samples: listMs.length },
      daemon: { rssBeforeStopBytes: before.rssBytes, peakRssBytes: after.peakRssBytes, cpuMs: after.cpuMs, actorsPerWorker },
    };
  } finally {
    daemon.kill("SIGTERM");
    await daemon;
    await rm(root, { recursive: true, force: true });
  }
}

async function runSandboxes(client: ApiClient, options: TeardownOptions): Promise<void> {
  let next = 0;
  const command = [...workloads[options.workload]];
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < options.sandboxes) {
      next++;
      const { podSandboxId } = await client.call<{ podSandboxId: string }>("RunPodSandbox", { config: { name: `bench-${next}` } });
      for (let index = 0; index < options.containers; index++) {
        const { containerId } = await client.call<{ containerId: string }>("CreateContainer", { podSandboxId, config: { name: `c${index}`, command } });
        await client.call("StartContainer", { containerId });
      }
    }
  }));
}

/** Starts a poller thread (`poller.ts`); `stop` ends it and gives its samples. */
function startPoller(init: PollerInit): { ready: Promise<void>; stop(): Promise<number[]> } {
  const worker = new Worker(new URL("./poller.ts", import.meta.url), { workerData: init });
  const ready = Promise.withResolvers<void>();
  const samples = Promise.withResolvers<number[]>();
  worker.on("message", (message: { type: "ready" } | { type: "samples"; samples: number[] }) => {
    if (message.type === "ready") ready.resolve();
    else samples.resolve(message.samples);
  });
  worker.on("error", (error) => {
    ready.reject(error);
    samples.reject(error);
  });
  return {
    ready: ready.promise,
    stop: async () => {
      worker.postMessage("stop");
      const result = await samples.promise;
      await worker.terminate();
      return result;
    },
  };
}
