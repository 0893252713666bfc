import type { ErrorData } from "../errors/coded-error.ts";
import type { SpawnSpec } from "./behavior.ts";

/** The thread a message came from or a reply goes to: 0 is the main thread, else a worker's serial. */
export type ThreadSerial = number;
export const mainThread: ThreadSerial = 0;

/**
 * What travels on the data plane (`MessagePort`s), always in batches (arrays). Comlink carries
 * only the control plane (spawn, health); raw batched messages are ~20x cheaper per message.
 */
export type Envelope =
  | { k: "tell"; to: string; msg: unknown }
  | {
    k: "ask";
    to: string;
    msg: unknown;
    id: number;
    from: ThreadSerial;
    deadlineAt: number;
    /** A stop request: handled in mailbox order, never interrupting the message in progress. */
    stop?: true;
  }
  | { k: "reply"; id: number; to: ThreadSerial; ok: true; value: unknown }
  | { k: "reply"; id: number; to: ThreadSerial; ok: false; error: ErrorData }
  /** Worker → main: actors spawned by other actors, so the main thread can route to them. */
  | { k: "spawned"; specs: SpawnSpec[] }
  /** Worker → main: actors that have stopped and are gone. */
  | { k: "stopped"; ids: string[] };

export type AskEnvelope = Extract<Envelope, { k: "ask" }>;
export type ReplyEnvelope = Extract<Envelope, { k: "reply" }>;
