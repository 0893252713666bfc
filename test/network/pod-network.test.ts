import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { noLeftovers, startTestSupervisor, waitUntil, zombieChildren } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";
import { makeTestNetwork } from "./network-fixtures.ts";
import type { TestNetwork } from "./network-fixtures.ts";

let net: TestNetwork;
let t: TestSupervisor;

beforeEach(async () => {
  net = await makeTestNetwork("cni");
  t = await startTestSupervisor({ network: { confDir: net.confDir, binDirs: net.binDirs, pluginTimeoutMs: 2_000 } });
});

afterEach(async () => {
  const leftovers = await t.close();
  const reservations = await net.reservations();
  // A namespace (and the veth in it) is freed by the kernel a moment after its last process ends.
  await waitUntil(async () => (await net.veths()).length === 0).catch(() => {});
  const veths = await net.veths();
  await net.close();
  expect(leftovers).toEqual(noLeftovers);
  expect([...reservations.keys()]).toEqual([]);
  expect(veths).toEqual([]);
  expect(await zombieChildren()).toEqual([]);
});

const cacheEntries = async () => (await readdir(join(t.root, "cni")).catch(() => [] as string[])).filter((name) => name.endsWith(".json"));
const inNetns = (path: string, command: string[]) => execa("nsenter", [`--net=${path}`, ...command], { reject: false });

