/**
 * Setting up the raw floor's host: per sandbox a network namespace, an shm tmpfs, a cgroup, and
 * 1 infra + M container processes, each in its own child cgroup and joined to the namespace,
 * optionally each on an overlay rootfs. Not timed; only the teardown is (floor-teardown.ts).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { createCgroup, findCgroup2Mount } from "../../src/host/cgroup.ts";
import { createNetns } from "../../src/host/netns-create.ts";
import { mountRootfs } from "../../src/host/rootfs.ts";
import { mountShm } from "../../src/host/shm.ts";
import { infraCommand, shellQuote, workloadCommands } from "./floor-workloads.ts";
import type { Workload, WorkloadCommand } from "./floor-workloads.ts";
import { waitForFloorProcesses } from "./floor-ready.ts";

/** What setup made, filled in as it goes so cleanup can undo a half-done setup. */
export interface FloorHost {
  /** The top cgroup, `pvfloor-<tag>`; every container cgroup lies below it. */
  top: string;
  netnsNames: string[];
  /** Mount points (shm, then rootfs), resolved. */
  mounts: string[];
  /** Per container (infra first in each sandbox): its cgroup (relative to the mount) and main pid. */
  containers: { cgroup: string; pid: number; command: WorkloadCommand }[];
  sandboxCgroups: string[];
  /** The shells that fork the processes and reap them; each exits when its last child has. */
  drivers: ResultPromise[];
}

/** The part of the floor's options setup needs. */
export interface FloorSetupOptions {
  sandboxes: number;
  containers: number;
  workload: Workload;
  rootfs?: boolean;
  root: string;
  tag: string;
}

/** Sandboxes set up at once (each costs a few `unshare`/`mount` processes). */
const setupConcurrency = 4;
/** Shells forking the container processes, side by side. */
const driverCount = 4;

/**
 * Makes every host resource of the floor, recording each in `host` as soon as it exists.
 *
 * @example
 * const host = emptyFloorHost("a1"); await setUpFloor(options, host);
 */
export async function setUpFloor(options: FloorSetupOptions, host: FloorHost): Promise<void> {
  await mkdir(options.root, { recursive: true });
  const lowerDir = `${options.root}/lower`;
  if (options.rootfs === true) {
    await mkdir(lowerDir);
    await writeFile(`${lowerDir}/hello`, "floor\n");
  }
  const perSandbox = Array.from({ length: options.containers + 1 }, (_, j) => (j === 0 ? infraCommand : workloadCommands[options.workload]));
  await eachLimit(options.sandboxes, setupConcurrency, async (i) => {
    const sandboxCgroup = `${host.top}/sb-${i}`;
    host.sandboxCgroups.push(sandboxCgroup);
    for (let j = 0; j < perSandbox.length; j++) await createCgroup(`${sandboxCgroup}/c-${j}`);
    host.netnsNames.push((await createNetns(`pvfloor-${options.tag}-${i}`)).name);
    host.mounts.push(await mountShm(`sb-${i}/shm`, { root: options.root }));
    if (options.rootfs !== true) return;
    for (let j = 0; j < perSandbox.length; j++) {
      host.mounts.push((await mountRootfs({ lowerDir, containerDir: `sb-${i}/c-${j}`, root: options.root })).mergedDir);
    }
  });
  await spawnProcesses(options, host, perSandbox);
  await waitForFloorProcesses(host.containers, { signal: AbortSignal.timeout(30_000 + options.sandboxes * perSandbox.length * 10) });
}

/** An empty record for the floor with this tag. */
export function emptyFloorHost(tag: string): FloorHost {
  return { top: `pvfloor-${tag}`, netnsNames: [], mounts: [], containers: [], sandboxCgroups: [], drivers: [] };
}

/**
 * Starts a few `sh` drivers, each forking its share of the processes: a subshell moves itself into
 * its cgroup (`echo 0 > cgroup.procs` moves the writer) and execs `nsenter --net=… <command>`, so
 * the workload runs in its cgroup and netns from its first instruction. The driver prints each
 * pid, then `ready`, then waits for (and so reaps) its children.
 */
async function spawnProcesses(options: FloorSetupOptions, host: FloorHost, perSandbox: WorkloadCommand[]): Promise<void> {
  const mount = await findCgroup2Mount();
  const drivers = Math.min(driverCount, options.sandboxes);
  await Promise.all(
    Array.from({ length: drivers }, async (_, k) => {
      const lines: string[] = [];
      for (let i = k; i < options.sandboxes; i += drivers) {
        for (const [j, command] of perSandbox.entries()) {
          const procs = shellQuote(`${mount}/${host.top}/sb-${i}/c-${j}/cgroup.procs`);
          const run = ["nsenter", `--net=/run/netns/pvfloor-${options.tag}-${i}`, ...command.argv].map(shellQuote).join(" ");
          lines.push(`( echo 0 >${procs} && exec ${run} ) >/dev/null </dev/null &`, `echo ${i} ${j} $!`);
        }
      }
      const script = `${options.root}/spawn-${k}.sh`;
      await writeFile(script, `${lines.join("\n")}\necho ready\nwait\n`);
      const driver = execa("sh", [script], { stdin: "ignore", buffer: { stdout: false }, reject: false });
      host.drivers.push(driver);
      for (const line of await readUntilReady(driver)) {
        const [i, j, pid] = line.split(" ").map(Number);
        host.containers.push({ cgroup: `${host.top}/sb-${i}/c-${j}`, pid, command: perSandbox[j] });
      }
    }),
  );
}

/** The lines a driver prints before `ready`; rejects if it exits first. */
function readUntilReady(driver: ResultPromise): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = "";
    driver.stdout?.setEncoding("utf8");
    driver.stdout?.on("data", (chunk: string) => {
      text += chunk;
      if (text.endsWith("ready\n")) resolve(text.split("\n").slice(0, -2));
    });
    void driver.then((result) => reject(new Error(`Cannot start the floor's processes: the driver exited early (${result.shortMessage ?? result.exitCode})`)));
  });
}

/** Runs `task(0 … count-1)`, at most `limit` at once. */
async function eachLimit(count: number, limit: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}
