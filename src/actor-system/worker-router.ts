import type { SpawnSpec } from "./behavior.ts";
import { mainThread } from "./envelope.ts";
import type { AskEnvelope, Envelope, ReplyEnvelope } from "./envelope.ts";
import { ActorNotFoundError, toErrorData } from "../errors/coded-error.ts";
import type { WorkerHandle } from "./worker-handle.ts";

/**
 * Work that must happen on the main thread (spawning and reaping processes, say), offered to
 * actors under a name they can `ask` like any actor. It never blocks: it returns a promise.
 */
export type MainThreadService = (message: unknown, context: { deadlineAt: number }) => unknown;

export interface WorkerRouterOptions {
  lookup(actorId: string): WorkerHandle | undefined;
  /** A handler on the main thread addressed by name, as an actor would be. */
  service(name: string): MainThreadService | undefined;
  settle(reply: ReplyEnvelope): void;
  spawned(handle: WorkerHandle, specs: SpawnSpec[]): void;
  stopped(handle: WorkerHandle, ids: string[]): void;
}

/**
 * The main thread's switchboard for batches that workers send: replies to the main thread are
 * settled, messages between actors on different workers are forwarded, and asks forwarded to a
 * worker that is then lost are failed at once instead of waiting for their deadline.
 */
/**
 * The longest run of main-thread service calls started in one go. Each runs synchronously up to
 * its first await (a `kill(2)`, a file opened): a stop of 1,000 sandboxes arrives as batches of
 * thousands of asks, and starting them all at once held the event loop for ~300 ms, so a status
 * request waited that long. In slices, I/O (the socket, timers) gets its turn between them.
 */
const serviceSliceMs = 5;
const noop = () => {};

/**
 * How often, at most, forwarded asks past their deadline are forgotten. Their asker has given up
 * (its own timer rejected them); without this, an ask whose handler never settles stayed for good.
 */
const forwardedSweepMs = 1_000;

export class WorkerRouter {
  #options: WorkerRouterOptions;
  /** Service calls waiting for their slice, in arrival order; `#next` is the first not yet started. */
  #calls: (() => void)[] = [];
  #next = 0;
  #draining = false;
  #bySerial = new Map<number, WorkerHandle>();
  /** Forwarded asks still unanswered: `${from}:${id}` → the worker they went to. */
  #forwarded = new Map<string, { target: WorkerHandle; ask: AskEnvelope }>();
  #sweepAt = 0;

  /** Envelopes received from the workers so far: each one crossed from a worker to the main thread. */
  received = 0;

  constructor(options: WorkerRouterOptions) {
    this.#options = options;
  }

  receive(from: WorkerHandle, batch: Envelope[]): void {
    this.#bySerial.set(from.serial, from);
    this.received += batch.length;
    for (const envelope of batch) {
      switch (envelope.k) {
        case "tell": {
          const service = this.#options.service(envelope.to);
          if (service !== undefined) this.#enqueue(() => void this.#serve(service, envelope.msg, Number.POSITIVE_INFINITY));
          else this.#options.lookup(envelope.to)?.outbox.push(envelope);
          break;
        }
        case "ask":
          this.#forwardAsk(envelope);
          break;
        case "reply":
          this.#forwardReply(envelope);
          break;
        case "spawned":
          this.#options.spawned(from, envelope.specs);
          break;
        case "stopped":
          this.#options.stopped(from, envelope.ids);
          break;
      }
    }
  }

  /** Answers, with `error`, every forwarded ask that was waiting on `lost`. */
  failForwardedTo(lost: WorkerHandle, error: Error): void {
    this.#bySerial.delete(lost.serial);
    for (const [key, { target, ask }] of this.#forwarded) {
      if (target !== lost) continue;
      this.#forwarded.delete(key);
      this.#forwardReply({ k: "reply", id: ask.id, to: ask.from, ok: false, error: toErrorData(error) });
    }
  }

  #forwardAsk(ask: AskEnvelope): void {
    const service = this.#options.service(ask.to);
    if (service !== undefined) {
      this.#enqueue(() => void this.#serve(service, ask.msg, ask.deadlineAt).then((result) => this.#forwardReply(
        result.ok
          ? { k: "reply", id: ask.id, to: ask.from, ok: true, value: result.value }
          : { k: "reply", id: ask.id, to: ask.from, ok: false, error: toErrorData(result.error) },
      )));
      return;
    }
    const target = this.#options.lookup(ask.to);
    if (target === undefined) {
      const reply: ReplyEnvelope = ask.stop
        ? { k: "reply", id: ask.id, to: ask.from, ok: true, value: undefined }
        : { k: "reply", id: ask.id, to: ask.from, ok: false, error: toErrorData(new ActorNotFoundError(ask.to)) };
      return this.#forwardReply(reply);
    }
    this.#forgetExpired();
    this.#forwarded.set(`${ask.from}:${ask.id}`, { target, ask });
    target.outbox.push(ask);
  }

  /** Forwarded asks still waiting for an answer (for tests and stats). */
  get forwardedAsks(): number {
    return this.#forwarded.size;
  }

  /** Forgets forwarded asks past their deadline: at most once per {@link forwardedSweepMs}, on a new ask. */
  #forgetExpired(): void {
    const now = Date.now();
    if (now < this.#sweepAt) return;
    this.#sweepAt = now + forwardedSweepMs;
    for (const [key, { ask }] of this.#forwarded) if (ask.deadlineAt < now) this.#forwarded.delete(key);
  }

  /** Starts service calls in order, at most {@link serviceSliceMs} of them at a time (see there). */
  #enqueue(call: () => void): void {
    this.#calls.push(call);
    if (!this.#draining) this.#drain();
  }

  #drain(): void {
    this.#draining = true;
    const until = performance.now() + serviceSliceMs;
    while (this.#next < this.#calls.length && performance.now() < until) {
      const call = this.#calls[this.#next];
      this.#calls[this.#next++] = noop; // let it be collected
      call();
    }
    if (this.#next < this.#calls.length) {
      setImmediate(() => this.#drain());
      return;
    }
    this.#calls = [];
    this.#next = 0;
    this.#draining = false;
  }

  async #serve(service: MainThreadService, message: unknown, deadlineAt: number): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
    try {
      return { ok: true, value: await service(message, { deadlineAt }) };
    } catch (error) {
      return { ok: false, error };
    }
  }

  #forwardReply(reply: ReplyEnvelope): void {
    if (reply.to === mainThread) return this.#options.settle(reply);
    this.#forwarded.delete(`${reply.to}:${reply.id}`);
    this.#bySerial.get(reply.to)?.outbox.push(reply);
  }
}
