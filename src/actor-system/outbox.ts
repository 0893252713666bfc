import type { MessagePort } from "node:worker_threads";
import type { Envelope } from "./envelope.ts";

/**
 * Batches envelopes bound for one port: everything pushed in one turn of the event loop leaves
 * as one `postMessage`, which is what makes a 10,000-actor broadcast cheap.
 */
export class Outbox {
  #port: Pick<MessagePort, "postMessage">;
  #batch: Envelope[] = [];
  #scheduled = false;
  #closed = false;
  /** Envelopes sent through this outbox so far: each one crosses to another thread. */
  sent = 0;

  constructor(port: Pick<MessagePort, "postMessage">) {
    this.#port = port;
  }

  push(envelope: Envelope): void {
    if (this.#closed) return;
    this.sent++;
    this.#batch.push(envelope);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#batch.length === 0 || this.#closed) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#port.postMessage(batch);
  }

  /** Drops whatever is queued; later pushes are ignored (the port's thread is gone). */
  close(): void {
    this.#closed = true;
    this.#batch = [];
  }
}
