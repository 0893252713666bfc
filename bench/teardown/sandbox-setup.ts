/**
 * The setup of the teardown benchmark: every sandbox run through the socket API (16 clients' worth
 * of calls in flight on one connection), timed, with the daemon's CPU time over it — its own
 * threads, and the helpers it forked and reaped — beside what the whole machine spent.
 */
import type { ApiClient } from "../../src/cli/client.ts";
import { machineBusyCpuMs, probeProcess } from "./daemon-probe.ts";

/** What each container of the run is given. */
export interface SandboxSetupOptions {
  sandboxes: number;
  containers: number;
  command: readonly string[];
  /** The containers' root filesystem (required on the OCI backends). */
  rootfs?: string;
  /** Run each container under an init (catatonit) as PID 1: `init: true`. */
  init?: boolean;
}

/** What running them all cost (ms). */
export interface SetupCost {
  wallMs: number;
  /** The daemon's own threads (utime + stime) over the setup. */
  daemonCpuMs: number;
  /** The daemon's reaped children (cutime + cstime) over the setup: `unshare`, `mount`, … */
  daemonChildrenCpuMs: number;
  /** The whole machine's busy CPU time over the setup: conmon, the OCI runtime, the holder, the kernel — and anything else running. */
  machineCpuMs: number;
}

/** How many sandboxes are being run at once. */
const concurrency = 16;

/**
 * Runs `options.sandboxes` sandboxes of `options.containers` started containers each, and says
 * what it cost.
 *
 * @example
 * const cost = await setUpSandboxes(client, daemonPid, { sandboxes: 100, containers: 3, command: ["sleep", "100000"] });
 */
export async function setUpSandboxes(client: ApiClient, daemonPid: number, options: SandboxSetupOptions): Promise<SetupCost> {
  const [daemonBefore, machineBefore] = [await probeProcess(daemonPid), await machineBusyCpuMs()];
  const startedAt = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < options.sandboxes) {
      next++;
      const { podSandboxId } = await client.call<{ podSandboxId: string }>("RunPodSandbox", { config: { name: `bench-${next}` } });
      for (let index = 0; index < options.containers; index++) {
        const config = {
          name: `c${index}`,
          command: [...options.command],
          ...(options.rootfs === undefined ? {} : { rootfs: options.rootfs }),
          ...(options.init === true ? { init: true } : {}),
        };
        const { containerId } = await client.call<{ containerId: string }>("CreateContainer", { podSandboxId, config }).catch((error: unknown) => {
          if (options.init === true && /Unrecognized key: "init"/.test(String((error as Error).message))) {
            throw new Error("Cannot benchmark this workload on an OCI backend: the daemon does not accept the container option `init` yet, and a bare process as PID 1 ignores SIGTERM", { cause: error });
          }
          throw error;
        });
        await client.call("StartContainer", { containerId });
      }
    }
  }));
  const wallMs = performance.now() - startedAt;
  const [daemonAfter, machineAfter] = [await probeProcess(daemonPid), await machineBusyCpuMs()];
  return {
    wallMs,
    daemonCpuMs: daemonAfter.cpuMs - daemonBefore.cpuMs,
    daemonChildrenCpuMs: daemonAfter.childrenCpuMs - daemonBefore.childrenCpuMs,
    machineCpuMs: machineAfter - machineBefore,
  };
}
