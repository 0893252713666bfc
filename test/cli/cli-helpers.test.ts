import { describe, expect, test } from "vitest";
import { ApiError, describeFailure } from "../../src/cli/cli-error.ts";
import { formatAge } from "../../src/cli/output.ts";
import { resolveIds } from "../../src/cli/resolve-id.ts";

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
});
