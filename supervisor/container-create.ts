import { mkdir } from "node:fs/promises";
import { getLogger } from "../src/log/logger.ts";
import { join } from "node:path";
import { CodedError } from "../src/actor-system/index.ts";
import { mountRootfs, unmountRootfs } from "../src/host/rootfs.ts";
import type { ContainerRecord } from "../src/state/records.ts";
import type { SandboxMessage } from "../actors/protocol.ts";
import { containerSpec } from "./container-spec.ts";
import type { SupervisorContext } from "./context.ts";
import { newId } from "../src/state/ids.ts";
import { inFlightOf } from "./in-flight.ts";
import { findSandbox } from "./lookup.ts";
import { normalizeContainerConfig } from "./validate.ts";
import { resolveContainerImage } from "./container-image.ts";

const log = getLogger("supervisor");

const actorCallMs = 30_000;

/**
 * Creates a container in a ready sandbox: its directory and log under the root, an overlay rootfs
 * when asked (the client's directory is the read-only lower layer), the runtime's container, and
 * its actor (a child of the sandbox's). Nothing runs until it is started.
 */
export async function createContainer(context: SupervisorContext, sandboxId: string, config: unknown, options: { infra?: boolean } = {}): Promise<string> {
  const requested = normalizeContainerConfig(config);
  const { command: _command, args: _args, ...normalized } = requested;
  const sandbox = findSandbox(context, sandboxId);
  if (sandbox.state !== "ready") throw new CodedError("FAILED_PRECONDITION", `Cannot create container: pod sandbox ${sandboxId} is ${sandbox.state}`);
  // The image's entrypoint, cmd, env, working directory and layers, by CRI's rules (container-image.ts).
  const image = resolveContainerImage(context, requested);
  if (sandbox.dnsConfig !== undefined && image.rootfs === undefined && options.infra !== true) {
    image.release();
    throw new CodedError("INVALID_ARGUMENT", `Cannot create container: pod sandbox ${sandboxId} has a dnsConfig, and its resolv.conf is bound into a container root (an image or a rootfs): without one the container sees the host's /etc/resolv.conf`);
  }
  const id = newId();
  const dir = context.store.containerDir(sandboxId, id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const record: ContainerRecord = {
    id,
    sandboxId,
    ...normalized,
    command: image.command,
    env: image.env,
    cwd: image.cwd,
    rootfs: image.rootfs,
    infra: options.infra ?? false,
    dir,
    logPath: join(dir, "container.log"),
    cgroupPath: `${sandbox.cgroupPath}/ctr-${id}`,
    state: "created",
    createdAt: context.clock.now(),
  };
  // Its rootfs mount and cgroup exist before its record does: the leak check leaves them alone until then.
  const done = inFlightOf(context).begin(id);
  try {
    if (record.rootfs !== undefined) await mountRootfs({ lowerDir: record.rootfs, containerDir: dir, root: context.root });
    await context.backend.create(containerSpec(record, sandbox));
    await context.store.saveContainer(record);
    const message: SandboxMessage = { type: "sandbox.add-container", record };
    await context.system.ask(sandboxId, message, { deadlineAt: context.clock.now() + actorCallMs });
    log.info("Created container", { containerId: id, sandboxId, name: record.name, infra: record.infra });
  } catch (error) {
    await context.backend.delete(id).catch(() => {});
    if (record.rootfs !== undefined) await unmountRootfs(dir, { root: context.root }).catch(() => {});
    await context.store.removeContainer(record).catch(() => {});
    throw error;
  } finally {
    done();
    image.release();
  }
  return id;
}
