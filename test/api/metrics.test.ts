import { readFile } from "node:fs/promises";
import { describe, expect, test } from "vitest";
import { ApiThreadMetrics } from "../../src/metrics/api-thread-metrics.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import type { RuntimeState, WaitForStoppedOptions } from "../../src/runtime/runtime-backend.ts";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import { lintExposition } from "../support/exposition-lint.ts";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers, startTestSupervisor } from "../support/supervisor.ts";

/** The value of one series in an exposition (labels as prom-client writes them, in their declared order). */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((each) => each.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe.each(runtimes)("the metrics of a daemon on %s", (runtime) => {
  test("process, build info, inventory, stop results, container exits and status latency: served over HTTP and by Metrics, lint-clean", async () => {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const daemon = await startDaemonProcess(runtime, ["--metrics-address", `127.0.0.1:${port}`]);
    const client = await RawClient.connect(daemon.socket);
    try {
      const run = async (name: string) => (await client.call("RunPodSandbox", { config: { name } })).result.podSandboxId as string;
      const start = async (podSandboxId: string, name: string, command: string[]) => {
        const { result } = await client.call("CreateContainer", { podSandboxId, config: { name, command } });
        expect(await client.call("StartContainer", { containerId: result.containerId })).toMatchObject({ result: {} });
        return result.containerId as string;
      };
      const status = async (containerId: string) => (await client.call("ContainerStatus", { containerId })).result.status;
      const a = await run("a");
      const done = await start(a, "done", ["sh", "-c", "exit 3"]);
      await start(a, "term", ["sleep", "1000"]);
      const stubborn = await start(a, "stubborn", ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]);
      const { logPath } = await status(stubborn);
      await expect.poll(() => readFile(logPath, "utf8").catch(() => ""), { timeout: 10_000 }).toContain("ready");
      await expect.poll(async () => (await status(done)).state, { timeout: 10_000 }).toBe("exited");
      const [b, c] = [await run("b"), await run("c")];
      expect(await client.call("StopPodSandbox", { podSandboxId: a, timeoutMs: 1_000 })).toMatchObject({ result: {} });
      expect((await client.call("StopPodSandboxes", { podSandboxIds: [b, c], timeoutMs: 2_000 })).result).toBeDefined();
      await client.call("PodSandboxStatus", { podSandboxId: a });
      await client.call("ListPodSandbox");
      await client.call("ListContainers", { filter: { podSandboxId: a } });

      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      const overHttp = await response.text();
      const { result } = await client.call("Metrics");
      for (const text of [overHttp, result.text as string]) {
        expect(lintExposition(text)).toEqual([]);
        // The process, and what it runs.
        expect(text).toMatch(new RegExp(`^podvisor_build_info\\{version="[^"]+",runtime="${runtime}",runtime_version="[^"]+",backend="process"\\} 1$`, "m"));
        for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"]) {
          expect(valueOf(text, name), name).toBeGreaterThanOrEqual(0);
        }
        // The inventory, by state: three sandboxes stopped, their six containers (three infra) exited.
        expect(valueOf(text, 'podvisor_sandboxes{state="stopped"}')).toBe(3);
        expect(valueOf(text, 'podvisor_sandboxes{state="ready"}')).toBe(0);
        expect(valueOf(text, 'podvisor_containers{state="exited"}')).toBe(6);
        expect(valueOf(text, 'podvisor_containers{state="running"}')).toBe(0);
        // Exits by reason: "done" on its own; "term" and the three infra by the stop signal; "stubborn" at the deadline.
        expect(valueOf(text, 'podvisor_container_exits_total{reason="exited"}')).toBe(1);
        expect(valueOf(text, 'podvisor_container_exits_total{reason="signalled"}')).toBe(4);
        expect(valueOf(text, 'podvisor_container_exits_total{reason="killed-at-deadline"}')).toBe(1);
        // Each sandbox's stop result, by how it was asked for.
        expect(valueOf(text, 'podvisor_sandbox_stops_total{result="ok",via="single"}')).toBe(1);
        expect(valueOf(text, 'podvisor_sandbox_stops_total{result="ok",via="batch"}')).toBe(2);
        expect(valueOf(text, 'podvisor_sandbox_stops_total{result="failed",via="batch"}')).toBe(0);
        // Status and list, timed on the API thread that served them.
        for (const method of ["PodSandboxStatus", "ListPodSandbox", "ContainerStatus", "ListContainers"]) {
          expect(valueOf(text, `podvisor_status_request_duration_seconds_count{method="${method}"}`), method).toBeGreaterThanOrEqual(1);
        }
      }
    } finally {
      client.close();
      expect(await daemon.stop()).toEqual(noLeftovers);
    }
  });
});

