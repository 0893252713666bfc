/**
 * The exits a crash must not lose: every exit a client was told of (through `ContainerStatus` or
 * `ListContainers`) or that lay on disk when the daemon died, compared with what the next daemon
 * reports once everything is stopped.
 */
import { StateStore } from "../../src/state/state-store.ts";

/** The fields that say how a container ended. */
export interface ExitFields {
  exitCode?: number;
  signal?: string;
  reason?: string;
  exitCodeUnknown?: boolean;
}

/** What `ListContainers` reports of a container (the fields a trial reads). */
export interface ContainerView extends ExitFields {
  id: string;
  podSandboxId: string;
  infra: boolean;
  state: "created" | "running" | "exited";
  pid?: number;
  logPath: string;
  cgroupPath: string;
}

/** An exit that was known before the crash and reads differently after it. */
export interface LostExit {
  containerId: string;
  /** Where it was first known: `api:<moment>` or `disk`. */
  source: string;
  before: ExitFields;
  after: ExitFields | string;
}

/** A container's exit fields, if it has exited. */
export function exitOf(container: { state: string } & ExitFields): ExitFields | undefined {
  if (container.state !== "exited") return undefined;
  const { exitCode, signal, reason, exitCodeUnknown } = container;
  return { exitCode, signal, reason, exitCodeUnknown: exitCodeUnknown === true };
}

function sameExit(a: ExitFields, b: ExitFields): boolean {
  return a.exitCode === b.exitCode && a.signal === b.signal && a.reason === b.reason && (a.exitCodeUnknown === true) === (b.exitCodeUnknown === true);
}

/** What a dead daemon left on disk: its records, and the stops it had not finished. */
export interface DiskView {
  containers: ({ id: string; state: string } & ExitFields)[];
  sandboxes: { id: string; state: string }[];
  /** The stop journal's entries: each a stop that had begun and not finished. */
  stopIntents: { deadlineAt: number; podSandboxIds: string[] }[];
}

/** Reads the records under a daemon's root; only while no daemon runs on it. */
export async function readDisk(root: string): Promise<DiskView> {
  const store = new StateStore(root);
  await store.load();
  const { intents } = await store.readStopIntents();
  return { containers: [...store.containers.values()], sandboxes: [...store.sandboxes.values()], stopIntents: intents };
}

/** Every exit known so far, by container, as first seen; a later sighting that differs is a loss. */
export class ExitLedger {
  #known = new Map<string, { exit: ExitFields; source: string }>();
  #changed: LostExit[] = [];

  get size(): number {
    return this.#known.size;
  }

  observe(containerId: string, exit: ExitFields, source: string): void {
    const known = this.#known.get(containerId);
    if (known === undefined) this.#known.set(containerId, { exit, source });
    else if (!sameExit(known.exit, exit)) this.#changed.push({ containerId, source: known.source, before: known.exit, after: { ...exit, reason: `${exit.reason} (${source})` } });
  }

  observeAll(containers: Iterable<{ id: string; state: string } & ExitFields>, source: string): void {
    for (const container of containers) {
      const exit = exitOf(container);
      if (exit !== undefined) this.observe(container.id, exit, source);
    }
  }

  /** The exits known before that the final view lost or changed, one entry per container at most. */
  lost(final: Map<string, ContainerView>): LostExit[] {
    const lost = new Map(this.#changed.map((entry) => [entry.containerId, entry]));
    for (const [containerId, { exit, source }] of this.#known) {
      if (lost.has(containerId)) continue;
      const now = final.get(containerId);
      const after = now === undefined ? "no such container" : exitOf(now) ?? `state ${now.state}`;
      if (typeof after === "string" || !sameExit(exit, after)) lost.set(containerId, { containerId, source, before: exit, after });
    }
    return [...lost.values()];
  }
}
