/**
 * The same supervisor test on both backends (issue 12: "every rule of SEMANTICS.md is tested on
 * `process` and on `runc`"): `describe.each(backends)` and {@link useBackendSupervisors} in the
 * body. On `process` the test pods run the host's sh and sleep; on `runc` busybox's, in a
 * busybox-static root file system made once per test file (each container gets its own overlay of
 * it, as podvisor mounts one), through conmon, each in its own pid namespace.
 *
 * PID 1 of a pid namespace ignores every signal it has no handler for, so a bare `sleep` on runc
 * survives SIGTERM: runc containers run under catatonit (`init: true`) unless a test says
 * `init: false` — the main-exit tests do, to have the shell itself be the container's init.
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll } from "vitest";
import { v1Hierarchies } from "../../src/host/cgroup-v1.ts";
import { OciBackend } from "../../src/runtime/oci/oci-backend.ts";
import type { OciBackendOptions } from "../../src/runtime/oci/oci-backend.ts";
import type { RuntimeBackend } from "../../src/runtime/runtime-backend.ts";
import { ProcessBackend } from "../../src/runtime/process-backend.ts";
import type { SupervisorOptions } from "../../supervisor/supervisor.ts";
import type { HostLeftovers } from "../../src/host/leftovers.ts";
import { makeBusyboxRootfs } from "../runtime/oci-fixtures.ts";
import { startTestSupervisor, waitUntil } from "./supervisor.ts";
import type { TestSupervisor } from "./supervisor.ts";
import { testTempPrefix } from "./test-run.ts";

export const backends = ["process", "runc"] as const;
export type BackendName = (typeof backends)[number];

/** A container of a test pod: its command, or its command and (on runc) whether it runs under catatonit (default: yes). */
export type TestContainer = string[] | { command: string[]; init?: boolean };

export interface BackendSupervisorOptions extends Partial<SupervisorOptions> {
  /** Options of the OCI backend (on runc): another runtime binary, `signalsDirectly` … */
  oci?: Partial<OciBackendOptions>;
  /** Wraps the backend (a test's deliberate fake around the real one). */
  wrap?: (backend: RuntimeBackend) => RuntimeBackend;
}

export interface BackendSupervisor extends TestSupervisor {
  readonly backendName: BackendName;
  /** The backend the supervisor was given (the wrapper, when the test wrapped it). */
  readonly backend: RuntimeBackend;
  /** The createContainer config of a test container on this backend (the rootfs and init on runc). */
  containerConfig(container: TestContainer, extra?: Record<string, unknown>): Record<string, unknown>;
  /** Runs a sandbox with one started container each; waits for every "ready" a command says. */
  runPod(containers: TestContainer[], config?: Record<string, unknown>): Promise<{ id: string; containers: string[] }>;
  /**
   * How the infra container ends on its stop signal: killed by it on `process`; on runc it is
   * catatonit's pause, which exits 0 on SIGTERM (as the Kubernetes pause does).
   */
  readonly infraOnStopSignal: Record<string, unknown>;
  /** A container's cgroup, relative to the cgroup2 mount. */
  cgroupOf(sandboxId: string, containerId: string): string;
  /** The text a container wrote to its log (conmon's CRI format on runc: the lines carry a prefix). */
  logOf(containerId: string): Promise<string>;
}

/** The busybox root of this test file: made on first use, removed after the file's tests. */
let lower: Promise<string> | undefined;
let lowerCleanup = false;

function busyboxRoot(): Promise<string> {
  if (!lowerCleanup) throw new Error("Cannot make the busybox root: call useBackendSupervisors() at the top of the test file (it cleans up)");
  lower ??= (async () => {
    const dir = await mkdtemp(testTempPrefix("busybox"));
    await makeBusyboxRootfs(dir);
    return dir;
  })();
  return lower;
}

/** Registers the cleanup of the file's busybox root; call once at the top of a test file that uses {@link startBackendSupervisor}. */
export function useBackendSupervisors(): void {
  if (lowerCleanup) return;
  lowerCleanup = true;
  afterAll(async () => {
    if (lower !== undefined) await rm(await lower, { recursive: true, force: true });
    lower = undefined;
  });
}

