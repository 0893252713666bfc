import { existsSync } from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { call, failureLine, output, runCli, startCliFixture } from "./cli-harness.ts";
import type { CliFixture } from "./cli-harness.ts";

describe.each(runtimes)("the podvisor CLI's errors on %s", (runtime) => {
  let fixture: CliFixture;
  let podSandboxId: string;
  beforeAll(async () => {
    fixture = await startCliFixture(runtime);
    ({ podSandboxId } = await call(fixture.api, "RunPodSandbox", { config: { name: "errors" } }));
  });
  afterAll(async () => {
    await call(fixture.api, "RemovePodSandbox", { podSandboxId });
    expect(await fixture.close()).toEqual(noLeftovers);
  });

  test("an unknown id or an ambiguous prefix is a one-line error naming it", async () => {
    // Containers until two ids share their first character (ids are random: about 8 on average).
    // The sandbox's infra container counts too: the CLI resolves prefixes against every container.
    const listed = await call<{ items: { id: string }[] }>(fixture.api, "ListContainers", {});
    const existing = listed.items.map((item) => item.id);
    const ids: string[] = [];
    const firstChars = () => [...existing, ...ids].map((id) => id[0]);
    while (new Set(firstChars()).size === existing.length + ids.length) {
      const { containerId } = await call(fixture.api, "CreateContainer", { podSandboxId, config: { name: `c${ids.length}`, command: ["true"] } });
      ids.push(containerId);
    }
    const shared = ids.at(-1)?.[0] as string;
    expect(failureLine(await fixture.podvisor("inspect", shared))).toMatch(
      new RegExp(`^podvisor: cannot tell which container "${shared}" means: it starts 2 containers \\(\\w{13}, \\w{13}\\); give more of the id$`),
    );
    expect(failureLine(await fixture.podvisor("rmp", "NOSUCHPOD"))).toBe('podvisor: cannot find pod sandbox "NOSUCHPOD": no pod sandbox id starts with it');
    // A stop of a sandbox that is not there is done, as for the API: a warning, exit 0.
    const stopped = await fixture.podvisor("stopp", "NOSUCHPOD");
    expect(stopped).toMatchObject({ exitCode: 0, stdout: "", stderr: 'podvisor: warning: no pod sandbox id starts with "NOSUCHPOD"; nothing to stop' });
    for (const containerId of ids) await call(fixture.api, "RemoveContainer", { containerId });
  });

  test("rm refuses a running container without --force, and stops and removes it with --force", async () => {
    const { containerId } = await call(fixture.api, "CreateContainer", { podSandboxId, config: { name: "busy", command: ["sleep", "1000"] } });
    await call(fixture.api, "StartContainer", { containerId });
    const refused = await fixture.podvisor("rm", containerId);
    expect(failureLine(refused)).toBe(`podvisor: cannot remove container ${containerId}: it is running; stop it first, or use --force`);
    expect(refused.stdout).toBe("");
    expect(output(await fixture.podvisor("rm", "--force", containerId.slice(0, 6)))).toBe(containerId);
    expect((await fixture.api.call("ContainerStatus", { containerId })).error?.data.code).toBe("NOT_FOUND");
  });

  test("a daemon error keeps its code, on one line", async () => {
    await call(fixture.api, "StopPodSandbox", { podSandboxId });
    const line = failureLine(await fixture.podvisor("create", podSandboxId, "--name", "late", "--", "true"));
    expect(line).toBe(`podvisor: cannot create container late in pod sandbox ${podSandboxId}: pod sandbox ${podSandboxId} is stopped (FAILED_PRECONDITION)`);
  });

  test("bad flags are one-line errors, before any daemon is asked", async () => {
    const socket = "/nonexistent/podvisor.sock";
    const env = { PODVISOR_SOCKET: socket };
    expect(failureLine(await runCli(runtime, ["runp", "--name", "x", "--label", "nokey"], env))).toMatch(/--label <key=value>.*'nokey' is invalid\. Expected KEY=VALUE\./);
    expect(failureLine(await runCli(runtime, ["stop", "--timeout", "soon", "abc"], env))).toMatch(/--timeout <seconds>.*'soon' is invalid/);
    expect(failureLine(await runCli(runtime, ["stopp"], env))).toBe("podvisor: cannot stop pod sandboxes: give one or more ids, or --all");
  });

  test("a daemon that is not running is one clear line; version still answers, and says so", async () => {
    const socket = `${fixture.daemon.root}/nobody-listens.sock`;
    expect(failureLine(await runCli(runtime, ["--socket", socket, "pods"]))).toBe(`podvisor: cannot connect to the podvisor daemon at ${socket}: is it running?`);
    const offline = output(await runCli(runtime, ["version", "--socket", socket])).split("\n");
    expect(offline).toEqual([expect.stringMatching(new RegExp(`^podvisor \\d+\\.\\d+\\.\\d+ \\(${runtime} `)), `daemon: not reachable: cannot connect to the podvisor daemon at ${socket}: is it running?`]);
    const online = JSON.parse(output(await fixture.podvisor("version", "-o", "json")));
    expect(online).toMatchObject({ runtime, daemon: { runtime, apiVersion: "v1alpha1" } });
    // -o is global, like --socket: before the command name too.
    expect(JSON.parse(output(await fixture.podvisor("-o", "json", "version")))).toMatchObject({ daemon: { runtime } });
    expect(JSON.parse(output(await fixture.podvisor("-o", "json", "pods"))).map((item: { id: string }) => item.id)).toContain(podSandboxId);
  });

  test("the daemon refuses bad flags, and a metrics port it cannot have, in one line: it exits and leaves no socket", async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const { port } = busy.address() as net.AddressInfo;
    try {
      const socket = `${fixture.daemon.root}/refused.sock`;
      const daemon = (...flags: string[]) => runCli(runtime, ["daemon", "--root", `${fixture.daemon.root}/refused`, "--socket", socket, ...flags]);
      expect(failureLine(await daemon("--client-idle-timeout", "abc"))).toMatch(/--client-idle-timeout must be more than 0/);
      expect(failureLine(await daemon("--log-format", "xml"))).toMatch(/'--log-format <format>' argument 'xml' is invalid/);
      // Fails after the supervisor and the socket started: they are undone, not left serving for ever.
      expect(failureLine(await daemon("--metrics-address", `127.0.0.1:${port}`))).toMatch(/EADDRINUSE/);
      expect(existsSync(socket)).toBe(false);
    } finally {
      busy.close();
    }
  });

  test("metrics prints the daemon's Prometheus text", async () => {
    expect(output(await fixture.podvisor("metrics"))).toMatch(/^# HELP /m);
  });
});
