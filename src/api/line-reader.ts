/**
 * Splits a byte stream into lines (`\n`, an optional `\r` before it), refusing a line longer than
 * `maxLineBytes` without ever buffering more than that.
 */
export class LineReader {
  #maxLineBytes: number;
  #pending: Buffer[] = [];
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
      const line = Buffer.concat([...this.#pending, piece]).toString("utf8");
      this.#pending = [];
      this.#pendingBytes = 0;
      lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      start = newline + 1;
    }
    const rest = chunk.subarray(start);
    if (this.#pendingBytes + rest.length > this.#maxLineBytes) return "too-long";
    if (rest.length > 0) {
      this.#pending.push(Buffer.from(rest));
      this.#pendingBytes += rest.length;
    }
    return lines;
  }
}