/** Starts a test supervisor on `process` or on `runc` (an OciBackend under `<root>/oci`, as the daemon makes it). */
export async function startBackendSupervisor(backendName: BackendName, options: BackendSupervisorOptions = {}): Promise<BackendSupervisor> {
  const { oci, wrap, ...supervisorOptions } = options;
  const root = supervisorOptions.root ?? (await mkdtemp(testTempPrefix(backendName)));
  const rootfs = backendName === "runc" ? await busyboxRoot() : undefined;
  const inner: RuntimeBackend = backendName === "runc" ? await OciBackend.open({ root: join(root, "oci"), runtime: "runc", ...oci }) : new ProcessBackend();
  const backend = wrap?.(inner) ?? inner;
  const t = await startTestSupervisor({ ...supervisorOptions, root, backend });
  const containerConfig = (container: TestContainer, extra: Record<string, unknown> = {}) => {
    const { command, init } = Array.isArray(container) ? { command: container, init: undefined } : container;
    return rootfs === undefined ? { command, ...extra } : { command, rootfs, init: init ?? true, ...extra };
  };
  const logOf = (containerId: string) => readFile(t.supervisor.containerStatus(containerId).logPath, "utf8").catch(() => "");
  return {
    ...t,
    backendName,
    backend,
    infraOnStopSignal: backendName === "runc" ? { state: "exited", exitCode: 0, reason: "exited" } : { state: "exited", signal: "SIGTERM", reason: "signalled" },
    containerConfig,
    logOf,
    cgroupOf: (sandboxId, containerId) => `${t.supervisor.podSandboxStatus(sandboxId).cgroupPath}/ctr-${containerId}`,
    async runPod(containers, config = {}) {
      const id = await t.supervisor.runPodSandbox({ name: "test", ...config });
      const ids: string[] = [];
      for (const [index, container] of containers.entries()) {
        const containerId = await t.supervisor.createContainer(id, { name: `c${index}`, ...containerConfig(container) });
        await t.supervisor.startContainer(containerId);
        ids.push(containerId);
      }
      for (const [index, containerId] of ids.entries()) {
        const { command } = Array.isArray(containers[index]) ? { command: containers[index] } : containers[index];
        if (command.join(" ").includes("echo ready")) await waitUntil(async () => (await logOf(containerId)).includes("ready"));
      }
      return { id, containers: ids };
    },
    async close() {
      const { supervisor } = t;
      if (backendName !== "runc") return t.close();
      const pids = conmonPidsUnder(supervisor.root);
      // A stopped runc container keeps its v1 cgroups until it is deleted (RemoveContainer): what a
      // test left is stopped and removed here, as a user would, before the shutdown.
      await supervisor.stopAllPodSandboxes({ timeoutMs: 2_000 });
      for (const { id } of supervisor.listPodSandbox()) await supervisor.removePodSandbox(id);
      const leftovers = await t.close();
      // conmon outlives the daemon by design; after a stop-all and shutdown none may still run.
      leftovers.pids.push(...pids.filter((pid) => conmonPidsUnder(supervisor.root, [pid]).length > 0));
      leftovers.cgroups.push(...(await v1Leftovers(`podvisor-${supervisor.tag}`)));
      return leftovers;
    },
  };
}

/** conmon processes whose command line names `root` (among `candidates`, or all of /proc). */
function conmonPidsUnder(root: string, candidates?: number[]): number[] {
  const pids = candidates ?? readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  return pids.filter((pid) => {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return cmdline[0].endsWith("conmon") && cmdline.some((arg) => arg.includes(root));
    } catch {
      return false;
    }
  });
}

/**
 * What runc left of the daemon's cgroups in the v1 hierarchies (a hybrid host): reported as leftovers
 * (`v1:<folder>`), then removed where empty, so that one leak is not reported twice.
 */
async function v1Leftovers(top: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
    if (entries === undefined) return;
    found.push(dir);
    for (const entry of entries) if (entry.isDirectory()) await walk(join(dir, entry.name));
  };
  for (const hierarchy of await v1Hierarchies()) await walk(join(hierarchy, top));
  for (const dir of [...found].reverse()) await rmdir(dir).catch(() => {});
  return found.map((dir) => `v1:${dir}`);
}
