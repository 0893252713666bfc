import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { invokePlugin } from "../../src/network/cni-invoke.ts";
import type { PluginInvocation } from "../../src/network/cni-invoke.ts";
import { isAlive, waitUntil } from "../support/supervisor.ts";

// The misbehaving plugins are scripts of the test's own: the real plugins cannot be made to hang,
// print garbage or crash on demand. The protocol around them (environment, stdin, stdout) is real.
const plugins: Record<string, string> = {
  // Hangs, with a child in its process group (as bridge runs host-local); says both pids first.
  hang: `#!/bin/sh\nsleep 1000 &\necho "$$ $!" > "$0.pids"\nwait\n`,
  fails: `#!/bin/sh\ncat > /dev/null\necho '{"cniVersion":"1.0.0","code":11,"msg":"no luck today","details":"try later"}'\nexit 1\n`,
  garbage: `#!/bin/sh\necho 'this is not json'\n`,
  crash: `#!/bin/sh\necho 'panic: runtime error: index out of range' >&2\nexit 2\n`,
  badresult: `#!/bin/sh\necho '{"cniVersion":"1.0.0","ips":[{"address":"not an address"}]}'\n`,
  // Echoes what it was given: the environment and stdin, as a result's extra fields.
  echo: `#!/bin/sh\nconfig=$(cat)\nprintf '{"cniVersion":"1.0.0","ips":[{"address":"10.244.9.2/24"}],"seen":{"command":"%s","id":"%s","netns":"%s","ifname":"%s","args":"%s","path":"%s"},"config":%s}' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH" "$config"\n`,
};

let dir: string;
let binDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-cni-invoke-"));
  binDir = join(dir, "bin");
  await mkdir(binDir);
  for (const [name, script] of Object.entries(plugins)) {
    await writeFile(join(binDir, name), script);
    await chmod(join(binDir, name), 0o755);
  }
  await writeFile(join(binDir, "notexec"), "#!/bin/sh\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const call = (command: PluginInvocation["command"] = "ADD"): PluginInvocation => ({
  command,
  containerId: "pv-test-abc",
  netns: "/run/netns/pv-test-abc",
  ifName: "eth0",
  args: "IgnoreUnknown=1",
  config: { cniVersion: "1.0.0", name: "testnet", type: "echo", answer: 42 },
});
const options = (deadlineMs = 10_000) => ({ binDirs: ["/nonexistent-pvtest", binDir], deadlineAt: Date.now() + deadlineMs });

describe("invokePlugin()", () => {
  test("passes the CNI environment and the config on stdin, and validates the result", async () => {
    const result = await invokePlugin("echo", call(), options());
    expect(result).toMatchObject({
      ips: [{ address: "10.244.9.2/24" }],
      seen: { command: "ADD", id: "pv-test-abc", netns: "/run/netns/pv-test-abc", ifname: "eth0", args: "IgnoreUnknown=1", path: `/nonexistent-pvtest:${binDir}` },
      config: { name: "testnet", answer: 42 },
    });
  });

  test("DEL resolves with no result", async () => {
    expect(await invokePlugin("echo", call("DEL"), options())).toBeUndefined();
  });

  test("a plugin's CNI error becomes an error carrying its message, code and details", async () => {
    const error = await invokePlugin("fails", call(), options()).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "CNI_PLUGIN_FAILED",
      message: "Cannot ADD network testnet for pv-test-abc: plugin fails failed: no luck today (try later)",
      details: { plugin: "fails", cniCode: 11, exitCode: 1 },
    });
  });

  test("a plugin that fails without a CNI error is reported with its stderr", async () => {
    await expect(invokePlugin("crash", call(), options())).rejects.toMatchObject({
      code: "CNI_PLUGIN_FAILED",
      message: expect.stringContaining("failed without a CNI error: panic: runtime error: index out of range"),
    });
  });

  test("output that is not JSON, or not a valid result, is an error", async () => {
    await expect(invokePlugin("garbage", call(), options())).rejects.toThrow(/output is not JSON: "this is not json/);
    await expect(invokePlugin("badresult", call(), options())).rejects.toThrow(/invalid result: ips\.0\.address: an address in CIDR form/);
  });

  test("a missing or non-executable plugin, or a type that is a path, is a clear error", async () => {
    await expect(invokePlugin("nosuch", call(), options())).rejects.toMatchObject({ code: "FAILED_PRECONDITION", message: expect.stringContaining(`no executable plugin "nosuch" in /nonexistent-pvtest:${binDir}`) });
    await expect(invokePlugin("notexec", call(), options())).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
    await expect(invokePlugin("../bin/echo", call(), options())).rejects.toThrow(TypeError);
  });

  test("a hung plugin is killed at its deadline, with its children", async () => {
    const startedAt = Date.now();
    const outcome = await invokePlugin("hang", call(), { ...options(500), binDirs: [binDir] }).catch((e: unknown) => e);
    expect(outcome).toMatchObject({ code: "DEADLINE_EXCEEDED", message: expect.stringContaining("plugin hang did not finish within") });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    const pids = (await readFile(join(binDir, "hang.pids"), "utf8")).trim().split(" ").map(Number);
    expect(pids).toHaveLength(2);
    await waitUntil(() => pids.every((pid) => !isAlive(pid)));
  });

  test("a hung plugin is killed, children and all, when the caller's signal aborts", async () => {
    await writeFile(join(binDir, "hang2"), plugins.hang);
    await chmod(join(binDir, "hang2"), 0o755);
    const pidsFile = join(binDir, "hang2.pids");
    const controller = new AbortController();
    const outcome = invokePlugin("hang2", call(), { ...options(), signal: controller.signal }).catch((e: unknown) => e);
    await waitUntil(async () => (await readFile(pidsFile, "utf8").catch(() => "")).trim().split(" ").length === 2);
    const pids = (await readFile(pidsFile, "utf8")).trim().split(" ").map(Number);
    controller.abort(new Error("caller gave up"));
    expect(await outcome).toMatchObject({ message: "caller gave up" });
    await waitUntil(() => pids.every((pid) => !isAlive(pid)));
  });

  test("a deadline already passed never starts the plugin", async () => {
    await expect(invokePlugin("echo", call(), { binDirs: [binDir], deadlineAt: Date.now() - 1 })).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
  });
});
