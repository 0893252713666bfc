import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { loadNetworkConfig } from "../../src/network/cni-config.ts";
import { networkAddresses } from "../../src/network/network-status.ts";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-cniconf-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const list = (name: string) => JSON.stringify({ cniVersion: "1.0.0", name, plugins: [{ type: "bridge", bridge: "x" }, { type: "portmap" }] });

describe("loadNetworkConfig()", () => {
  test("no conf dir, or one with no network file: network \"none\"", async () => {
    expect(await loadNetworkConfig(join(dir, "absent"))).toBeUndefined();
    await writeFile(join(dir, "README"), "not a network");
    await mkdir(join(dir, "00-folder.conflist")); // a folder is never a configuration
    expect(await loadNetworkConfig(dir)).toBeUndefined();
  });

  test("the first file in lexical order is the pod network, whatever its extension", async () => {
    await writeFile(join(dir, "20-second.conflist"), list("second"));
    await writeFile(join(dir, "10-first.conflist"), list("first"));
    await writeFile(join(dir, "99-loopback.conf"), JSON.stringify({ cniVersion: "1.0.0", name: "lo", type: "loopback" }));
    expect(await loadNetworkConfig(dir)).toEqual({ source: join(dir, "10-first.conflist"), configList: JSON.parse(list("first")) });
    await writeFile(join(dir, "05-single.conf"), JSON.stringify({ cniVersion: "0.4.0", name: "single", type: "bridge", bridge: "br9", ipam: { type: "host-local" } }));
    expect((await loadNetworkConfig(dir))?.configList).toEqual({ cniVersion: "0.4.0", name: "single", plugins: [{ type: "bridge", bridge: "br9", ipam: { type: "host-local" } }] });
  });

  test.each([
    ["not JSON", "{", /not JSON/],
    ["no plugins", JSON.stringify({ cniVersion: "1.0.0", name: "n", plugins: [] }), /plugins: Too small/],
    ["a name that is a path", JSON.stringify({ cniVersion: "1.0.0", name: "../etc", plugins: [{ type: "bridge" }] }), /name: a network name is/],
    ["a plugin type that is a path", JSON.stringify({ cniVersion: "1.0.0", name: "n", plugins: [{ type: "/bin/sh" }] }), /plugins\.0\.type: a plugin type is a binary's name/],
    ["an unsupported version", JSON.stringify({ cniVersion: "0.2.0", name: "n", plugins: [{ type: "bridge" }] }), /cniVersion/],
  ])("a conf file with %s is an error naming the file", async (_what, text, message) => {
    await writeFile(join(dir, "10-bad.conflist"), text);
    const error = await loadNetworkConfig(dir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "FAILED_PRECONDITION", message: expect.stringContaining(`Cannot use CNI configuration ${join(dir, "10-bad.conflist")}: `) });
    expect((error as Error).message).toMatch(message);
  });
});

describe("networkAddresses()", () => {
  test("addresses without prefix length, the first IPv4 one as ip", () => {
    expect(networkAddresses({ ips: [{ address: "fd00::5/64" }, { address: "10.244.0.5/24" }] })).toEqual({ ip: "10.244.0.5", ips: ["fd00::5", "10.244.0.5"] });
    expect(networkAddresses({ ips: [{ address: "fd00::5/64" }] })).toEqual({ ip: "fd00::5", ips: ["fd00::5"] });
    expect(networkAddresses({})).toEqual({ ips: [] });
    expect(networkAddresses({ ips: [{ address: "127.0.0.1/8" }, { address: "::1/128" }, { address: "10.244.0.5/24" }] })).toEqual({ ip: "10.244.0.5", ips: ["10.244.0.5"] });
  });
});
