import type { ActorContext, Behavior, MessageContext, SpawnSpec } from "./behavior.ts";
import { timeoutSignal } from "../async/timeout-signal.ts";
import type { AskEnvelope, Envelope } from "./envelope.ts";
import { ActorNotFoundError } from "../errors/coded-error.ts";

type Job = () => Promise<void>;
type Delivery = Extract<Envelope, { k: "tell" | "ask" }>;

/** What a cell needs from the worker that hosts it. */
export interface CellHost {
  answer(envelope: AskEnvelope, result: { ok: true; value: unknown } | { ok: false; error: unknown }): void;
  stopActor(id: string): Promise<void>;
  removed(cell: ActorCell): void;
  warn(message: string, fields: Record<string, unknown>): void;
}

/**
 * One actor on a worker: its mailbox, its state and its lifecycle. Jobs run one at a time, in
 * order, each awaited before the next, so an async handler is never interleaved with another.
 * Stop is a job like any other: it waits for the message in progress, and a second stop joins it.
 */
export class ActorCell {
  readonly spec: SpawnSpec;
  readonly children = new Set<string>();
  #host: CellHost;
  #context: ActorContext;
  #behavior: Behavior | undefined;
  #state: unknown;
  #queue: (Job | undefined)[] = [];
  #head = 0;
  #running = false;
  #stopRequests: AskEnvelope[] | undefined;
  #gone = false;

  constructor(spec: SpawnSpec, host: CellHost, context: ActorContext) {
    this.spec = spec;
    this.#host = host;
    this.#context = context;
  }

  get id(): string {
    return this.spec.id;
  }

  /** Queues the behaviour's `start` as the first job; resolves when it has run. */
  start(loading: Promise<Behavior>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#enqueue(async () => {
        try {
          this.#behavior = await loading;
          this.#state = await this.#behavior.start(this.spec.init, this.#context);
          resolve();
        } catch (error) {
          this.#finish();
          reject(error);
        }
      });
    });
  }

  deliver(envelope: Delivery): void {
    if (this.#gone) return this.#refuse(envelope);
    if (envelope.k === "ask" && envelope.stop) {
      if (this.#stopRequests !== undefined) {
        this.#stopRequests.push(envelope); // a second stop joins the first
        return;
      }
      this.#stopRequests = [envelope];
      this.#enqueue(() => this.#stop());
      return;
    }
    this.#enqueue(() => this.#handle(envelope));
  }

  async #handle(envelope: Delivery): Promise<void> {
    if (this.#gone) return this.#refuse(envelope);
    const behavior = this.#behavior as Behavior;
    let result: { ok: true; value: unknown } | { ok: false; error: unknown };
    const { context, release } = messageContext(this.#context, envelope);
    try {
      const value = await behavior.receive(this.#state, envelope.msg, context);
      result = { ok: true, value };
    } catch (error) {
      result = { ok: false, error };
      if (envelope.k === "tell") this.#host.warn("Actor failed to handle a message", { actorId: this.id, error });
    } finally {
      release();
    }
    if (envelope.k === "ask") this.#host.answer(envelope, result);
  }

  async #stop(): Promise<void> {
    try {
      await this.#behavior?.stop?.(this.#state, this.#context);
    } catch (error) {
      this.#host.warn("Actor failed while stopping", { actorId: this.id, error });
    }
    await Promise.all([...this.children].map((child) => this.#host.stopActor(child)));
    const requests = this.#stopRequests ?? [];
    this.#finish();
    for (const request of requests) this.#host.answer(request, { ok: true, value: undefined });
  }

  /** Marks the cell gone and refuses everything still queued behind the stop. */
  #finish(): void {
    this.#gone = true;
    this.#host.removed(this);
  }

  #refuse(envelope: Delivery): void {
    if (envelope.k !== "ask") return;
    if (envelope.stop) return this.#host.answer(envelope, { ok: true, value: undefined });
    this.#host.answer(envelope, { ok: false, error: new ActorNotFoundError(this.id) });
  }

  #enqueue(job: Job): void {
    this.#queue.push(job);
    if (!this.#running) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#head < this.#queue.length) {
      const job = this.#queue[this.#head] as Job;
      this.#queue[this.#head++] = undefined;
      await job();
      if (this.#head >= 64 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    }
    this.#running = false;
  }
}

/** A message's context, and the release of its deadline's timer once the message is handled. */
function messageContext(context: ActorContext, envelope: Delivery): { context: MessageContext; release(): void } {
  const deadlineAt = envelope.k === "ask" ? envelope.deadlineAt : undefined;
  let signal: AbortSignal | undefined;
  let release = () => {};
  const messageContext = Object.create(context, {
    deadlineAt: { value: deadlineAt },
    signal: {
      get(): AbortSignal {
        if (signal !== undefined) return signal;
        if (deadlineAt === undefined) return (signal = new AbortController().signal);
        ({ signal, release } = timeoutSignal(deadlineAt - context.clock.now(), { clock: context.clock }));
        return signal;
      },
    },
  }) as MessageContext;
  return { context: messageContext, release: () => release() };
}
