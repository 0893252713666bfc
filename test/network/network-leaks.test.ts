import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createNetns } from "../../src/host/netns-create.ts";
import { listNetns } from "../../src/host/netns.ts";
import { PodNetwork } from "../../src/network/pod-network.ts";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers, startTestSupervisor, waitUntil, zombieChildren } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";
import { makeTestNetwork } from "./network-fixtures.ts";
import type { TestNetwork } from "./network-fixtures.ts";

let net: TestNetwork;

beforeEach(async () => {
  net = await makeTestNetwork("cnileak");
});

afterEach(async () => {
  const reservations = await net.reservations();
  await waitUntil(async () => (await net.veths()).length === 0).catch(() => {});
  const veths = await net.veths();
  await net.close();
  expect([...reservations.keys()]).toEqual([]);
  expect(veths).toEqual([]);
  expect(await zombieChildren()).toEqual([]);
});

const names = (report: { leaks: { name: string }[] }) => report.leaks.map((leak) => leak.name).sort();

describe("the leak check and the CNI networks (supervisor)", () => {
  let t: TestSupervisor;

  beforeEach(async () => {
    t = await startTestSupervisor({ network: { confDir: net.confDir, binDirs: net.binDirs } });
  });

  afterEach(async () => {
    expect(await t.close()).toEqual(noLeftovers);
  });

  test("a ready sandbox's address and veth are owned; another runtime's reservation on the network is not podvisor's", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "owned" });
    const ip = t.supervisor.podSandboxStatus(id).network?.ip as string;
    const base = net.subnet.slice(0, net.subnet.lastIndexOf("."));
    // Another runtime's pod on the same network: its reservation names a container id not of this daemon.
    const foreign = join(net.dataDir, net.name, `${base}.250`);
    await writeFile(foreign, "crio-0123456789\r\neth0");
    const report = await t.supervisor.checkHost({ repair: true });
    expect(report.kinds.addresses).toMatchObject({ owned: [`${net.name}/${ip}`], onHost: [`${net.name}/${ip}`], leaks: [], missing: [] });
    expect(report.kinds.veths).toMatchObject({ owned: await net.veths(), leaks: [] });
    expect(report.leaks).toBe(0);
    expect(await readdir(join(net.dataDir, net.name))).toContain(`${base}.250`);
    await import("node:fs/promises").then(({ rm }) => rm(foreign));
  });

  test("a crash between the ADD and the record's write: the check finds the address, veth and netns, and its repair DELs them", async () => {
    // What RunPodSandbox does before its first record write, done by hand: the netns, then the ADD.
    const name = `pv-${t.supervisor.tag}-crashedbetween0000000`;
    const netns = await createNetns(name);
    const network = new PodNetwork({ confDir: net.confDir, binDirs: net.binDirs, cacheDir: join(t.root, "cni") });
    const attached = await network.attach({ containerId: name, netns: netns.path });
    const address = `${net.name}/${attached?.ip}`;
    const report = await t.supervisor.checkHost();
    expect(names(report.kinds.addresses)).toEqual([address]);
    expect(report.kinds.addresses.leaks[0].reason).toBe(`reserved for ${name}: no record owns it`);
    expect(names(report.kinds.veths)).toEqual(await net.veths());
    expect(names(report.kinds.netns)).toEqual([name]);
    const repaired = await t.supervisor.checkHost({ repair: true });
    expect(repaired.kinds.addresses.removed).toEqual([address]);
    expect(repaired.kinds.veths.failed).toEqual([]);
    expect(repaired.kinds.netns.removed).toEqual([name]);
    expect(await net.reservations()).toEqual(new Map());
    await waitUntil(async () => (await net.veths()).length === 0);
    expect((await readdir(join(t.root, "cni"))).filter((file) => file.endsWith(".json"))).toEqual([]);
    expect((await t.supervisor.checkHost()).leaks).toBe(0);
  });

  test("a reservation with neither record nor cache entry is DELeted with the current configuration", async () => {
    const name = `pv-${t.supervisor.tag}-nocache00000000000000`;
    const netns = await createNetns(name);
    const network = new PodNetwork({ confDir: net.confDir, binDirs: net.binDirs, cacheDir: join(t.root, "cni") });
    await network.attach({ containerId: name, netns: netns.path });
    await network.cache.remove(name); // as if the cache were lost too
    const repaired = await t.supervisor.checkHost({ repair: true });
    expect(repaired.kinds.addresses.removed).toHaveLength(1);
    expect(repaired.kinds.addresses.failed).toEqual([]);
    expect(await net.reservations()).toEqual(new Map());
  });

  test("an address left reserved for a stopped sandbox is a leak, DELeted with the configuration and result its record holds", async () => {
    const id = await t.supervisor.runPodSandbox({ name: "stopped" });
    await t.supervisor.stopPodSandbox(id, { timeoutMs: 1_000 });
    expect(await net.reservations()).toEqual(new Map());
    // A plugin that keeps an address past a DEL, as it were: reserved again under the stopped sandbox's id.
    const name = `pv-${t.supervisor.tag}-${id}`;
    const netns = await createNetns(name);
    await new PodNetwork({ confDir: net.confDir, binDirs: net.binDirs, cacheDir: join(net.dir, "other-cache") }).attach({ containerId: name, netns: netns.path });
    const report = await t.supervisor.checkHost({ repair: true });
    expect(report.kinds.addresses.leaks).toEqual([expect.objectContaining({ reason: `reserved for ${name}: its pod sandbox ${id} is stopped` })]);
    expect(report.kinds.addresses.removed).toHaveLength(1);
    expect(report.kinds.netns.removed).toEqual([name]);
    expect(await net.reservations()).toEqual(new Map());
  });

  test("the periodic check repairs an address only once a second check finds it again", async () => {
    const name = `pv-${t.supervisor.tag}-periodic00000000000000`;
    const netns = await createNetns(name);
    const network = new PodNetwork({ confDir: net.confDir, binDirs: net.binDirs, cacheDir: join(t.root, "cni") });
    await network.attach({ containerId: name, netns: netns.path });
    const periodic = { repair: true, repairOnlyRepeated: true };
    const first = await t.supervisor.checkHost(periodic);
    expect(first.kinds.addresses.leaks[0].notRepaired).toMatch(/^first seen/);
    expect((await net.reservations()).size).toBe(1);
    const second = await t.supervisor.checkHost(periodic);
    expect(second.kinds.addresses.removed).toHaveLength(1);
    expect(await net.reservations()).toEqual(new Map());
  });
});