describe.each(runtimes)("the metrics of a daemon on %s shutting down", (runtime) => {
  test("are served until the stop-all is over, counting each sandbox it stopped as it does", async () => {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const daemon = await startDaemonProcess(runtime, ["--metrics-address", `127.0.0.1:${port}`]);
    const client = await RawClient.connect(daemon.socket);
    try {
      // One sandbox stops at once; the other holds a container that ignores SIGTERM until the
      // stop-all's deadline (--stop-timeout 2): a scrape between the two sees the first counted.
      await client.call("RunPodSandbox", { config: { name: "quick" } });
      const { result } = await client.call("RunPodSandbox", { config: { name: "slow" } });
      const { result: created } = await client.call("CreateContainer", { podSandboxId: result.podSandboxId, config: { name: "stubborn", command: ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"] } });
      await client.call("StartContainer", { containerId: created.containerId });
      const { logPath } = (await client.call("ContainerStatus", { containerId: created.containerId })).result.status;
      await expect.poll(() => readFile(logPath, "utf8").catch(() => ""), { timeout: 10_000 }).toContain("ready");
      daemon.child.kill("SIGTERM");
      const stopped = () => fetch(`http://127.0.0.1:${port}/metrics`).then(async (response) => valueOf(await response.text(), 'podvisor_sandbox_stops_total{result="ok",via="shutdown"}'), () => undefined);
      await expect.poll(stopped, { timeout: 10_000, interval: 50 }).toBe(1);
    } finally {
      client.close();
      expect(await daemon.stop()).toEqual(noLeftovers);
    }
  });
});

/**
 * A process runtime whose reports of "stopped" for the containers in `wedged` never come until
 * `release()`: a fake, on purpose, because a real runtime cannot be made to go quiet for one sandbox
 * on demand, and a stop that fails needs one (see test/supervisor/lagging-backend.test.ts).
 */
class PartlyWedgedBackend extends ProcessBackend {
  readonly wedged = new Set<string>();
  readonly #released = new EventTarget();

  release(): void {
    this.wedged.clear();
    this.#released.dispatchEvent(new Event("released"));
  }

  override async waitForStopped(id: string, options: WaitForStoppedOptions = {}): Promise<RuntimeState> {
    const state = await super.waitForStopped(id, options);
    if (!this.wedged.has(id)) return state;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(options.signal?.reason);
      this.#released.addEventListener("released", () => {
        options.signal?.removeEventListener("abort", onAbort);
        resolve(state);
      }, { once: true });
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

test("each sandbox of a batch stop counts, a failed one too; a single stop and the stop-all at shutdown count apart", async () => {
  const backend = new PartlyWedgedBackend();
  const t = await startTestSupervisor({ backend, killGraceMs: 500 });
  const text = () => t.supervisor.metricsText();
  try {
    const fine = await t.supervisor.runPodSandbox({ name: "fine" });
    const wedged = await t.supervisor.runPodSandbox({ name: "wedged" });
    const left = await t.supervisor.runPodSandbox({ name: "left-for-shutdown" });
    backend.wedged.add(t.supervisor.podSandboxStatus(wedged).infraContainerId as string);
    const results = await t.supervisor.stopPodSandboxes({ ids: [fine, wedged] }, { timeoutMs: 500 });
    expect(results.map((result) => result.ok)).toEqual([true, false]);
    expect(valueOf(await text(), 'podvisor_sandbox_stops_total{result="ok",via="batch"}')).toBe(1);
    expect(valueOf(await text(), 'podvisor_sandbox_stops_total{result="failed",via="batch"}')).toBe(1);
    backend.release();
    await t.supervisor.stopPodSandbox(wedged, { timeoutMs: 500 });
    await t.supervisor.stopPodSandbox("malformed id!").catch(() => {}); // a bad request: no sandbox's stop
    expect(valueOf(await text(), 'podvisor_sandbox_stops_total{result="ok",via="single"}')).toBe(1);
    expect(valueOf(await text(), 'podvisor_sandbox_stops_total{result="failed",via="single"}')).toBe(0);
    expect(valueOf(await text(), 'podvisor_sandboxes{state="ready"}')).toBe(1);
    expect(t.supervisor.podSandboxStatus(left).state).toBe("ready");
  } finally {
    backend.release();
    expect(await t.close()).toEqual(noLeftovers);
  }
  // The stop-all at shutdown stopped the one left, and said so.
  const after = await text();
  expect(valueOf(after, 'podvisor_sandbox_stops_total{result="ok",via="shutdown"}')).toBe(1);
  expect(valueOf(after, 'podvisor_sandboxes{state="stopped"}')).toBe(3);
  expect(lintExposition(after)).toEqual([]);
});

test("the exposition lint finds what promtool would", () => {
  const bad = [
    "# HELP a_total x", "# TYPE a_total gauge", "a_total 1",
    "# TYPE b counter", "b 1",
    "# HELP c x", "# TYPE c gauge", 'c{le="1"} 1', 'c{le="1"} 2',
    "# HELP d_seconds x", "# TYPE d_seconds histogram", 'd_seconds_bucket{le="1"} 2', 'd_seconds_bucket{le="+Inf"} 1', "d_seconds_sum 1", "d_seconds_count 1",
    "# HELP e_milliseconds x", "# TYPE e_milliseconds gauge", "e_milliseconds 1",
    "# HELP c x",
    "# HELP f x", "# TYPE f gauge", "f Nan", 'f{a="1"} -Inf', 'f{a="2"} +infinity',
    "garbage line",
  ].join("\n");
  const problems = lintExposition(bad);
  for (const expected of [
    'a_total: non-counter metrics should not have "_total" suffix',
    "b: no help text",
    'b: counter metrics should have "_total" suffix',
    'c: non-histogram metrics should not have "le" label',
    'c: the series c{le="1"} is given twice',
    "c: a second HELP line",
    "c: its lines are split by another family's",
    "d_seconds: the series [] has buckets that are not cumulative",
    'e_milliseconds: use base unit "seconds" instead of "milliseconds"',
  ]) expect(problems).toContain(expected);
  expect(problems.some((problem) => problem.endsWith(": garbage line"))).toBe(true);
  expect(problems.filter((problem) => problem.startsWith("f:") || problem.includes(": f "))).toEqual([]);
});

test("the API thread's histogram of status and list: each call timed, cumulative buckets, lint-clean text", async () => {
  const metrics = new ApiThreadMetrics();
  class Replica {
    readonly #items = ["a", "b"];
    listPodSandbox(): string[] {
      return this.#items;
    }
    runPodSandbox(): string {
      return "not timed";
    }
  }
  const service = metrics.timeReads(new Replica());
  expect(service.listPodSandbox()).toEqual(["a", "b"]);
  expect(service.listPodSandbox()).toEqual(["a", "b"]);
  expect(service.runPodSandbox()).toBe("not timed");
  const text = await metrics.text();
  expect(lintExposition(text)).toEqual([]);
  expect(valueOf(text, 'podvisor_status_request_duration_seconds_count{method="ListPodSandbox"}')).toBe(2);
  expect(valueOf(text, 'podvisor_status_request_duration_seconds_bucket{le="+Inf",method="ListPodSandbox"}')).toBe(2);
  expect(valueOf(text, 'podvisor_status_request_duration_seconds_bucket{le="1",method="ListPodSandbox"}')).toBe(2);
  expect(valueOf(text, 'podvisor_status_request_duration_seconds_count{method="PodSandboxStatus"}')).toBe(0);
});
