import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { call, failureLine, output, startCliFixture } from "./cli-harness.ts";
import type { CliFixture } from "./cli-harness.ts";

/** A sandbox whose container ignores SIGTERM, so that its stop lasts until the kill at the deadline. */
async function runStubbornSandbox(fixture: CliFixture, name: string): Promise<string> {
  const { podSandboxId } = await call(fixture.api, "RunPodSandbox", { config: { name } });
  const command = ["sh", "-c", "trap '' TERM; sleep 1000 & wait"];
  const { containerId } = await call(fixture.api, "CreateContainer", { podSandboxId, config: { name: "stubborn", command } });
  await call(fixture.api, "StartContainer", { containerId });
  return podSandboxId;
}

describe.each(runtimes)("stopp and rmp of several pod sandboxes on %s", (runtime) => {
  let fixture: CliFixture;
  beforeAll(async () => {
    fixture = await startCliFixture(runtime);
  });
  afterAll(async () => {
    expect(await fixture.close()).toEqual(noLeftovers);
  });

  test("stopp --all stops every ready sandbox in parallel and reports each outcome", async () => {
    const ids = await Promise.all(["one", "two", "three"].map((name) => runStubbornSandbox(fixture, name)));
    const result = await fixture.podvisor("stopp", "--all", "--timeout", "1", "-o", "json");
    const outcomes: { podSandboxId: string; ok: boolean; durationMs: number }[] = JSON.parse(output(result));
    expect(outcomes.map((outcome) => [outcome.podSandboxId, outcome.ok]).sort()).toEqual(ids.map((id) => [id, true]).sort());
    // Each stop waits for its kill at the deadline; together they take less than one after another.
    const sequentialMs = outcomes.reduce((sum, outcome) => sum + outcome.durationMs, 0);
    expect(result.durationMs).toBeLessThan(sequentialMs);
    const { items } = await call(fixture.api, "ListPodSandbox");
    expect(items.map((item: { state: string }) => item.state)).toEqual(["stopped", "stopped", "stopped"]);
  });

  test("rmp refuses a ready sandbox without --force, removes the others, and ends with a summary", async () => {
    const { podSandboxId: ready } = await call(fixture.api, "RunPodSandbox", { config: { name: "ready" } });
    const result = await fixture.podvisor("rmp", "--all");
    expect(failureLine(result)).toBe(`podvisor: cannot remove pod sandbox ${ready}: it is ready; stop it first (podvisor stopp), or use --force`);
    const summary = result.stdout.split("\n");
    expect(summary[0]).toMatch(/^POD ID\s+RESULT\s+DURATION\s+ERROR$/);
    expect(summary.slice(1).filter((line) => /\sok\s/.test(line))).toHaveLength(3);
    expect(summary.slice(1).filter((line) => line.startsWith(`${ready.slice(0, 13)}   failed`))).toHaveLength(1);

    expect(output(await fixture.podvisor("rmp", "--force", ready.slice(0, 4)))).toBe(`Removed pod sandbox ${ready}`);
    expect((await call(fixture.api, "ListPodSandbox")).items).toEqual([]);
  });
});