describe("a real crash (kill -9 of the daemon) in the middle of an ADD", () => {
  test.each(runtimes)("on %s: the restarted daemon's leak check DELs what the crashed one added: no address, veth or netns left", async (runtime) => {
    await net.writeConfig({ toggle: true });
    await import("node:fs/promises").then(({ rm }) => rm(join(net.testBinDir, "pvtoggle.hung"), { force: true }));
    await net.toggle("hang-add", true); // bridge has added (address, veth); the next plugin hangs
    const args = ["--cni-conf-dir", net.confDir, "--cni-bin-dir", net.binDirs.join(":"), "--leak-check-interval", "0"];
    const daemon = await startDaemonProcess(runtime, args);
    const client = await RawClient.connect(daemon.socket);
    void client.call("RunPodSandbox", { config: { name: "crashed" } }).catch(() => {});
    await waitUntil(async () => (await net.reservations()).size === 1, 30_000);
    await waitUntil(async () => (await readdir(net.testBinDir)).includes("pvtoggle.hung"), 30_000);
    client.close();
    await daemon.crash();
    // The hung plugin is in a process group of its own: the crash did not end it. It is the test's to end.
    await net.toggle("hang-add", false);
    const { readFile } = await import("node:fs/promises");
    for (const pid of (await readFile(join(net.testBinDir, "pvtoggle.hung"), "utf8")).split("\n").filter(Boolean)) process.kill(Number(pid), "SIGKILL");
    const tag = (await import("node:crypto")).createHash("sha256").update(daemon.root).digest("hex").slice(0, 8);
    expect(await listNetns(`pv-${tag}-`)).toHaveLength(1);
    expect(await net.veths()).toHaveLength(1);
    const again = await startDaemonProcess(runtime, args, { root: daemon.root });
    if ((await net.reservations()).size > 0) {
      // Not repaired at start: say what the daemon's check sees now, for the failure's message.
      const checker = await RawClient.connect(again.socket);
      const answer = await checker.call("CheckHost", {});
      checker.close();
      expect.fail(`the start-up check left an address: ${JSON.stringify(answer.result?.kinds?.addresses ?? answer.error)}`);
    }
    expect(await listNetns(`pv-${tag}-`)).toEqual([]);
    await waitUntil(async () => (await net.veths()).length === 0);
    expect(await again.stop()).toEqual(noLeftovers);
  });
});

describe("kill -9 of the daemon in the middle of a stop-all's DELs", () => {
  // On Node only for now: a Deno daemon restarted with stops to resume never answers a connection
  // made as soon as its socket serves (not even Version; one made 4 s later is answered), which is
  // the API thread's, not the network's: with the restarted daemon on Node this passes after a Deno crash.
  test.each(["node"] as const)("on %s: restart, stop all, remove all: no address, veth or netns left", async (runtime) => {
    await net.writeConfig({ toggle: true });
    const args = ["--cni-conf-dir", net.confDir, "--cni-bin-dir", net.binDirs.join(":"), "--leak-check-interval", "0"];
    const daemon = await startDaemonProcess(runtime, args);
    const tag = (await import("node:crypto")).createHash("sha256").update(daemon.root).digest("hex").slice(0, 8);
    const client = await RawClient.connect(daemon.socket);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await client.call("RunPodSandbox", { config: { name: `pod${i}` } })).result.podSandboxId);
    expect((await net.reservations()).size).toBe(12);
    await net.toggle("slow-del", true); // each DEL takes 200 ms more: the crash lands among them
    void client.call("StopPodSandboxes", { all: true, timeoutMs: 1_000 }).catch(() => {});
    const calls = join(net.testBinDir, "pvtoggle.calls");
    const { readFile } = await import("node:fs/promises");
    await waitUntil(async () => (await readFile(calls, "utf8").catch(() => "")).includes("start"), 30_000);
    client.close();
    await daemon.crash();
    await net.toggle("slow-del", false);
    const again = await startDaemonProcess(runtime, args, { root: daemon.root });
    const next = await RawClient.connect(again.socket);
    const stopped = await next.call("StopPodSandboxes", { all: true, timeoutMs: 2_000 });
    expect(stopped.error).toBeUndefined();
    expect((stopped.result.results as { ok: boolean }[]).every((result) => result.ok)).toBe(true);
    for (const id of ids) expect((await next.call("RemovePodSandbox", { podSandboxId: id })).error).toBeUndefined();
    next.close();
    expect(await net.reservations()).toEqual(new Map());
    expect(await listNetns(`pv-${tag}-`)).toEqual([]);
    await waitUntil(async () => (await net.veths()).length === 0);
    expect(await again.stop()).toEqual(noLeftovers);
  });
});
