/**
 * A pod's DNS config end to end, on a real daemon on each backend (runc: a real OCI container,
 * the file bound from the bundle): the resolv.conf its containers read, read-only; the host's
 * without one; a client's own mount of /etc/resolv.conf wins; bad input refused, through the CRI
 * and the JSON-RPC API alike.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { PipeClient } from "../support/pipe-client.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { connectCri, failure } from "./cri-client.ts";
import type { CriClient } from "./cri-client.ts";
import { containerConfig, makeBusyboxRootfs, podConfig } from "./cri-fixtures.ts";

const dns = { servers: ["10.10.10.10", "fd00::53"], searches: ["google.com", "svc.cluster.local"], options: ["ndots:8", "edns0"] };
const written = "search google.com svc.cluster.local\nnameserver 10.10.10.10\nnameserver fd00::53\noptions ndots:8 edns0\n";

describe.each(["process", "runc"])("a pod's resolv.conf, backend %s", (backend) => {
  let daemon: DaemonProcess;
  let cri: CriClient;
  let dir: string;
  let rootfs: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-cri-dns-"));
    rootfs = await makeBusyboxRootfs(join(dir, "rootfs"));
    daemon = await startDaemonProcess("node", ["--backend", backend]);
    cri = connectCri(daemon.criSocket);
  });
  afterAll(async () => {
    cri?.close();
    expect(await daemon.stop()).toEqual(noLeftovers);
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (podId: string, name: string, extra: Record<string, unknown> = {}) => {
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config: containerConfig(name, rootfs, ["sleep", "1000"], extra) });
    await cri.runtime("StartContainer", { container_id: id });
    return async (script: string) => {
      const result = await cri.runtime("ExecSync", { container_id: id, cmd: ["sh", "-c", script], timeout: 10 });
      return { exitCode: result.exit_code as number, stdout: result.stdout.toString() as string, stderr: result.stderr.toString() as string };
    };
  };

  test("dns_config: every container of the pod reads it at /etc/resolv.conf, read-only; the verbose status keeps it", async () => {
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("dns", { dns_config: dns }) });
    for (const name of ["a", "b"]) {
      const exec = await run(podId, name);
      expect(await exec("cat /etc/resolv.conf")).toEqual({ exitCode: 0, stdout: written, stderr: "" });
      const overwrite = await exec("echo nameserver 6.6.6.6 > /etc/resolv.conf");
      expect(overwrite.exitCode).not.toBe(0);
      expect(overwrite.stderr).toMatch(/Read-only file system/);
    }
    const { info } = await cri.runtime("PodSandboxStatus", { pod_sandbox_id: podId, verbose: true });
    expect(JSON.parse(info.info)).toMatchObject({ dnsConfig: dns });
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
  });

  test("without dns_config, or an empty one: the host's /etc/resolv.conf, as it was when the pod ran", async () => {
    const host = await readFile("/etc/resolv.conf", "utf8");
    for (const extra of [{}, { dns_config: { servers: [], searches: [], options: [] } }]) {
      const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("host-dns", extra) });
      const exec = await run(podId, "a");
      expect((await exec("cat /etc/resolv.conf")).stdout).toBe(host);
      await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    }
  });

  test("a container's own mount of /etc/resolv.conf replaces the pod's", async () => {
    const own = join(dir, "own-resolv.conf");
    await writeFile(own, "nameserver 192.0.2.1\n");
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("own-dns", { dns_config: dns }) });
    const exec = await run(podId, "a", { mounts: [{ container_path: "/etc/resolv.conf", host_path: own, readonly: true }] });
    expect((await exec("cat /etc/resolv.conf")).stdout).toBe("nameserver 192.0.2.1\n");
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
  });

  test("a bad dns_config is INVALID_ARGUMENT and makes nothing", async () => {
    const before = (await cri.runtime("ListPodSandbox", {})).items.length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ servers: ["dns.example"] }, /dnsConfig\.servers\.0: is not an IP address/],
      [{ servers: ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"] }, /at most 3 servers/],
      [{ searches: ["a\nnameserver 6.6.6.6"] }, /dnsConfig\.searches\.0: is not a domain name/],
      [{ options: ["ndots:5 debug"] }, /dnsConfig\.options\.0: is not a resolver option/],
    ];
    for (const [dnsConfig, message] of cases) {
      const refused = await failure(cri.runtime("RunPodSandbox", { config: podConfig("bad-dns", { dns_config: dnsConfig }) }));
      expect(refused.code).toBe("INVALID_ARGUMENT");
      expect(refused.details).toMatch(message);
    }
    expect((await cri.runtime("ListPodSandbox", {})).items.length).toBe(before);
  });

  test("the JSON-RPC API's RunPodSandbox takes the same dnsConfig, checked the same way", async () => {
    const client = await PipeClient.connect(daemon.socket);
    try {
      const bad = await client.call("RunPodSandbox", { config: { name: "api-bad", dnsConfig: { servers: ["not-an-ip"] } } });
      expect(bad.error).toMatchObject({ code: -32602, message: expect.stringMatching(/dnsConfig\.servers\.0: is not an IP address/) });
      const ran = await client.call("RunPodSandbox", { config: { name: "api-dns", dnsConfig: dns } });
      const podId = ran.result.podSandboxId as string;
      const exec = await run(podId, "a");
      expect((await exec("cat /etc/resolv.conf")).stdout).toBe(written);
      if (backend === "process") {
        // A host process without a root of its own sees the host's /etc: refused, not ignored.
        const created = await client.call("CreateContainer", { podSandboxId: podId, config: { name: "rootless", command: ["sleep", "1"] } });
        expect(created.error?.data?.code).toBe("INVALID_ARGUMENT");
        expect(created.error?.message).toMatch(/has a dnsConfig, and its resolv.conf is bound into a container root/);
      }
      await client.call("StopPodSandbox", { podSandboxId: podId, timeoutMs: 0 });
      expect((await client.call("RemovePodSandbox", { podSandboxId: podId })).error).toBeUndefined();
    } finally {
      client.close();
    }
  });
});
