import { containerNotFound, sandboxNotFound, validateId } from "../state/ids.ts";
import type { ContainerStatus, PodSandboxStatus, StatusChange } from "./api-types.ts";
import { containerMatches, sandboxMatches } from "./status-filter.ts";
import type { ContainerFilter, SandboxFilter } from "./status-filter.ts";

/**
 * The API thread's copy of every sandbox's and container's status, kept by the changes the
 * supervisor sends in order. Status and list answer from it without asking the main thread, so
 * they never wait behind a stop, however busy the main thread is. An answer to a request that
 * changed something waits until the copy has caught up with that change (`whenAt`), so a client
 * always reads its own writes.
 */
export class StatusReplica {
  #sandboxes = new Map<string, PodSandboxStatus>();
  #containers = new Map<string, ContainerStatus>();
  #applied = 0;
  #waiters: { seq: number; resolve: () => void }[] = [];

  apply(change: StatusChange): void {
    switch (change.kind) {
      case "sandbox":
        this.#sandboxes.set(change.status.id, change.status);
        break;
      case "container":
        this.#containers.set(change.status.id, change.status);
        break;
      case "sandbox-removed":
        this.#sandboxes.delete(change.id);
        break;
      case "container-removed":
        this.#containers.delete(change.id);
        break;
    }
  }

  /** Says every change up to `seq` (the main thread's count) has been applied. */
  advance(seq: number): void {
    this.#applied = Math.max(this.#applied, seq);
    const ready = this.#waiters.filter((waiter) => waiter.seq <= this.#applied);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((waiter) => waiter.seq > this.#applied);
    for (const waiter of ready) waiter.resolve();
  }

  /** Resolves once every change up to `seq` is in the copy. */
  whenAt(seq: number): Promise<void> {
    if (seq <= this.#applied) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }

  podSandboxStatus(id: string): PodSandboxStatus {
    validateId(id, "pod sandbox");
    const status = this.#sandboxes.get(id);
    if (status === undefined) throw sandboxNotFound(id);
    return status;
  }

  listPodSandbox(filter: SandboxFilter = {}): PodSandboxStatus[] {
    return [...this.#sandboxes.values()].filter((status) => sandboxMatches(status, filter));
  }

  containerStatus(id: string): ContainerStatus {
    validateId(id, "container");
    const status = this.#containers.get(id);
    if (status === undefined) throw containerNotFound(id);
    return status;
  }

  listContainers(filter: ContainerFilter = {}): ContainerStatus[] {
    return [...this.#containers.values()].filter((status) => containerMatches(status, filter));
  }
}
