/**
 * Ends a pull that stops moving, as containerd's `image_pull_progress_timeout` does: while any
 * request to the registry is open, some byte must arrive every `timeoutMs`, or the pull's signal
 * aborts with DEADLINE_EXCEEDED. Time spent unpacking (no request open) does not count, so a large
 * layer never times out a pull whose transfers all finished.
 */
import { DeadlineExceededError } from "../errors/coded-error.ts";
import type { ImageSource } from "./image-source.ts";

export class PullWatchdog {
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #timeoutMs: number;
  readonly #what: string;
  #open = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(what: string, timeoutMs: number) {
    this.#what = what;
    this.#timeoutMs = timeoutMs;
    this.signal = this.#controller.signal;
  }

  /** Wraps a source so that its requests and bytes are watched. */
  watch(source: ImageSource): ImageSource {
    return {
      name: source.name,
      manifest: (target, signal) => this.#during(() => source.manifest(target, signal)),
      blob: async (digest, signal) => this.#stream(await this.#during(() => source.blob(digest, signal))),
    };
  }

  /** Stops the timer (the pull is over). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#open = Number.NEGATIVE_INFINITY;
  }

  async #during<T>(request: () => Promise<T>): Promise<T> {
    this.#begin();
    try {
      return await request();
    } finally {
      this.#end();
    }
  }

  async *#stream(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    this.#begin();
    try {
      for await (const chunk of chunks) {
        this.#touch();
        yield chunk;
      }
    } finally {
      this.#end();
    }
  }

  #begin(): void {
    this.#open++;
    this.#touch();
  }

  #end(): void {
    this.#open--;
    if (this.#open <= 0) clearTimeout(this.#timer);
  }

  #touch(): void {
    clearTimeout(this.#timer);
    if (this.#open <= 0 || this.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#controller.abort(new DeadlineExceededError(`Cannot pull ${this.#what}: no data from the registry for ${this.#timeoutMs / 1_000} s`));
    }, this.#timeoutMs);
  }
}
