import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ApiError, describeFailure } from "../../src/cli/cli-error.ts";
import { listFilter } from "../../src/cli/list-filter.ts";
import { tailOffset } from "../../src/cli/log-file.ts";
import { colorEnabled, formatAge, formatBatchSummary } from "../../src/cli/output.ts";
import { resolveIds, resolveKnownIds } from "../../src/cli/resolve-id.ts";

describe("the CLI's helpers", () => {
  test("formatAge() says how long ago, as crictl does", () => {
    const now = 1_000_000_000;
    expect([0, 1_000, 5_400, 60_000, 125_000, 3_600_000, 7_200_000, 3 * 86_400_000].map((ago) => formatAge(now - ago, now))).toEqual([
      "Less than a second ago", "1 second ago", "5 seconds ago", "About a minute ago", "2 minutes ago", "About an hour ago", "2 hours ago", "3 days ago",
    ]);
  });

  test("resolveIds() takes an exact id or a unique prefix, and names a prefix that matches none or several", () => {
    const ids = ["abc123", "abd456", "xyz789"];
    expect(resolveIds("pod sandbox", ["abc", "x", "abd456", "abc1"], ids)).toEqual(["abc123", "xyz789", "abd456"]);
    expect(() => resolveIds("pod sandbox", ["ab"], ids)).toThrow('Cannot tell which pod sandbox "ab" means: it starts 2 pod sandboxes (abc123, abd456); give more of the id');
    expect(() => resolveIds("container", ["q"], ids)).toThrow('Cannot find container "q": no container id starts with it');
    expect(() => resolveIds("container", [""], ids)).toThrow("an id must not be empty");
  });

  test("describeFailure() makes one line and does not repeat the daemon's own \"Cannot …\"", () => {
    const incomplete = new ApiError("Cannot stop pod sandbox abc: 1 container(s) did not stop\n(timed out); retry the stop", { code: "STOP_INCOMPLETE" });
    expect(describeFailure("stop pod sandbox abc", incomplete)).toBe("cannot stop pod sandbox abc: 1 container(s) did not stop (timed out); retry the stop (STOP_INCOMPLETE)");
    const notFound = new ApiError('Cannot find pod sandbox "abc"', { code: "NOT_FOUND" });
    expect(describeFailure("stop pod sandbox abc", notFound)).toBe('cannot stop pod sandbox abc: cannot find pod sandbox "abc" (NOT_FOUND)');
  });

  test("resolveKnownIds() sets aside a prefix that matches nothing; an ambiguous one is still an error", () => {
    const ids = ["abc123", "abd456"];
    expect(resolveKnownIds("pod sandbox", ["abc", "zz", "abc123"], ids)).toEqual({ ids: ["abc123"], unknown: ["zz"] });
    expect(() => resolveKnownIds("pod sandbox", ["ab"], ids)).toThrow(/Cannot tell which pod sandbox "ab" means/);
  });

  test("formatBatchSummary() is one line: done of total, the time in seconds, and the failures if any", () => {
    expect(formatBatchSummary({ verb: "Stopped", noun: "pod sandboxes", done: 998, total: 1000, elapsedMs: 2_140 })).toBe("Stopped 998 of 1000 pod sandboxes in 2.1 s; 2 failed");
    expect(formatBatchSummary({ verb: "Removed", noun: "containers", done: 3, total: 3, elapsedMs: 40 })).toBe("Removed 3 of 3 containers in 0.0 s");
  });

  test("listFilter(): a name matching the regular expression, and every label given", () => {
    const web = { name: "web-1", labels: { app: "web", tier: "front" } };
    const bare = { name: "bare" };
    expect([web, bare].filter(listFilter({ name: "^web" }, "pod sandboxes"))).toEqual([web]);
    expect([web, bare].filter(listFilter({ label: { app: "web", tier: "front" } }, "pod sandboxes"))).toEqual([web]);
    expect([web, bare].filter(listFilter({ label: { app: "web", tier: "back" } }, "pod sandboxes"))).toEqual([]);
    expect(() => listFilter({ name: "[" }, "pod sandboxes")).toThrow(/Cannot filter by --name "\[": /);
    expect(() => listFilter({ label: { a: "b" } }, "containers")).toThrow(/containers have no labels/);
  });

  test("colorEnabled(): only a terminal, and not with NO_COLOR or TERM=dumb", () => {
    const saved = { NO_COLOR: process.env.NO_COLOR, TERM: process.env.TERM };
    try {
      delete process.env.NO_COLOR;
      process.env.TERM = "xterm";
      expect(colorEnabled({ isTTY: true })).toBe(true);
      expect(colorEnabled({ isTTY: false })).toBe(false);
      expect(colorEnabled({})).toBe(false);
      process.env.NO_COLOR = "1";
      expect(colorEnabled({ isTTY: true })).toBe(false);
      process.env.NO_COLOR = "";
      process.env.TERM = "dumb";
      expect(colorEnabled({ isTTY: true })).toBe(false);
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  test("tailOffset() finds where the last N lines begin, across read chunks, with or without a last newline", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pvtest-tail-"));
    try {
      const lines = Array.from({ length: 20_000 }, (_, index) => `line ${index}`); // ~190 KB: several 64 KiB chunks
      for (const ending of ["\n", ""]) {
        const path = join(dir, `log${ending.length}`);
        const text = lines.join("\n") + ending;
        await writeFile(path, text);
        const file = await open(path);
        try {
          const size = Buffer.byteLength(text);
          for (const count of [0, 1, 3, 15_000, 20_000, 25_000]) {
            const offset = await tailOffset(file, size, count);
            const expected = count === 0 ? "" : lines.slice(-count).join("\n") + ending;
            expect(text.slice(offset)).toBe(expected);
          }
        } finally {
          await file.close();
        }
      }
      expect(await (async () => {
        const path = join(dir, "empty");
        await writeFile(path, "");
        const file = await open(path);
        try {
          return await tailOffset(file, 0, 5);
        } finally {
          await file.close();
        }
      })()).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