describe("pod networking through CNI (bridge + host-local)", () => {
  test("each sandbox gets its own address, shown in its status and reserved under its netns name", async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => t.supervisor.runPodSandbox({ name: `pod${i}` })));
    const statuses = ids.map((id) => t.supervisor.podSandboxStatus(id));
    const ips = statuses.map((status) => status.network?.ip);
    expect(new Set(ips).size).toBe(8);
    const prefix = net.subnet.slice(0, net.subnet.lastIndexOf(".") + 1);
    for (const status of statuses) {
      expect(status.network).toEqual({ ip: expect.stringMatching(new RegExp(`^${prefix.replaceAll(".", "\\.")}\\d+$`)), ips: [status.network?.ip], interface: "eth0" });
      expect(status).not.toHaveProperty("network.config");
    }
    const reservations = await net.reservations();
    expect(new Map([...reservations].sort())).toEqual(new Map(ids.map((id, i) => [ips[i] as string, `pv-${t.supervisor.tag}-${id}`] as const).sort()));
    expect(await net.veths()).toHaveLength(8);
    // eth0 inside carries the address.
    const { stdout } = await inNetns(statuses[0].netnsPath as string, ["ip", "-o", "-4", "addr", "show", "eth0"]);
    expect(stdout).toContain(`${ips[0]}/24`);
    const results = await t.supervisor.stopPodSandboxes({ all: true }, { timeoutMs: 2_000 });
    expect(results.every((result) => result.ok)).toBe(true);
    expect(results[0].phases["network-teardown"]).toBeGreaterThan(0);
    expect(await net.reservations()).toEqual(new Map());
    await waitUntil(async () => (await net.veths()).length === 0);
    expect(await cacheEntries()).toEqual([]);
  });

  test("one sandbox reaches another over the bridge", async () => {
    const [a, b] = await Promise.all([t.supervisor.runPodSandbox({ name: "a" }), t.supervisor.runPodSandbox({ name: "b" })]);
    const from = t.supervisor.podSandboxStatus(a);
    const to = t.supervisor.podSandboxStatus(b);
    // Traffic only between two namespaces this test made, on its own subnet.
    const ping = await inNetns(from.netnsPath as string, ["busybox", "ping", "-c", "1", "-W", "10", to.network?.ip as string]);
    expect(ping.stdout).toContain("1 packets received");
    expect(ping.exitCode).toBe(0);
  });

  test("the range exhausted: a clear error, and nothing of the failed sandbox left", async () => {
    const base = net.subnet.slice(0, net.subnet.lastIndexOf("."));
    await net.writeConfig({ rangeStart: `${base}.2`, rangeEnd: `${base}.2` });
    const first = await t.supervisor.runPodSandbox({ name: "first" });
    const error = await t.supervisor.runPodSandbox({ name: "second" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CNI_PLUGIN_FAILED", message: expect.stringMatching(/^Cannot attach the pod to network .* plugin bridge failed: .*no IP addresses available in range set/) });
    expect(t.supervisor.listPodSandbox().map((s) => s.id)).toEqual([first]);
    expect(await net.reservations()).toEqual(new Map([[`${base}.2`, `pv-${t.supervisor.tag}-${first}`]]));
    expect(await net.veths()).toHaveLength(1);
    expect((await execa("ip", ["netns", "list"])).stdout).not.toMatch(new RegExp(`pv-${t.supervisor.tag}-(?!${first})`));
    expect(await cacheEntries()).toEqual([`pv-${t.supervisor.tag}-${first}.json`]);
  });

  test("DEL with the namespace already gone still frees the address", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "gone" });
    const { netnsPath } = t.supervisor.podSandboxStatus(id);
    await execa("ip", ["netns", "delete", (netnsPath as string).split("/").at(-1) as string]);
    // The file is gone; the namespace lives on in its infra process until the stop kills it.
    expect((await net.reservations()).size).toBe(1);
    const outcome = await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    expect(outcome.skipped["network-teardown"]).toBeUndefined();
    expect(await net.reservations()).toEqual(new Map());
    // The veth goes with the namespace, once the kernel has freed it.
    await waitUntil(async () => (await net.veths()).length === 0);
  });

  test("DEL with the namespace file left but nothing mounted on it (a half-removed netns) still frees the address", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "unmounted" });
    const netnsPath = t.supervisor.podSandboxStatus(id).netnsPath as string;
    await execa("umount", [netnsPath]);
    expect((await net.reservations()).size).toBe(1);
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    expect(await net.reservations()).toEqual(new Map());
  });

  test("DEL uses the configuration the ADD stored, whatever the conf dir says by then", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "before" });
    const before = t.supervisor.podSandboxStatus(id).network?.ip;
    // Another network now: another name, bridge and subnet; the first sandbox's DEL must still free its address.
    const other = { name: `${net.name}b`, bridge: `${net.bridge}b`.slice(-15), subnet: `10.244.${(Number(net.subnet.split(".")[2]) + 1) % 250}.0/24`, file: "05-other.conflist" };
    await net.writeConfig(other);
    const second = await t.supervisor.runPodSandbox({ name: "after" });
    expect(t.supervisor.podSandboxStatus(second).network?.ip?.startsWith(other.subnet.slice(0, -4))).toBe(true);
    expect([...(await net.reservations()).keys()]).toEqual([before]);
    await net.writeConfig({ file: "99-broken.conflist", name: "INVALID NAME" });
    const results = await t.supervisor.stopPodSandboxes({ all: true }, { timeoutMs: 1_000 });
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(await net.reservations()).toEqual(new Map());
    expect(await net.reservations(other.name)).toEqual(new Map());
    expect(await net.veths(other.bridge)).toEqual([]);
  });

  test("a conf dir with no network: network \"none\", and a broken one: a clear error naming the file", async () => {
    await net.writeConfig({ file: "10-x.txt" });
    const none = await t.supervisor.runPodSandbox({ name: "none" });
    expect(t.supervisor.podSandboxStatus(none).network).toBeUndefined();
    await net.writeConfig({ file: "10-bad.conflist", name: "bad/name" });
    await expect(t.supervisor.runPodSandbox({ name: "bad" })).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message: expect.stringContaining(`Cannot use CNI configuration ${join(net.confDir, "10-bad.conflist")}: name:`),
    });
    expect(t.supervisor.listPodSandbox()).toHaveLength(1);
  });

  test("a list with the loopback plugin after the bridge: the pod's address is the bridge's, loopback is up", async () => {
    await net.writeConfig({ loopback: true });
    const id = await t.supervisor.runPodSandbox({ name: "lo" });
    const status = t.supervisor.podSandboxStatus(id);
    expect(status.network?.ips).toHaveLength(1);
    expect(status.network?.ip?.startsWith(net.subnet.slice(0, net.subnet.lastIndexOf(".") + 1))).toBe(true);
    const { stdout } = await inNetns(status.netnsPath as string, ["ip", "-o", "link", "show", "lo"]);
    expect(stdout).toMatch(/<[^>]*\bUP\b[^>]*>/);
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    expect(await net.reservations()).toEqual(new Map());
  });

  test("hostNetwork sandboxes skip CNI", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "host", hostNetwork: true });
    expect(t.supervisor.podSandboxStatus(id).network).toBeUndefined();
    expect(await net.reservations()).toEqual(new Map());
    const outcome = await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    expect(outcome.skipped["network-teardown"]).toBe("the sandbox uses the host network");
  });
});

