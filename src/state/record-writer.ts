import { Worker } from "node:worker_threads";
import { CodedError } from "../errors/coded-error.ts";

/** A request to the writer's thread: a record's new text, or to forget a record being deleted. */
export type WriterRequest = { op: "write"; id: number; path: string; text: string } | { op: "forget"; id: number; path: string };

/** The thread's answer to one batch: the id of its last request, and the writes that failed. */
export interface WriterReply {
  last: number;
  failed: { id: number; code: string; message: string; details?: Record<string, unknown> }[];
}

/**
 * Writes records (with `RecordFiles`) on a thread of its own. At a stop of 1,000 sandboxes the
 * daemon's main thread is the busiest thread of the machine, and the five system calls of each
 * record write were a fifth of its time there (sampled), 4,000–5,000 of them in a second. Here
 * they cost the main thread one message per batch: the writes asked in the same turn of its
 * event loop go in one message, and come back as one.
 *
 * @example
 * const writer = new RecordWriter();
 * await writer.write("/var/lib/podvisor/sandboxes/abc/sandbox.json", `${JSON.stringify(record)}\n`);
 * writer.close();
 */
export class RecordWriter {
  #worker: Worker | undefined;
  #nextId = 0;
  #queue: WriterRequest[] = [];
  /** Sent, and waiting for their batch's answer, by id. */
  #waiting = new Map<number, PromiseWithResolvers<void>>();
  #scheduled = false;

  write(path: string, text: string): Promise<void> {
    const id = this.#nextId++;
    const done = Promise.withResolvers<void>();
    this.#waiting.set(id, done);
    this.#send({ op: "write", id, path, text });
    return done.promise;
  }

  /** Forgets what the thread knows of a record being deleted (after every write asked before). */
  forget(path: string): void {
    this.#send({ op: "forget", id: this.#nextId++, path });
  }

  /** Ends the thread; writes still waiting fail. */
  close(): void {
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate();
    this.#failAll(new Error("the record writer was closed"));
  }

  #send(request: WriterRequest): void {
    this.#queue.push(request);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const batch = this.#queue.splice(0);
      if (batch.length > 0) this.#thread().postMessage(batch);
    });
  }

  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(new URL("./record-writer-thread.ts", import.meta.url));
    worker.unref(); // it never keeps the daemon alive by itself
    worker.on("message", (reply: WriterReply) => this.#answer(reply));
    const lost = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined; // the next write starts another
      this.#failAll(new Error(`the record writer's thread ${why}`));
    };
    worker.on("error", (error) => lost(`failed: ${error.message}`));
    worker.on("exit", (code) => lost(`exited (${code})`));
    this.#worker = worker;
    return worker;
  }

  #answer(reply: WriterReply): void {
    const failed = new Map(reply.failed.map((failure) => [failure.id, failure]));
    for (const [id, waiter] of this.#waiting) {
      if (id > reply.last) break; // ids are in order: the rest belong to later batches
      this.#waiting.delete(id);
      const failure = failed.get(id);
      if (failure === undefined) waiter.resolve();
      else waiter.reject(new CodedError(failure.code, failure.message, { details: failure.details }));
    }
  }

  #failAll(cause: Error): void {
    for (const [id, waiter] of this.#waiting) {
      this.#waiting.delete(id);
      waiter.reject(new CodedError("INTERNAL", `Cannot write a record: ${cause.message}`, { cause }));
    }
  }
}
