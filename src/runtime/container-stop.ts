/**
 * The one container-stop sequence: stop signal → wait for the runtime to report stopped, until the
 * deadline → kill every process of the container → wait for stopped, bounded by the kill grace →
 * the exit code and reason, in a durable record. Written once, behind a small port, and run by two
 * callers: the container actor on its worker (each operation a request to the main thread) and the
 * supervisor on the main thread when an actor is lost or hangs (each operation a direct call).
 */
import type { Clock } from "../async/clock.ts";
import { CodedError } from "../errors/coded-error.ts";
import { stopStepFailed } from "../errors/stop-incomplete-error.ts";
import type { ContainerRecord, ExitReason } from "../state/records.ts";
import type { RuntimeState } from "./runtime-backend.ts";
import { unknownExitMessage } from "./runtime-backend.ts";

/** What the sequence needs done; every wait takes an absolute deadline from the port's clock. */
export interface ContainerStopPort {
  readonly clock: Clock;
  /** Sends `signal`, then waits for the runtime's "stopped" until `deadlineAt` (or the sandbox's stop deadline, if earlier); undefined if it passed. */
  signalAndWait(record: ContainerRecord, signal: string, deadlineAt: number): Promise<RuntimeState | undefined>;
  /** Kills every process of the container, then waits for the runtime's "stopped" until `deadlineAt`; undefined if it passed. */
  killAndWait(record: ContainerRecord, deadlineAt: number): Promise<RuntimeState | undefined>;
  /** Writes the record durably. */
  save(record: ContainerRecord): Promise<void>;
  /**
   * For a container the runtime does not know (NOT_FOUND: an earlier daemon started it and it
   * could not be adopted): kills its cgroup and waits for it to empty until `deadlineAt`. A port
   * without it lets the NOT_FOUND error through (the actor's: the main thread takes over then).
   */
  killUnknown?(record: ContainerRecord, deadlineAt: number): Promise<void>;
}

export interface ContainerStopRequest {
  /** When the kill comes, if the stop signal has not stopped it by then. */
  deadlineAt: number;
  /** How long after the kill the runtime may take to report it stopped. */
  killGraceMs: number;
  /** Kept in the record's `message` when the stop was not the usual one (a takeover, and why). */
  message?: string;
}

/**
 * Stops a running container and records how it ended; returns the record as written. A container
 * that is not running is left alone — but one the caller's copy says exited whose record may not
 * have reached the disk (a write that failed) is written again, or its exit code would be lost.
 * A deadline already passed means no stop signal: the kill comes at once.
 *
 * @example
 * const ended = await stopContainerSequence(record, { deadlineAt, killGraceMs: 5_000 }, port);
 */
export async function stopContainerSequence(record: ContainerRecord, request: ContainerStopRequest, port: ContainerStopPort): Promise<ContainerRecord> {
  if (record.state === "exited") {
    await port.save(record).catch((error: unknown) => {
      throw exitNotRecorded(record, error);
    });
    return record;
  }
  if (record.state !== "running") return record; // created: nothing runs
  let state: RuntimeState | undefined;
  let reason: ExitReason | undefined;
  try {
    if (request.deadlineAt > port.clock.now()) state = await port.signalAndWait(record, record.stopSignal, request.deadlineAt);
    if (state === undefined) {
      reason = "killed-at-deadline";
      state = await port.killAndWait(record, port.clock.now() + request.killGraceMs);
      if (state === undefined) {
        throw new CodedError("STOP_INCOMPLETE", `Cannot stop container ${record.id}: the runtime did not report it stopped ${request.killGraceMs} ms after the kill`, {
          details: { containerId: record.id, sandboxId: record.sandboxId },
        });
      }
    }
  } catch (error) {
    if ((error as { code?: string }).code !== "NOT_FOUND" || port.killUnknown === undefined) throw error;
    reason = "killed-at-deadline";
    await port.killUnknown(record, port.clock.now() + request.killGraceMs);
  }
  const ended: ContainerRecord = { ...record, ...exitFields(state ?? { status: "stopped", exitCodeUnknown: true }, reason, port.clock.now()) };
  if (request.message !== undefined) ended.message = request.message;
  // A failed write leaves the record "running" on disk: the retry's stop writes it again.
  await port.save(ended).catch((error: unknown) => {
    throw exitNotRecorded(record, error);
  });
  return ended;
}

/** A stopped container's record fields, from the runtime's report and the stop's reason, if any. */
export function exitFields(state: RuntimeState, reason: ExitReason | undefined, now: number): Partial<ContainerRecord> {
  if (state.exitCodeUnknown === true) {
    return { state: "exited", finishedAt: state.finishedAt ?? now, reason, exitCodeUnknown: true, message: `exit status unknown: ${unknownExitMessage}` };
  }
  return {
    state: "exited",
    exitCode: state.exitCode,
    signal: state.signal,
    finishedAt: state.finishedAt ?? now,
    reason: reason ?? (state.signal === undefined ? "exited" : "signalled"),
  };
}

function exitNotRecorded(record: ContainerRecord, error: unknown): Error {
  return stopStepFailed(`container ${record.id}`, "container-record-write", error, { containerId: record.id, sandboxId: record.sandboxId });
}