describe("plugin failures (a test plugin after the real bridge)", () => {
  beforeEach(async () => {
    await net.writeConfig({ toggle: true });
  });

  test("a failed ADD is undone: the address freed, the veth and netns gone, the plugin's message in the error", async () => {
    await net.toggle("fail-add", true);
    const error = await t.supervisor.runPodSandbox({ name: "failing" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CNI_PLUGIN_FAILED", message: expect.stringContaining("plugin pvtoggle failed: pvtoggle told to fail ADD") });
    expect(t.supervisor.listPodSandbox()).toEqual([]);
    expect(await net.reservations()).toEqual(new Map());
    expect(await net.veths()).toEqual([]);
    expect(await cacheEntries()).toEqual([]);
  });

  test("a failed ADD whose undo fails too: the error says so, and the leak check DELs it from the CNI cache", async () => {
    await net.toggle("fail-add", true);
    await net.toggle("fail-del", true);
    const error = await t.supervisor.runPodSandbox({ name: "twice" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CNI_PLUGIN_FAILED", message: expect.stringMatching(/told to fail ADD; its undo failed too \(.*told to fail DEL\), the leak check retries it$/) });
    expect(t.supervisor.listPodSandbox()).toEqual([]);
    expect((await net.reservations()).size).toBe(1);
    expect(await cacheEntries()).toHaveLength(1);
    await net.toggle("fail-del", false);
    const report = await t.supervisor.checkHost({ repair: true });
    expect(report.kinds.addresses.removed).toHaveLength(1);
    expect(await net.reservations()).toEqual(new Map());
    expect(await cacheEntries()).toEqual([]);
  });

  test("a hung plugin at ADD is killed at its timeout, and the ADD undone", async () => {
    await net.toggle("hang-add", true);
    const startedAt = Date.now();
    const error = await t.supervisor.runPodSandbox({ name: "hanging" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "DEADLINE_EXCEEDED", message: expect.stringContaining("plugin pvtoggle did not finish within") });
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    expect(await net.reservations()).toEqual(new Map());
    expect(t.supervisor.listPodSandbox()).toEqual([]);
  });

  test("a failed DEL fails the stop with STOP_INCOMPLETE naming the step and the plugin's message; a retry finishes", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "stuck" });
    await net.toggle("fail-del", true);
    const error = await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "STOP_INCOMPLETE",
      message: expect.stringMatching(/network-teardown failed: .*plugin pvtoggle failed: pvtoggle told to fail DEL; retry the stop$/),
      details: { step: "network-teardown", podSandboxId: id },
    });
    expect(t.supervisor.podSandboxStatus(id).state).toBe("ready");
    expect((await net.reservations()).size).toBe(1);
    await net.toggle("fail-del", false);
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    expect(t.supervisor.podSandboxStatus(id).state).toBe("stopped");
    expect(await net.reservations()).toEqual(new Map());
  });

  test("a hung plugin at DEL is bounded: the stop fails at the plugin's timeout, a retry finishes", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "stuck" });
    await net.toggle("hang-del", true);
    const startedAt = Date.now();
    const error = await t.supervisor.stopPodSandbox(id, { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "STOP_INCOMPLETE", details: { step: "network-teardown" }, message: expect.stringContaining("did not finish within") });
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    await net.toggle("hang-del", false);
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 500 });
    expect(await net.reservations()).toEqual(new Map());
  });
});
