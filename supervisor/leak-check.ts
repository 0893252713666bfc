/**
 * The leak check: compares what lies on the host under this daemon's names (mounts under its root,
 * network namespaces `pv-<tag>-…`, cgroups `podvisor-<tag>/…` and the processes in them) with its
 * records, reports the difference, and on request removes what no record owns.
 *
 * Why it never removes what an operation in flight is about to own — the check runs while the
 * daemon serves requests, and RunPodSandbox, CreateContainer and StartContainer all put things on
 * the host before a record says they own them:
 *
 * 1. Those three verbs mark their sandbox's or container's id in flight (`inFlightOf(context)`)
 *    before they make anything, and unmark it only once the record says it owns what they made
 *    (or their undo has removed it). Every host object is named after the ids it belongs to.
 * 2. The check reads the records first, synchronously, in the same turn as it starts watching the
 *    in-flight ids, and reads the host only afterwards. Everything on the host then either belongs
 *    to a record of the snapshot, or to an operation that was in flight at the snapshot or began
 *    after it — and the window holds those ids, even once their operation has ended. Such objects
 *    are reported as in flight, never as leaks.
 * 3. Removals only ever shrink the host: a record removed after the snapshot had its objects
 *    removed before it went (a remove deletes the record last), and a stop marks its sandbox
 *    stopped only after its host cleanup, so a stopping sandbox still owns everything.
 * 4. Ids are never reused (nanoid), so a leaked object's name can belong to no later operation;
 *    the one object that can be taken up again — the cgroup of a created container, by a start —
 *    has its processes reported and never killed. Each removal checks the window again first.
 * 5. The periodic check adds a second guard (`repairOnlyRepeated`): it removes only what the
 *    previous check found leaked too, a full interval earlier.
 *
 * Another daemon on the same host has another root and so another tag: nothing of it is named
 * under this daemon's names, and mounts are looked for only below this root's `sandboxes/`.
 */
import type { HostCheckReport, HostKindReport, HostObjectKind } from "../src/api/api-types.ts";
import { readHostInventory } from "../src/host/host-inventory.ts";
import { getLogger } from "../src/log/logger.ts";
import type { SupervisorContext } from "./context.ts";
import { inFlightOf } from "./in-flight.ts";
import { findLeaks } from "./leak-find.ts";
import type { RepairPlan } from "./leak-find.ts";
import { checkBackendLeftovers, listBackendLeftovers } from "./leak-backend.ts";
import { checkNetwork, networkOwnership } from "./leak-network.ts";
import { ownedByRecords } from "./leak-ownership.ts";
import { repairLeaks } from "./leak-repair.ts";

const log = getLogger("supervisor:leak-check");

export interface CheckHostOptions {
  /** Remove the leaks found; default false: report only. */
  repair?: boolean;
  /** With `repair`: remove only the leaks the previous check found too (the periodic check's guard). */
  repairOnlyRepeated?: boolean;
  /** Stops the check before its next step (the daemon's shutdown). */
  signal?: AbortSignal;
}

/** The leak check's own state, kept on the supervisor's context. */
export interface HostCheckState {
  /** The check running now: the next one waits for it, so that two never overlap. */
  running?: Promise<unknown>;
  /** `<kind>:<name>` of every leak the last check found. */
  lastLeaks: Set<string>;
}

const kindsInOrder: HostObjectKind[] = ["mounts", "netns", "cgroups", "processes", "addresses", "veths", "conmon", "runtimeStates", "bundles"];

/**
 * Checks the host against the records and, with `repair`, removes the leaks. A removal that fails
 * is reported in its kind's `failed`; only a host that cannot be read at all rejects. Checks are
 * serialized: one asked for while another runs waits for it, then runs.
 *
 * @example
 * const report = await checkHost(context, { repair: true });
 * report.kinds.netns.leaks; // [{ name: "pv-5b96b3af-ghost", reason: "no record owns it" }]
 */
export async function checkHost(context: SupervisorContext, options: CheckHostOptions = {}): Promise<HostCheckReport> {
  const state = (context.hostCheck ??= { lastLeaks: new Set() });
  const run = (state.running ?? Promise.resolve()).catch(() => {}).then(() => runCheck(context, state, options));
  state.running = run;
  try {
    return await run;
  } finally {
    if (state.running === run) state.running = undefined;
  }
}

