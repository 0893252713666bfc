import type { Logger } from "tslog";
import type { Clock } from "../async/clock.ts";

/**
 * Where a behaviour lives: a module URL and the name it is exported under. Behaviours are loaded
 * by URL on the worker, so the runtime never needs to know what actors exist.
 *
 * @example
 * export const counter: Behavior<{ n: number }, "inc"> = { … };
 * const ref = behaviorRef(import.meta.url, "counter");
 */
export interface BehaviorRef {
  module: string;
  export: string;
}

export function behaviorRef(module: string, exportName: string): BehaviorRef {
  return { module, export: exportName };
}

/** What it takes to make one actor. */
export interface SpawnSpec {
  id: string;
  behavior: BehaviorRef;
  init?: unknown;
  /** The actor that spawned this one on its own worker, if any. */
  parent?: string;
}

/** What an actor may do: talk to other actors, spawn children on its own worker, stop. */
export interface ActorContext {
  readonly self: string;
  readonly parent: string | undefined;
  readonly clock: Clock;
  readonly log: Logger<Record<string, unknown>>;
  tell(to: string, message: unknown): void;
  ask<T = unknown>(to: string, message: unknown, options: { deadlineAt: number }): Promise<T>;
  /** Spawns a child on this actor's worker; it is stopped when this actor stops. */
  spawn(spec: Omit<SpawnSpec, "id" | "parent"> & { id?: string }): Promise<string>;
  /** Asks an actor to stop, through its mailbox; resolves once it has. Unknown ids are already stopped. */
  stop(id: string): Promise<void>;
}

/** The context of one message: an ask's deadline, as an absolute time and as a signal. */
export interface MessageContext extends ActorContext {
  /** The asker's deadline; undefined for a tell. */
  readonly deadlineAt: number | undefined;
  /** Aborts at `deadlineAt` (never, for a tell). Created on first use. */
  readonly signal: AbortSignal;
}

/**
 * An actor's behaviour: a plain object of functions; the runtime runs it. Messages are handled
 * one at a time, in arrival order, even when `receive` is async. What `receive` returns (or
 * throws) answers an ask; a tell's result is dropped.
 */
export interface Behavior<State = unknown, Message = unknown, Init = unknown> {
  start(init: Init, context: ActorContext): State | Promise<State>;
  receive(state: State, message: Message, context: MessageContext): unknown;
  /** Runs when the stop message is reached in the mailbox, before the children are stopped. */
  stop?(state: State, context: ActorContext): void | Promise<void>;
}
