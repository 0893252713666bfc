/** The first capacity of the pending-line buffer; it doubles as a line grows, up to the limit. */
const initialCapacity = 4_096;

/**
 * Splits a byte stream into lines (`\n`, an optional `\r` before it), refusing a line longer than
 * `maxLineBytes` without ever buffering more than that. The unfinished line is kept in one buffer
 * that grows by doubling, so a client trickling a line one byte per read costs its bytes, not an
 * object per read (a list of chunks cost ~220 bytes per 1-byte chunk: 1 MiB became 220 MiB).
 */
export class LineReader {
  #maxLineBytes: number;
  #pending: Buffer = Buffer.alloc(0);
  #pendingBytes = 0;

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Feeds a chunk; returns the complete lines in it, or "too-long" once a line passes the limit. */
  push(chunk: Buffer): string[] | "too-long" {
    const lines: string[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline);
      if (this.#pendingBytes + piece.length > this.#maxLineBytes) return "too-long";
      const line = this.#pendingBytes === 0
        ? piece.toString("utf8")
        : Buffer.concat([this.#pending.subarray(0, this.#pendingBytes), piece]).toString("utf8");
      this.#release();
      lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      start = newline + 1;
    }
    const rest = chunk.subarray(start);
    if (this.#pendingBytes + rest.length > this.#maxLineBytes) return "too-long";
    if (rest.length > 0) this.#append(rest);
    return lines;
  }

  /** The unfinished line at the end of the stream ("" if none), which the stream's end completes. */
  finish(): string {
    const line = this.#pending.subarray(0, this.#pendingBytes).toString("utf8");
    this.#release();
    return line.endsWith("\r") ? line.slice(0, -1) : line;
  }

  #append(bytes: Buffer): void {
    const needed = this.#pendingBytes + bytes.length;
    if (needed > this.#pending.length) {
      let capacity = Math.max(this.#pending.length, initialCapacity);
      while (capacity < needed) capacity *= 2;
      const grown = Buffer.allocUnsafe(Math.min(capacity, this.#maxLineBytes));
      this.#pending.copy(grown, 0, 0, this.#pendingBytes);
      this.#pending = grown;
    }
    bytes.copy(this.#pending, this.#pendingBytes);
    this.#pendingBytes = needed;
  }

  /** Forgets the finished line; a big buffer is dropped rather than kept for the connection's life. */
  #release(): void {
    this.#pendingBytes = 0;
    if (this.#pending.length > initialCapacity) this.#pending = Buffer.alloc(0);
  }
}
