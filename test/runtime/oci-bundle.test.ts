import { describe, expect, test } from "vitest";
import { initPathInContainer, ociConfig } from "../../src/runtime/oci/oci-bundle.ts";
import type { ContainerSpec } from "../../src/runtime/runtime-backend.ts";

const options = { initPath: "/usr/bin/catatonit", pauseRootfs: "/root/oci/pause-rootfs" };
const base: ContainerSpec = { id: "c1", command: ["sleep", "1"], logPath: "/l/c1.log", cgroupPath: "podvisor-x/pod-1/ctr-c1", rootfsDir: "/r/merged" };

describe("ociConfig", () => {
  test("runc spec's defaults, new pid/mount/ipc/uts namespaces, the netns joined by path, the cgroup in cgroupfs form", () => {
    const config = ociConfig({ ...base, netnsPath: "/run/netns/pv-1", hostname: "web-1", env: { A: "1" }, cwd: "/tmp", shmPath: "/root/sandboxes/s/shm" }, options) as any;
    expect(config.process).toMatchObject({ terminal: false, args: ["sleep", "1"], cwd: "/tmp", noNewPrivileges: true });
    expect(config.process.env).toEqual(["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1"]);
    expect(config.process.capabilities.bounding).toEqual(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    expect(config.root).toEqual({ path: "/r/merged", readonly: false });
    expect(config.hostname).toBe("web-1");
    expect(config.linux.cgroupsPath).toBe("/podvisor-x/pod-1/ctr-c1");
    expect(config.linux.namespaces).toEqual([{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "network", path: "/run/netns/pv-1" }]);
    expect(config.linux.maskedPaths).toContain("/proc/kcore");
    expect(config.linux.readonlyPaths).toContain("/proc/sysrq-trigger");
    expect(config.mounts.find((mount: any) => mount.destination === "/dev/shm")).toMatchObject({ type: "bind", source: "/root/sandboxes/s/shm" });
    expect(config.process.oomScoreAdj).toBeUndefined(); // these hosts cannot lower it
  });

  test("without a netns path: the host's network (no network namespace), a private shm tmpfs", () => {
    const config = ociConfig(base, options) as any;
    expect(config.linux.namespaces.map((ns: any) => ns.type)).not.toContain("network");
    expect(config.mounts.find((mount: any) => mount.destination === "/dev/shm")).toMatchObject({ type: "tmpfs" });
  });

  test("init: catatonit bound read-only and run as args[0] with --", () => {
    const config = ociConfig({ ...base, init: true }, options) as any;
    expect(config.process.args).toEqual([initPathInContainer, "--", "sleep", "1"]);
    expect(config.mounts.at(-1)).toMatchObject({ destination: initPathInContainer, type: "bind", source: "/usr/bin/catatonit", options: expect.arrayContaining(["ro"]) });
  });

  test("an infra container without a rootfs: catatonit -P in the read-only pause root", () => {
    const config = ociConfig({ ...base, rootfsDir: undefined, infra: true }, options) as any;
    expect(config.process.args).toEqual(["/catatonit", "-P"]);
    expect(config.root).toEqual({ path: "/root/oci/pause-rootfs", readonly: true });
  });

  test("mounts: binds from the host, read-only where asked; relative paths refused", () => {
    const config = ociConfig({ ...base, mounts: [{ containerPath: "/data", hostPath: "/srv/data", readonly: true }] }, options) as any;
    expect(config.mounts.at(-1)).toEqual({ destination: "/data", type: "bind", source: "/srv/data", options: ["rbind", "rprivate", "ro"] });
    expect(() => ociConfig({ ...base, mounts: [{ containerPath: "data", hostPath: "/srv", readonly: false }] }, options)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  test("no rootfs on any other container, or a hostname the kernel refuses: INVALID_ARGUMENT", () => {
    expect(() => ociConfig({ ...base, rootfsDir: undefined }, options)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => ociConfig({ ...base, hostname: "h".repeat(65) }, options)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
