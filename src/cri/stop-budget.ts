import type { Deadline } from "@grpc/grpc-js";
import type { StopRequestOptions } from "../api/pod-service.ts";

/** The most of a call's remaining time kept back for the host cleanup after the kill, and the answer. */
const maxCleanupReserveMs = 1_000;
/** A longer budget than a day would overflow the stop's timers (into an immediate kill). */
const maxBudgetMs = 86_400_000;

/**
 * A stop's budget from a gRPC call's deadline: the stop's kill comes a tenth of the remaining time
 * (at most a second) before it, so the cleanup and the answer still reach the caller in time.
 * No deadline: no budget here, so the daemon's default applies.
 *
 * @example
 * stopBudget(Date.now() + 5_000); // { deadlineAt: now + 4_500 }
 */
export function stopBudget(deadline: Deadline, now = Date.now()): StopRequestOptions {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return {};
  const remaining = Math.min(Math.max(0, at - now), maxBudgetMs);
  return { deadlineAt: Math.round(now + remaining - Math.min(maxCleanupReserveMs, remaining / 10)) };
}
