/**
 * Batches of containers and sandboxes from the command line: `stop --all`, `rm --all`, the summary
 * line after a batch, and `stopp` of a sandbox that is not there.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { call, failureLine, output, startCliFixture } from "./cli-harness.ts";
import type { CliFixture } from "./cli-harness.ts";

describe.each(runtimes)("podvisor's batches on %s", (runtime) => {
  let fixture: CliFixture;
  beforeAll(async () => {
    fixture = await startCliFixture(runtime);
  });
  afterAll(async () => {
    expect(await fixture.close()).toEqual(noLeftovers);
  });

  async function sandboxWith(name: string, containers: number): Promise<{ podSandboxId: string; containerIds: string[] }> {
    const { podSandboxId } = await call(fixture.api, "RunPodSandbox", { config: { name } });
    const containerIds: string[] = [];
    for (let index = 0; index < containers; index++) {
      const { containerId } = await call(fixture.api, "CreateContainer", { podSandboxId, config: { name: `c${index}`, command: ["sleep", "1000"] } });
      await call(fixture.api, "StartContainer", { containerId });
      containerIds.push(containerId);
    }
    return { podSandboxId, containerIds };
  }

  test("stop --all stops every running container but the infra ones; rm --all removes what is not running", async () => {
    const { podSandboxId, containerIds } = await sandboxWith("batch", 3);
    const created = (await call(fixture.api, "CreateContainer", { podSandboxId, config: { name: "idle", command: ["true"] } })).containerId as string;

    expect(failureLine(await fixture.podvisor("stop"))).toBe("podvisor: cannot stop containers: give one or more ids, or --all");
    expect(failureLine(await fixture.podvisor("rm", "--all", created))).toBe("podvisor: cannot remove containers: give ids or --all, not both");

    const stopped = await fixture.podvisor("stop", "--all", "--timeout", "1");
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect(stopped.stdout.split("\n").filter(Boolean).sort()).toEqual([...containerIds].sort());
    expect(stopped.stderr).toMatch(/^Stopped 3 of 3 containers in \d+\.\d s$/);
    // The sandbox still stands: its infra container was not stopped.
    const infra = (await call(fixture.api, "ListContainers", { filter: { podSandboxId } })).items.filter((item: { infra: boolean }) => item.infra);
    expect(infra.map((item: { state: string }) => item.state)).toEqual(["running"]);

    // Nothing left running: nothing to do, and nothing said.
    expect(output(await fixture.podvisor("stop", "--all"))).toBe("");

    const removed = await fixture.podvisor("rm", "--all", "-o", "json");
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout).sort()).toEqual([...containerIds, created].sort());
    expect(removed.stderr).toBe(""); // JSON: no summary line
    await call(fixture.api, "StopPodSandbox", { podSandboxId });
    await call(fixture.api, "RemovePodSandbox", { podSandboxId });
  });

  test("rm --all leaves a running container unless --force", async () => {
    const { podSandboxId, containerIds } = await sandboxWith("forced", 2);
    expect(output(await fixture.podvisor("rm", "--all"))).toBe("");
    const forced = await fixture.podvisor("rm", "--all", "--force");
    expect(forced.stdout.split("\n").filter(Boolean).sort()).toEqual([...containerIds].sort());
    expect(forced.stderr).toMatch(/^Removed 2 of 2 containers in \d+\.\d s$/);
    await call(fixture.api, "StopPodSandbox", { podSandboxId });
    await call(fixture.api, "RemovePodSandbox", { podSandboxId });
  });

  test("stopp of several sandboxes: the table, then one summary line; an unknown id among them is a warning", async () => {
    const first = await sandboxWith("one", 1);
    const second = await sandboxWith("two", 0);
    const result = await fixture.podvisor("stopp", "--timeout", "1", first.podSandboxId, "nosuchpod", second.podSandboxId);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('podvisor: warning: no pod sandbox id starts with "nosuchpod"; nothing to stop');
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^POD ID\s+RESULT\s+DURATION/);
    expect(lines.slice(1, 3).map((line) => line.split(/\s+/)[1])).toEqual(["ok", "ok"]);
    expect(lines.at(-1)).toMatch(/^Stopped 2 of 2 pod sandboxes in \d+\.\d s$/);
    const removed = output(await fixture.podvisor("rmp", first.podSandboxId, second.podSandboxId)).trimEnd().split("\n");
    expect(removed.at(-1)).toMatch(/^Removed 2 of 2 pod sandboxes in \d+\.\d s$/);
  });
});
