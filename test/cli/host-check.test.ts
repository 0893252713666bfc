import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { HostCheckReport } from "../../src/api/api-types.ts";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { leakNetns, removeLeaks } from "../support/host-leaks.ts";
import type { Leak } from "../support/host-leaks.ts";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { call, failureLine, output, runCli } from "./cli-harness.ts";

describe.each(runtimes)("podvisor check on %s", (runtime) => {
  let daemon: DaemonProcess;
  let api: RawClient;
  let tag: string;
  const leaks: Leak[] = [];
  const podvisor = (...args: string[]) => runCli(runtime, args, { PODVISOR_SOCKET: daemon.socket });
  beforeAll(async () => {
    // No periodic check: only the ones the test asks for touch the host.
    daemon = await startDaemonProcess(runtime, ["--leak-check-interval", "0"]);
    api = await RawClient.connect(daemon.socket);
    tag = createHash("sha256").update(daemon.root).digest("hex").slice(0, 8);
  });
  afterEach(async () => {
    await removeLeaks(leaks);
  });
  afterAll(async () => {
    api.close();
    expect(await daemon.stop()).toEqual(noLeftovers);
  });

  test("prints the records against the host, lists a leak, and removes it with --repair", async () => {
    const sandboxId = (await call(api, "RunPodSandbox", { config: { name: "kept" } })).podSandboxId as string;
    const leak = await leakNetns(tag);
    leaks.push(leak);

    // Leaks found: the report on stdout, then exit 1 with one line on stderr that says so.
    const found = await podvisor("check");
    expect(failureLine(found)).toBe("podvisor: the host has 1 leak; podvisor check --repair removes them");
    const table = found.stdout.trimEnd().split("\n");
    expect(table[0]).toMatch(/^KIND\s+OWNED\s+ON HOST\s+LEAKS\s+IN FLIGHT\s+MISSING$/);
    expect(table[1]).toMatch(/^mounts\s+1\s+1\s+0\s+0\s+0$/);
    expect(table[2]).toMatch(/^netns\s+1\s+2\s+1\s+0\s+0$/);
    expect(table).toContainEqual(expect.stringMatching(new RegExp(`^netns\\s+${leak.name}\\s+no record owns it$`)));
    expect(table.at(-1)).toMatch(/^1 leak found \(\d+ms\); podvisor check --repair removes them$/);
    expect(await leak.exists()).toBe(true);

    const json = await podvisor("check", "-o", "json");
    expect(json.exitCode).toBe(1);
    const report = JSON.parse(json.stdout) as HostCheckReport;
    expect(report).toMatchObject({ repair: false, leaks: 1, removed: 0, tag });
    expect(report.kinds.netns.owned).toEqual([`pv-${tag}-${sandboxId}`]);

    const repaired = output(await podvisor("check", "--repair")).split("\n");
    expect(repaired[0]).toMatch(/^KIND\s+OWNED\s+ON HOST\s+LEAKS\s+IN FLIGHT\s+MISSING\s+REMOVED\s+FAILED$/);
    expect(repaired).toContainEqual(expect.stringMatching(new RegExp(`^netns\\s+${leak.name}\\s+no record owns it\\s+removed$`)));
    expect(repaired.at(-1)).toMatch(/^1 leak found, 1 removed, 0 failed \(\d+ms\)$/);
    expect(await leak.exists()).toBe(false);
    expect(output(await podvisor("check")).split("\n").at(-1)).toMatch(/^No leaks: the host matches the records/);
    expect((await api.call("PodSandboxStatus", { podSandboxId: sandboxId })).result.status.state).toBe("ready");
    await call(api, "RemovePodSandbox", { podSandboxId: sandboxId });
  });

  test("CheckHost refuses params of the wrong shape, and the daemon refuses a bad --leak-check-interval", async () => {
    expect((await api.call("CheckHost", { repair: "yes" })).error.data.code).toBe("INVALID_ARGUMENT");
    expect((await api.call("CheckHost", { repair: true, extra: 1 })).error.data.code).toBe("INVALID_ARGUMENT");
    const line = failureLine(await runCli(runtime, ["daemon", "--root", `${daemon.root}/never`, "--socket", `${daemon.root}/never.sock`, "--leak-check-interval", "90000"]));
    expect(line).toMatch(/--leak-check-interval must be at most 86400 seconds/);
  });
});
