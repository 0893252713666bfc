/** A pod's DNS config: the check (src/api/dns-config-schema.ts), the CRI's mapping, and the resolv.conf written from it (src/host/resolv-conf.ts). */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { sandboxConfigFromCri } from "../../src/cri/sandbox-config.ts";
import { resolvConfText, writeResolvConf } from "../../src/host/resolv-conf.ts";
import { normalizeSandboxConfig } from "../../supervisor/validate.ts";

const refused = (dnsConfig: unknown) => () => normalizeSandboxConfig({ name: "p", dnsConfig });

describe("dnsConfig, as the API and the supervisor check it", () => {
  test("IP addresses, domain names and resolver options pass", () => {
    const dnsConfig = { servers: ["10.96.0.10", "fd00::a"], searches: ["default.svc.cluster.local", "svc.cluster.local", "Corp_Lan.example."], options: ["ndots:5", "edns0", "timeout:2", "use-vc"] };
    expect(normalizeSandboxConfig({ name: "p", dnsConfig }).dnsConfig).toEqual(dnsConfig);
    expect(normalizeSandboxConfig({ name: "p", dnsConfig: {} }).dnsConfig).toEqual({});
  });
  test("a server that is no IP address, a fourth server, a search that is no domain name, an option that is no token: refused with the field named", () => {
    expect(refused({ servers: ["dns.example"] })).toThrow(/^Cannot create pod sandbox: dnsConfig\.servers\.0: is not an IP address/);
    expect(refused({ servers: ["1.1.1.1\nnameserver 6.6.6.6"] })).toThrow(/is not an IP address/);
    expect(refused({ servers: ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"] })).toThrow(/at most 3 servers: the resolver reads no more/);
    expect(refused({ searches: ["a b"] })).toThrow(/dnsConfig\.searches\.0: is not a domain name/);
    expect(refused({ searches: ["evil\noptions debug"] })).toThrow(/is not a domain name/);
    expect(refused({ searches: ["-bad.example"] })).toThrow(/is not a domain name/);
    expect(refused({ searches: Array.from({ length: 30 }, (_, i) => `${"d".repeat(60)}${i}.example.org`) })).toThrow(/at most 2048 characters in all/);
    expect(refused({ options: ["ndots:5 debug"] })).toThrow(/dnsConfig\.options\.0: is not a resolver option/);
    expect(refused({ options: [""] })).toThrow(/is not a resolver option/);
    expect(refused({ servers: [], extra: 1 })).toThrow(/Unrecognized key/);
  });
});

describe("the CRI's dns_config", () => {
  test("kept as the sandbox's dnsConfig, no warning; an unset one is none (the host's resolv.conf)", () => {
    const config = sandboxConfigFromCri({ config: { metadata: { name: "w" }, dns_config: { servers: ["10.10.10.10"], searches: ["google.com"], options: ["ndots:8"] } } }, "runc");
    expect(config.dnsConfig).toEqual({ servers: ["10.10.10.10"], searches: ["google.com"], options: ["ndots:8"] });
    expect(config.warnings).toBeUndefined();
    expect(sandboxConfigFromCri({ config: { metadata: { name: "w" }, dns_config: null } }).dnsConfig).toBeUndefined();
    expect(sandboxConfigFromCri({ config: { metadata: { name: "w" }, dns_config: { servers: [], searches: [], options: [] } } }).dnsConfig).toEqual({ servers: [], searches: [], options: [] });
  });
});

describe("the sandbox's resolv.conf", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-resolv-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("search, nameserver lines, options, as CRI-O and containerd write them", () => {
    expect(resolvConfText({ servers: ["10.10.10.10", "fd00::a"], searches: ["google.com", "example.org"], options: ["ndots:8", "edns0"] }))
      .toBe("search google.com example.org\nnameserver 10.10.10.10\nnameserver fd00::a\noptions ndots:8 edns0\n");
    expect(resolvConfText({ servers: ["10.0.0.1"] })).toBe("nameserver 10.0.0.1\n");
    expect(resolvConfText({ servers: [], searches: [], options: [] })).toBeUndefined();
    expect(resolvConfText(undefined)).toBeUndefined();
  });

  test("written into the sandbox's folder, mode 0644; with nothing named, the host's file copied; a host without one: empty", async () => {
    const named = await writeResolvConf(dir, { servers: ["10.0.0.1"] });
    expect(named).toBe(join(dir, "resolv.conf"));
    expect(await readFile(named, "utf8")).toBe("nameserver 10.0.0.1\n");
    expect((await stat(named)).mode & 0o777).toBe(0o644);
    const host = join(dir, "host-resolv.conf");
    await writeFile(host, "nameserver 192.0.2.53\nsearch lan\n");
    await writeResolvConf(dir, {}, { hostFile: host });
    expect(await readFile(named, "utf8")).toBe("nameserver 192.0.2.53\nsearch lan\n");
    await writeResolvConf(dir, undefined, { hostFile: join(dir, "missing") });
    expect(await readFile(named, "utf8")).toBe("");
  });
});
