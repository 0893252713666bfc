/**
 * The commands a service manager starts the daemon with, and stops it with SIGTERM to their pid:
 * `bin/podvisor.js` on a Node older than 22.18 (which re-runs itself on the project's Node, as a
 * child) and `bin/podvisor-deno` (a shell script that execs Deno). SIGTERM to the pid started must
 * stop the daemon and its sandboxes, and the command must end as the daemon ended.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { describe, expect, test } from "vitest";
import { waitForSocket } from "../../src/api/socket-probe.ts";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import { isAlive, noLeftovers } from "../support/supervisor.ts";

const projectDir = new URL("../../", import.meta.url).pathname;
const nodeWrapper = join(projectDir, "bin/podvisor.js");
const denoWrapper = join(projectDir, "bin/podvisor-deno");
const readyCheck = join(projectDir, "bin/podvisor-ready.js");

/** A Node older than 22.18 on this machine, which makes bin/podvisor.js re-run itself; undefined if none. */
function oldNode(): string | undefined {
  for (const candidate of ["/usr/bin/node", "/usr/local/bin/node"]) {
    if (!existsSync(candidate)) continue;
    const [major, minor] = execFileSync(candidate, ["-p", "process.versions.node"], { encoding: "utf8" }).trim().split(".").map(Number);
    if (major < 22 || (major === 22 && minor < 18)) return candidate;
  }
  return undefined;
}
const machineNode = oldNode();

/** The pids of `pid`'s children. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The daemon's pid: `pid` itself when the command execs the daemon, else its one child (a re-run of the wrapper on the project's Node). */
function daemonPidOf(pid: number, forwards: boolean): number {
  if (!forwards) return pid;
  const [child, ...others] = childrenOf(pid);
  if (child === undefined || others.length > 0) throw new Error(`Expected one child of the wrapper ${pid}, found ${childrenOf(pid).join(", ") || "none"}`);
  return child;
}

interface Started {
  root: string;
  socket: string;
  wrapper: ResultPromise;
  daemonPid: number;
}

async function startThrough(file: string, args: string[], forwards: boolean): Promise<Started> {
  const root = await mkdtemp(join(tmpdir(), "pvtest-wrapper-"));
  const socket = join(root, "api.sock");
  const wrapper = execa(file, [...args, "daemon", "--root", root, "--socket", socket, "--workers", "2", "--stop-timeout", "2"], {
    reject: false, stdin: "ignore", env: { PODVISOR_LOG_LEVEL: "warn" },
  });
  let exited = false;
  void wrapper.then(() => (exited = true));
  await waitForSocket(socket, { timeoutMs: 30_000, gaveUp: () => (exited ? "The daemon exited before serving its socket" : undefined) });
  return { root, socket, wrapper, daemonPid: daemonPidOf(wrapper.pid as number, forwards) };
}

/** A sandbox with a container that ignores SIGTERM (killed at its deadline); returns the container's pid. */
async function sandboxWithContainer(socket: string): Promise<number> {
  const api = await RawClient.connect(socket);
  try {
    const { result: run } = await api.call("RunPodSandbox", { config: { name: "wrapped" } });
    const config = { name: "stubborn", command: ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"] };
    const { result: created } = await api.call("CreateContainer", { podSandboxId: run.podSandboxId, config });
    expect((await api.call("StartContainer", { containerId: created.containerId })).error).toBeUndefined();
    const { result } = await api.call("ContainerStatus", { containerId: created.containerId });
    return result.status.pid as number;
  } finally {
    api.close();
  }
}

async function leftoversOf(root: string) {
  const tag = createHash("sha256").update(root).digest("hex").slice(0, 8);
  return findHostLeftovers({ root, tag });
}

const commands = [
  { name: "bin/podvisor.js on the machine's older Node", file: machineNode ?? "", args: [nodeWrapper], available: machineNode !== undefined, forwards: true },
  { name: "bin/podvisor-deno", file: denoWrapper, args: [], available: true, forwards: false },
];

describe.each(commands)("the daemon started through $name", ({ file, args, available, forwards }) => {
  test.skipIf(!available)("SIGTERM to the command's pid stops every sandbox and the daemon; the command exits 0 as the daemon does", async () => {
    const started = await startThrough(file, args, forwards);
    // Through the Deno script the daemon is the pid itself (exec): no shell is left in between.
    if (!forwards) expect(readFileSync(`/proc/${started.daemonPid}/cmdline`, "utf8").split("\0")).toContain("run");
    // The readiness check of contrib/podvisor.service (ExecStartPost) passes once the socket serves.
    expect((await execa(file === denoWrapper ? "node" : file, [readyCheck, started.socket, "10"], { preferLocal: true, reject: false })).exitCode).toBe(0);
    const containerPid = await sandboxWithContainer(started.socket);
    expect(isAlive(containerPid)).toBe(true);
    process.kill(started.wrapper.pid as number, "SIGTERM"); // as a service manager does (execa's kill() makes Deno report the signal, not the exit status)
    const result = await started.wrapper;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(isAlive(started.daemonPid)).toBe(false);
    expect(isAlive(containerPid)).toBe(false);
    expect(await leftoversOf(started.root)).toEqual(noLeftovers);
    await rm(started.root, { recursive: true, force: true });
  });

  test.skipIf(!available || !forwards)("the wrapper ends as its daemon ended: killed by SIGKILL when the daemon was", async () => {
    const started = await startThrough(file, args, forwards);
    process.kill(started.daemonPid, "SIGKILL");
    const result = await started.wrapper;
    expect(result.signal).toBe("SIGKILL");
    // The crash left the daemon's process holder: a daemon on the same root adopts and ends it.
    const next = await startDaemonProcess("node", [], { root: started.root });
    expect(await next.stop()).toEqual(noLeftovers);
  });
});

test("the readiness check fails, after its timeout, on a socket nothing serves", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pvtest-ready-"));
  const result = await execa("node", [readyCheck, join(dir, "none.sock"), "0.3"], { preferLocal: true, reject: false });
  expect(result.exitCode).toBe(1);
  expect(String(result.stderr)).toMatch(/^podvisor-ready: nothing served .*none\.sock within 0\.3 s$/);
  await rm(dir, { recursive: true, force: true });
});
