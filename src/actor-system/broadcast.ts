import type { ErrorData } from "../errors/coded-error.ts";
import { toErrorData } from "../errors/coded-error.ts";

/** One actor's answer to a broadcast: acknowledged, failed (with its error as data), or missed. */
export type BroadcastOutcome<T = unknown> =
  | { id: string; status: "acknowledged"; value: T }
  | { id: string; status: "failed"; error: ErrorData }
  | { id: string; status: "missed" };

export interface BroadcastOptions<T = unknown> {
  deadlineAt: number;
  /** Hears each outcome as soon as it is known (a lost worker's at once), before the gather ends. */
  onOutcome?: (outcome: BroadcastOutcome<T>, index: number) => void;
}

interface Asker {
  ask<T>(to: string, message: unknown, options: { deadlineAt: number }): Promise<T>;
}

/**
 * Sends one message to every actor at once and gathers their answers until one absolute
 * deadline. Never waits past it: an actor that has not answered by then — even one on a stuck
 * worker — is reported `missed`; one whose worker was lost, `failed` with code `ACTOR_LOST`.
 *
 * @example
 * const outcomes = await broadcastAndGather(system, ids, { type: "container.stop" }, { deadlineAt });
 * const missed = outcomes.filter((o) => o.status === "missed");
 */
export function broadcastAndGather<T = unknown>(
  system: Asker,
  ids: string[],
  messageFor: (id: string) => unknown,
  options: BroadcastOptions<T>,
): Promise<BroadcastOutcome<T>[]>;
export function broadcastAndGather<T = unknown>(system: Asker, ids: string[], message: unknown, options: BroadcastOptions<T>): Promise<BroadcastOutcome<T>[]>;
export function broadcastAndGather<T = unknown>(system: Asker, ids: string[], message: unknown, options: BroadcastOptions<T>): Promise<BroadcastOutcome<T>[]> {
  const messageFor = typeof message === "function" ? (message as (id: string) => unknown) : () => message;
  const { deadlineAt, onOutcome } = options;
  return Promise.all(ids.map((id, index) =>
    system.ask<T>(id, messageFor(id), { deadlineAt }).then(
      (value): BroadcastOutcome<T> => ({ id, status: "acknowledged", value }),
      (error: unknown): BroadcastOutcome<T> => {
        const data = toErrorData(error);
        return data.code === "DEADLINE_EXCEEDED" ? { id, status: "missed" } : { id, status: "failed", error: data };
      },
    ).then((outcome) => (onOutcome?.(outcome, index), outcome))
  ));
}
