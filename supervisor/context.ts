import type { ImageStore } from "../src/image/image-store.ts";
import type { ActorSystem } from "../src/actor-system/index.ts";
import type { Clock } from "../src/async/clock.ts";
import type { RuntimeBackend } from "../src/runtime/runtime-backend.ts";
import type { StopRequestOptions } from "../src/api/pod-service.ts";
import type { Metrics } from "../src/metrics/metrics.ts";
import type { PodNetwork } from "../src/network/pod-network.ts";
import type { StateStore } from "../src/state/state-store.ts";
import type { HostWork } from "./host-work.ts";
import type { InFlightIds } from "./in-flight.ts";
import type { HostCheckState } from "./leak-check.ts";
import type { RuntimeService } from "./runtime-service.ts";
import type { StopDeadlines } from "./stop/stop-deadlines.ts";

/** What every supervisor verb works with: one object, built once by the Supervisor. */
export interface SupervisorContext {
  /** The daemon's root (resolved): everything it creates on disk lies under it. */
  root: string;
  /** Short tag derived from the root, in every netns and cgroup name, so two daemons never collide. */
  tag: string;
  system: ActorSystem;
  store: StateStore;
  backend: RuntimeBackend;
  /** The main thread's runtime operations (what the container actors ask for, and what a takeover calls). */
  runtime: RuntimeService;
  /** Where every deadline decision on the stop path takes its time from; tests drive a manual one. */
  clock: Clock;
  deadlines: StopDeadlines;
  /** Stops in progress, by sandbox id: a second stop joins the first. */
  stopsInFlight: Map<string, Promise<StopOutcome>>;
  /**
   * Containers the main thread is stopping itself because their actor was lost or hangs: until it
   * has recorded their exit, a rebuilt actor's report of the same exit must not be written over it.
   */
  takenOver: Set<string>;
  /** Time a container gets after its kill to be reported stopped; more in a big stop (`killGraceFor`). */
  killGraceMs: number;
  metrics: Metrics;
  hostWork: HostWork;
  /** The image store (src/image), for containers made from an image; set at the supervisor's start. */
  images?: ImageStore;
  /** The CNI pod network (ADD at run, DEL at stop); absent: every sandbox has network "none". */
  network?: PodNetwork;
  /** `parallel` (default); `sequential` stops the way the reference did, for the benchmark's baseline. */
  stopStrategy: StopStrategy;
  /** Ids whose run, create or start is in flight: the leak check leaves their host objects alone. Made on first use (`inFlightOf`). */
  inFlight?: InFlightIds;
  /** The leak check's own state: the check running, the leaks of the last one. Made on first use. */
  hostCheck?: HostCheckState;
}

export type StopStrategy = "parallel" | "sequential";

/** What a sandbox stop did: each host step with its duration, and the containers' outcomes. */
export interface StopOutcome {
  podSandboxId: string;
  durationMs: number;
  phases: Record<string, number>;
  /** Host steps not done, and why (SELinux off, host network …): recorded, never faked. */
  skipped: Record<string, string>;
  warnings: string[];
}

/** A timeout (relative) or a deadline (absolute), as the API takes them; the deadline wins. */
export type StopOptions = StopRequestOptions;

export const defaultStopTimeoutMs = 10_000;

/** The absolute deadline a stop runs under. */
export function resolveDeadline(options: StopOptions, now: number): number {
  if (options.deadlineAt !== undefined) {
    if (!Number.isFinite(options.deadlineAt)) throw new RangeError("Cannot stop: deadlineAt must be a finite epoch time in ms");
    return options.deadlineAt;
  }
  const timeoutMs = options.timeoutMs ?? defaultStopTimeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError("Cannot stop: timeoutMs must be a non-negative number");
  return now + timeoutMs;
}
