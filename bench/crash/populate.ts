/**
 * Fills a daemon with a trial's sandboxes and waits until each container is where the trial wants
 * it before the stop: the early ones exited (their exits recorded), the shells that ignore SIGTERM
 * past their trap, the forking ones with both children running.
 */
import { readFile } from "node:fs/promises";
import { ApiClient } from "../../src/cli/client.ts";
import { cgroupPids } from "../../src/host/cgroup.ts";
import type { ContainerView } from "./exits.ts";
import { exitsEarly, needsInit, readyLine } from "./workloads.ts";
import type { PlannedContainer, WorkloadKind } from "./workloads.ts";

/** Sandboxes being run at once (one connection each). */
const runConcurrency = 8;
/** How long the containers may take to settle after they are all started. */
const settleTimeoutMs = 60_000;
const settlePollMs = 50;

/**
 * Runs `sandboxes` sandboxes with `planned.length / sandboxes` containers each; returns each
 * container's kind by id. With a `rootfs` (the OCI backends), every container gets it, and those
 * that must end as on the process backend run under an init (`needsInit`).
 */
export async function populate(socket: string, sandboxes: number, planned: PlannedContainer[], options: { rootfs?: string } = {}): Promise<Map<string, WorkloadKind>> {
  const perSandbox = planned.length / sandboxes;
  const kinds = new Map<string, WorkloadKind>();
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(runConcurrency, sandboxes) }, async () => {
    const client = await ApiClient.connect(socket);
    try {
      for (let index = next++; index < sandboxes; index = next++) {
        const { podSandboxId } = await client.call<{ podSandboxId: string }>("RunPodSandbox", { config: { name: `crash-${index}` } });
        for (const [slot, container] of planned.slice(index * perSandbox, (index + 1) * perSandbox).entries()) {
          const oci = options.rootfs === undefined ? {} : { rootfs: options.rootfs, init: needsInit(container.kind) };
          const config = { name: `c${slot}-${container.kind}`, command: container.command, ...oci };
          const { containerId } = await client.call<{ containerId: string }>("CreateContainer", { podSandboxId, config });
          await client.call("StartContainer", { containerId });
          kinds.set(containerId, container.kind);
        }
      }
    } finally {
      client.close();
    }
  }));
  return kinds;
}

/** Waits until every container has settled (see the file's comment); throws naming those that did not. */
export async function waitUntilSettled(client: ApiClient, kinds: Map<string, WorkloadKind>, options: { oci?: boolean } = {}): Promise<void> {
  const pending = new Set(kinds.keys());
  const deadlineAt = Date.now() + settleTimeoutMs;
  while (pending.size > 0) {
    const { items } = await client.call<{ items: ContainerView[] }>("ListContainers");
    const byId = new Map(items.map((item) => [item.id, item]));
    await Promise.all([...pending].map(async (id) => {
      const container = byId.get(id);
      if (container !== undefined && (await isSettled(container, kinds.get(id) as WorkloadKind, options.oci === true))) pending.delete(id);
    }));
    if (pending.size === 0) return;
    if (Date.now() > deadlineAt) {
      const names = [...pending].slice(0, 5).map((id) => `${id} (${kinds.get(id)}, ${byId.get(id)?.state})`);
      throw new Error(`Cannot start the trial: ${pending.size} container(s) did not settle within ${settleTimeoutMs} ms: ${names.join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, settlePollMs));
  }
}

async function isSettled(container: ContainerView, kind: WorkloadKind, oci: boolean): Promise<boolean> {
  if (exitsEarly(kind)) return container.state === "exited";
  if (container.state !== "running") return false;
  if (kind === "ignore-term") return (await readFile(container.logPath, "utf8").catch(() => "")).includes(readyLine);
  // The shell and both its children; on an OCI backend its init too.
  if (kind === "forking") return (await cgroupPids(container.cgroupPath)).length >= 3 + (oci && needsInit(kind) ? 1 : 0);
  return true;
}
