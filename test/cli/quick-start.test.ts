import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { call, output, startCliFixture } from "./cli-harness.ts";
import type { CliFixture } from "./cli-harness.ts";

describe.each(runtimes)("the podvisor CLI on %s", (runtime) => {
  let fixture: CliFixture;
  beforeAll(async () => {
    fixture = await startCliFixture(runtime);
  });
  afterAll(async () => {
    expect(await fixture.close()).toEqual(noLeftovers);
  });

  test("runs the quick start: runp, create two containers, start, pods, ps, inspect, stop, stopp, rmp", async () => {
    const { podvisor } = fixture;
    const sandboxId = output(await podvisor("runp", "--name", "quick", "--label", "app=web")).trim();
    expect(sandboxId).toMatch(/^[0-9a-z]+$/);
    // Ids may be given as any unique prefix, as with crictl.
    const prefix = sandboxId.slice(0, 6);
    const sleeper = output(await podvisor("create", prefix, "--name", "sleeper", "--", "sleep", "1000")).trim();
    const greeter = output(await podvisor("create", prefix, "--name", "greeter", "--env", "GREETING=hi", "--", "sh", "-c", "echo $GREETING; exec sleep 1000")).trim();
    // The ids on stdout (for scripts), one summary line for the batch on stderr.
    const started = await podvisor("start", sleeper, greeter.slice(0, 8));
    expect(started).toMatchObject({ exitCode: 0, stderr: expect.stringMatching(/^Started 2 of 2 containers in \d+\.\d s$/) });
    expect(started.stdout.split("\n").filter(Boolean)).toEqual([sleeper, greeter]);

    const pods = output(await podvisor("pods")).split("\n");
    expect(pods[0]).toMatch(/^POD ID\s+NAME\s+STATE\s+CREATED$/);
    expect(pods[1]).toMatch(new RegExp(`^${sandboxId.slice(0, 13)}\\s+quick\\s+ready\\s+(Less than a second|\\d+ seconds?) ago$`));

    const ps = output(await podvisor("ps")).split("\n").filter(Boolean);
    expect(ps[0]).toMatch(/^CONTAINER\s+NAME\s+STATE\s+CREATED\s+POD\s+PID\s+EXIT\s+REASON$/);
    // Two running containers, newest first; the infra container is not shown.
    expect(ps.slice(1).map((line) => line.split(/\s{3,}/).slice(0, 3))).toEqual([
      [greeter.slice(0, 13), "greeter", "running"],
      [sleeper.slice(0, 13), "sleeper", "running"],
    ]);

    const status = JSON.parse(output(await podvisor("inspect", greeter.slice(0, 5))));
    expect(status).toMatchObject({ id: greeter, podSandboxId: sandboxId, name: "greeter", state: "running", env: { GREETING: "hi" } });

    expect(output(await podvisor("stop", "--timeout", "2.5", sleeper))).toBe(sleeper);
    const all = JSON.parse(output(await podvisor("ps", "-a", "-o", "json")));
    expect(all.map((c: { id: string; state: string }) => [c.id, c.state])).toEqual([[greeter, "running"], [sleeper, "exited"]]);
    expect(all[1]).toMatchObject({ reason: "signalled", signal: "SIGTERM" });

    expect(output(await podvisor("stopp", prefix))).toBe(`Stopped pod sandbox ${sandboxId}`);
    expect(JSON.parse(output(await podvisor("inspectp", prefix)))).toMatchObject({ id: sandboxId, name: "quick", state: "stopped", labels: { app: "web" } });
    expect(output(await podvisor("rmp", sandboxId))).toBe(`Removed pod sandbox ${sandboxId}`);
    expect((await call(fixture.api, "ListPodSandbox")).items).toEqual([]);
  });

  test("runp -f reads the sandbox config from a JSON file, flags add to it, and -o json prints the id as JSON", async () => {
    const { writeFile } = await import("node:fs/promises");
    const file = `${fixture.daemon.root}/pod.json`;
    await writeFile(file, JSON.stringify({ name: "from-file", hostIpc: true, labels: { tier: "batch" } }));
    const { podSandboxId } = JSON.parse(output(await fixture.podvisor("runp", "-f", file, "--label", "team=ci", "-o", "json")));
    const { status } = (await fixture.api.call("PodSandboxStatus", { podSandboxId })).result;
    expect(status).toMatchObject({ name: "from-file", hostIpc: true, hostNetwork: false, labels: { tier: "batch", team: "ci" } });
    expect((await fixture.api.call("RemovePodSandbox", { podSandboxId })).error).toBeUndefined();
  });
});