async function runCheck(context: SupervisorContext, state: HostCheckState, options: CheckHostOptions): Promise<HostCheckReport> {
  const startedAt = performance.now();
  const checkedAt = Date.now();
  const repair = options.repair ?? false;
  log.debug("Checking host", { repair });
  const window = inFlightOf(context).watch();
  try {
    options.signal?.throwIfAborted();
    const owned = ownedByRecords(context); // in the same turn as watch(): see 2. above
    const ownedNetwork = networkOwnership(context);
    const [host, leftovers] = await Promise.all([readHostInventory({ root: context.root, tag: context.tag }), listBackendLeftovers(context, options.signal)]);
    const expected = (id: string) => context.store.sandboxes.get(id)?.state === "ready" && !context.stopsInFlight.has(id) && !window.ids.has(id);
    const runsBeforeStart = context.backend.runsBeforeStart === true;
    const { kinds, plan } = findLeaks({ root: context.root, tag: context.tag, owned, host, busy: window.ids, expected, runsBeforeStart });
    if (repair && options.repairOnlyRepeated) holdFirstSeen(kinds, plan, state.lastLeaks);
    // The network's leaks are repaired first, by DEL, before their namespaces go (as a stop orders it).
    const onlyRepeated = repair && options.repairOnlyRepeated ? state.lastLeaks : undefined;
    Object.assign(kinds, await checkNetwork(context, ownedNetwork, { busy: window.ids, repair, onlyRepeated, expected, signal: options.signal }));
    // The backend's own (conmon, runtime state, bundles) next: its conmon and runtime delete end the
    // containers no record owns before their mounts, cgroups and processes are judged gone.
    Object.assign(kinds, await checkBackendLeftovers(context, leftovers, owned.containerIds, { busy: window.ids, repair, onlyRepeated, signal: options.signal }));
    if (repair) await repairLeaks(context, plan, kinds, { busy: window.ids, signal: options.signal });
    state.lastLeaks = new Set(kindsInOrder.flatMap((kind) => kinds[kind].leaks.map((leak) => `${kind}:${leak.name}`)));
    const total = (list: "leaks" | "removed" | "failed") => kindsInOrder.reduce((sum, kind) => sum + kinds[kind][list].length, 0);
    const report: HostCheckReport = {
      root: context.root,
      tag: context.tag,
      repair,
      checkedAt,
      durationMs: performance.now() - startedAt,
      kinds,
      leaks: total("leaks"),
      removed: total("removed"),
      failed: total("failed"),
    };
    context.metrics.observeHostCheck(report);
    const summary = { repair, leaks: report.leaks, removed: report.removed, failed: report.failed, durationMs: Math.round(report.durationMs) };
    if (report.leaks > 0) log.warn("Checked host: found leaks", { ...summary, ...leakNames(kinds) });
    else log.debug("Checked host", summary);
    return report;
  } catch (error) {
    context.metrics.observeHostCheckFailure();
    throw error;
  } finally {
    window.stop();
  }
}

/**
 * Takes out of the plan every leak the previous check did not find, saying so on the leak. A
 * cgroup is held with any process held in it, a process with any held process it would be killed
 * with (a whole cgroup dies at once).
 */
function holdFirstSeen(kinds: Record<HostObjectKind, HostKindReport>, plan: RepairPlan, lastLeaks: ReadonlySet<string>): void {
  const firstSeen = (kind: HostObjectKind, name: string) => !lastLeaks.has(`${kind}:${name}`);
  const hold = (kind: HostObjectKind, names: string[], why: string) => {
    for (const leak of kinds[kind].leaks) if (names.includes(leak.name)) leak.notRepaired ??= why;
  };
  const why = "first seen by this check: the next check removes it if it is still there";
  for (const kind of ["mounts", "netns"] as const) {
    hold(kind, plan[kind].filter((name) => firstSeen(kind, name)), why);
    plan[kind] = plan[kind].filter((name) => !firstSeen(kind, name));
  }
  const heldCgroups: string[] = [];
  for (const [cgroup, pids] of plan.killCgroups) {
    if (!pids.some((pid) => firstSeen("processes", pid))) continue;
    hold("processes", pids.filter((pid) => firstSeen("processes", pid)), why);
    hold("processes", pids, "killed with its cgroup, which holds a process first seen by this check");
    plan.killCgroups.delete(cgroup);
    heldCgroups.push(cgroup);
  }
  hold("processes", plan.killPids.map(({ pid }) => String(pid)).filter((pid) => firstSeen("processes", pid)), why);
  plan.killPids = plan.killPids.filter(({ pid }) => !firstSeen("processes", String(pid)));
  const holdsProcess = (path: string) => heldCgroups.some((cgroup) => cgroup === path || cgroup.startsWith(`${path}/`));
  hold("cgroups", plan.cgroups.filter((path) => firstSeen("cgroups", path)), why);
  hold("cgroups", plan.cgroups.filter(holdsProcess), "a process in it is held for the next check");
  plan.cgroups = plan.cgroups.filter((path) => !firstSeen("cgroups", path) && !holdsProcess(path));
}

/** The leaks' names by kind, for the log (the first few of each). */
function leakNames(kinds: Record<HostObjectKind, HostKindReport>): Record<string, string[]> {
  return Object.fromEntries(kindsInOrder.filter((kind) => kinds[kind].leaks.length > 0).map((kind) => [kind, kinds[kind].leaks.slice(0, 10).map((leak) => leak.name)]));
}
