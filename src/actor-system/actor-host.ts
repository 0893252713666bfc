import type { MessagePort } from "node:worker_threads";
import { nanoid } from "nanoid";
import { getLogger, getTransientLogger } from "../log/logger.ts";
import { ActorCell } from "./actor-cell.ts";
import type { ActorContext, Behavior, BehaviorRef, SpawnSpec } from "./behavior.ts";
import { systemClock } from "../async/clock.ts";
import type { AskEnvelope, Envelope, ReplyEnvelope, ThreadSerial } from "./envelope.ts";
import { mainThread } from "./envelope.ts";
import { ActorNotFoundError, CodedError, fromErrorData, toErrorData } from "../errors/coded-error.ts";
import type { ErrorData } from "../errors/coded-error.ts";
import { Outbox } from "./outbox.ts";
import { PendingAsks } from "./pending-asks.ts";

export type SpawnResult = { id: string; ok: true } | { id: string; ok: false; error: ErrorData };

const log = getLogger("actor-system:worker");

/**
 * The actors of one worker thread: routes each envelope to its cell, answers asks, and sends
 * to the main thread whatever is addressed to an actor elsewhere.
 */
export class ActorHost {
  #serial: ThreadSerial;
  #cells = new Map<string, ActorCell>();
  #started = new Set<string>();
  #toMain: Outbox;
  #pending = new PendingAsks(systemClock);
  #modules = new Map<string, Promise<Record<string, unknown>>>();

  constructor(serial: ThreadSerial, port: MessagePort) {
    this.#serial = serial;
    this.#toMain = new Outbox(port);
    port.on("message", (batch: Envelope[]) => {
      for (const envelope of batch) this.#receive(envelope);
    });
  }

  get actorCount(): number {
    return this.#cells.size;
  }

  /** Spawns actors on this worker (the control plane's `spawn`). */
  async spawn(specs: SpawnSpec[]): Promise<SpawnResult[]> {
    return Promise.all(specs.map(async (spec): Promise<SpawnResult> => {
      try {
        await this.#spawnCell(spec);
        return { id: spec.id, ok: true };
      } catch (error) {
        return { id: spec.id, ok: false, error: toErrorData(error) };
      }
    }));
  }

  #receive(envelope: Envelope): void {
    switch (envelope.k) {
      case "tell":
      case "ask": {
        const cell = this.#cells.get(envelope.to);
        if (cell !== undefined) return cell.deliver(envelope);
        if (envelope.k === "ask") {
          const error = envelope.stop ? undefined : new ActorNotFoundError(envelope.to);
          this.#answer(envelope, error === undefined ? { ok: true, value: undefined } : { ok: false, error });
        }
        return;
      }
      case "reply":
        return this.#settle(envelope);
      default:
        log.warn("Ignoring an envelope a worker does not handle", { kind: envelope.k });
    }
  }

  /** Sends from an actor on this worker: delivered locally when the target is here. */
  #send(envelope: Extract<Envelope, { k: "tell" | "ask" }>): void {
    const cell = this.#cells.get(envelope.to);
    if (cell !== undefined) cell.deliver(envelope);
    else this.#toMain.push(envelope);
  }

  #answer(envelope: AskEnvelope, result: { ok: true; value: unknown } | { ok: false; error: unknown }): void {
    const reply: ReplyEnvelope = result.ok
      ? { k: "reply", id: envelope.id, to: envelope.from, ok: true, value: result.value }
      : { k: "reply", id: envelope.id, to: envelope.from, ok: false, error: toErrorData(result.error) };
    if (reply.to === this.#serial) this.#settle(reply);
    else this.#toMain.push(reply);
  }

  #settle(reply: ReplyEnvelope): void {
    if (reply.ok) this.#pending.resolve(reply.id, reply.value);
    else this.#pending.reject(reply.id, fromErrorData(reply.error));
  }

  #ask(to: string, msg: unknown, deadlineAt: number, stop?: true): Promise<unknown> {
    const { id, promise } = this.#pending.add(to, this.#serial, deadlineAt);
    this.#send({ k: "ask", to, msg, id, from: this.#serial, deadlineAt, ...(stop ? { stop } : {}) });
    return promise;
  }

  async #spawnCell(spec: SpawnSpec): Promise<void> {
    if (this.#cells.has(spec.id)) {
      throw new CodedError("ALREADY_EXISTS", `Cannot spawn actor: "${spec.id}" already exists`);
    }
    const cell = new ActorCell(spec, {
      answer: (envelope, result) => this.#answer(envelope, result),
      stopActor: (id) => this.#stopActor(id),
      removed: (gone) => this.#removed(gone),
      warn: (message, fields) => log.warn(message, fields),
    }, this.#context(spec));
    this.#cells.set(spec.id, cell);
    await cell.start(this.#load(spec.behavior));
    this.#started.add(spec.id);
  }

  #context(spec: SpawnSpec): ActorContext {
    const self = spec.id;
    let logger: ActorContext["log"] | undefined;
    return {
      self,
      parent: spec.parent,
      clock: systemClock,
      get log() {
        return (logger ??= getTransientLogger(`actor:${self}`));
      },
      tell: (to, msg) => this.#send({ k: "tell", to, msg }),
      ask: (to, msg, options) => this.#ask(to, msg, options.deadlineAt) as Promise<never>,
      spawn: async (child) => {
        const childSpec: SpawnSpec = { id: child.id ?? nanoid(), behavior: child.behavior, init: child.init, parent: self };
        await this.#spawnCell(childSpec);
        this.#cells.get(self)?.children.add(childSpec.id);
        this.#toMain.push({ k: "spawned", specs: [childSpec] });
        return childSpec.id;
      },
      stop: (id) => this.#stopActor(id),
    };
  }

  async #stopActor(id: string): Promise<void> {
    // Stop travels through the mailbox; no deadline of its own, the caller bounds it.
    await this.#ask(id, undefined, Number.MAX_SAFE_INTEGER, true);
  }

  #removed(cell: ActorCell): void {
    this.#cells.delete(cell.id);
    if (cell.spec.parent !== undefined) this.#cells.get(cell.spec.parent)?.children.delete(cell.id);
    if (this.#started.delete(cell.id)) this.#toMain.push({ k: "stopped", ids: [cell.id] });
  }

  #load(ref: BehaviorRef): Promise<Behavior> {
    let loading = this.#modules.get(ref.module);
    if (loading === undefined) {
      loading = import(ref.module) as Promise<Record<string, unknown>>;
      this.#modules.set(ref.module, loading);
    }
    return loading.then((module) => {
      const behavior = module[ref.export] as Behavior | undefined;
      if (typeof behavior?.start !== "function" || typeof behavior.receive !== "function") {
        throw new TypeError(`Cannot load behaviour: "${ref.export}" in ${ref.module} is not a behaviour`);
      }
      return behavior;
    });
  }
}
