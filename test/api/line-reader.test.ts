import { describe, expect, test } from "vitest";
import { LineReader } from "../../src/api/line-reader.ts";

describe("LineReader", () => {
  test("splits lines across chunks, drops a \\r before \\n, and keeps a character split between chunks whole", () => {
    const reader = new LineReader(100);
    expect(reader.push(Buffer.from("ab"))).toEqual([]);
    expect(reader.push(Buffer.from("c\r\nde\nf"))).toEqual(["abc", "de"]);
    const euro = Buffer.from("€\n"); // three bytes, then the newline
    expect(reader.push(euro.subarray(0, 1))).toEqual([]);
    expect(reader.push(euro.subarray(1))).toEqual(["f€"]);
  });

  test("refuses a line over the limit, whether it comes in one chunk or many", () => {
    expect(new LineReader(10).push(Buffer.from("0123456789\n"))).toEqual(["0123456789"]);
    expect(new LineReader(10).push(Buffer.from("0123456789a"))).toBe("too-long");
    const reader = new LineReader(10);
    expect(reader.push(Buffer.from("01234"))).toEqual([]);
    expect(reader.push(Buffer.from("567890\n"))).toBe("too-long");
  });

  test("a line trickled one byte per chunk costs about its own size, not an object per chunk", () => {
    // Kept as a list of chunks, 1 MiB of 1-byte chunks grew the process by ~220 MiB.
    const reader = new LineReader(2 ** 20);
    const one = Buffer.from("x");
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 2 ** 20 - 1; i++) reader.push(one);
    const grownMiB = (process.memoryUsage().rss - before) / 2 ** 20;
    expect(grownMiB).toBeLessThan(64);
    expect(reader.push(Buffer.from("\n"))).toEqual(["x".repeat(2 ** 20 - 1)]);
  });
});
