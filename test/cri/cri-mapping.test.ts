/** The CRI's messages as podvisor's configs, budgets, limits and error codes: the pure parts of src/cri. */
import { status } from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { CodedError } from "../../src/errors/coded-error.ts";
import { bindMountsFromCri } from "../../src/cri/bind-mounts.ts";
import { limitFiles, sharesToWeight } from "../../src/cri/cgroup-limits.ts";
import { containerConfigFromCri } from "../../src/cri/container-config.ts";
import { CriError, isNotFound, toServiceError } from "../../src/cri/cri-errors.ts";
import { nanos } from "../../src/cri/cri-message.ts";
import { filterContainers } from "../../src/cri/container-handlers.ts";
import { sandboxConfigFromCri } from "../../src/cri/sandbox-config.ts";
import { stopBudget } from "../../src/cri/stop-budget.ts";

const pod = { logDirectory: "/var/log/pods/x", hostNetwork: false, hostIpc: false };

describe("StopPodSandbox's budget from the call's deadline", () => {
  test("none: the daemon's default", () => {
    expect(stopBudget(Infinity, 1_000)).toEqual({});
  });
  test("the kill a tenth of the remaining time before the deadline, at most a second", () => {
    expect(stopBudget(1_000 + 5_000, 1_000)).toEqual({ deadlineAt: 1_000 + 4_500 });
    expect(stopBudget(new Date(1_000 + 60_000), 1_000)).toEqual({ deadlineAt: 1_000 + 59_000 });
  });
  test("a deadline passed already: now; one more than a day away: a day", () => {
    expect(stopBudget(500, 1_000)).toEqual({ deadlineAt: 1_000 });
    expect(stopBudget(1_000 + 10 * 86_400_000, 1_000)).toEqual({ deadlineAt: 1_000 + 86_400_000 - 1_000 });
  });
});

describe("PodSandboxConfig", () => {
  test("metadata, labels, annotations, log directory, cgroup parent and host namespaces are kept", () => {
    const config = sandboxConfigFromCri({
      config: {
        metadata: { name: "web", uid: "u", namespace: "ns", attempt: 2 },
        log_directory: "/var/log/pods/web",
        labels: { a: "b" },
        annotations: { c: "d" },
        linux: { cgroup_parent: "/kubepods/pod-u", security_context: { namespace_options: { network: "NODE", ipc: "NODE", pid: "NODE" } } },
      },
      runtime_handler: "",
    });
    expect(config).toEqual({ name: "web", uid: "u", namespace: "ns", attempt: 2, logDirectory: "/var/log/pods/web", cgroupParent: "/kubepods/pod-u", labels: { a: "b" }, annotations: { c: "d" }, hostNetwork: true, hostIpc: true });
  });
  test("what kubelet sends and podvisor does not do is a warning, never dropped silently", () => {
    const config = sandboxConfigFromCri({
      config: {
        metadata: { name: "web" },
        hostname: "web-0",
        dns_config: { servers: ["10.0.0.10"], searches: [], options: [] },
        port_mappings: [{ container_port: 80 }],
        linux: { sysctls: { "net.ipv4.ip_forward": "1" }, security_context: { namespace_options: { pid: "CONTAINER" }, seccomp: { profile_type: "RuntimeDefault" } } },
      },
    });
    expect(config.warnings).toEqual([
      expect.stringMatching(/^namespace_options.pid CONTAINER: not applied/),
      expect.stringMatching(/^security_context.seccomp: not applied/),
      expect.stringMatching(/^linux.sysctls: not applied/),
      expect.stringMatching(/^hostname: not applied/),
      expect.stringMatching(/^port_mappings: no port is forwarded/),
    ]);
    expect(sandboxConfigFromCri({ config: { metadata: { name: "w" }, linux: { security_context: { namespace_options: { pid: "CONTAINER" } } } } }, "runc").warnings).toBeUndefined();
  });
  test("what would change what runs is refused", () => {
    expect(() => sandboxConfigFromCri({ config: { metadata: { name: "w" }, linux: { security_context: { namespace_options: { userns_options: { mode: "POD" } } } } } })).toThrow(/user namespace mode POD is not supported/);
    expect(() => sandboxConfigFromCri({ config: { metadata: { name: "w" }, linux: { security_context: { run_as_group: { value: 5 } } } } })).toThrow(/run_as_group/);
  });
});

describe("ContainerConfig", () => {
  const base = { metadata: { name: "app", attempt: 1 }, image: { image: "registry.local/app:1" }, linux: { security_context: { privileged: true } } };
  test("image, command and args go to the supervisor separately (it applies the image's entrypoint and cmd)", () => {
    const config = containerConfigFromCri({ ...base, args: ["--port", "80"], envs: [{ key: "A", value: Buffer.from("1") }], working_dir: "/srv", log_path: "app/1.log", labels: { l: "1" } }, pod);
    expect(config).toEqual({ name: "app", args: ["--port", "80"], env: { A: "1" }, cwd: "/srv", image: "registry.local/app:1", attempt: 1, labels: { l: "1" }, annotations: {}, criLogPath: "/var/log/pods/x/app/1.log" });
  });
  test("a log path may not leave the log directory", () => {
    expect(() => containerConfigFromCri({ ...base, log_path: "../escape.log" }, pod)).toThrow(/must be relative to the log directory, inside it/);
    expect(() => containerConfigFromCri({ ...base, log_path: "/etc/passwd" }, pod)).toThrow(/must be relative/);
  });
  test("cpu and memory limits are kept; the limits podvisor does not write are warnings", () => {
    const config = containerConfigFromCri({ ...base, linux: { resources: { cpu_shares: 512, cpu_quota: 20_000, cpu_period: 100_000, memory_limit_in_bytes: 1 << 20, oom_score_adj: 1000 }, security_context: { privileged: true } } }, pod);
    expect(config.resources).toEqual({ cpuShares: 512, cpuQuota: 20_000, cpuPeriod: 100_000, memoryLimitInBytes: 1 << 20 });
    expect(config.warnings).toEqual(["linux.resources.oom_score_adj: not applied"]);
  });
  test("security options the container spec has no field for are warnings, naming the backend", () => {
    const config = containerConfigFromCri({ ...base, linux: { security_context: { namespace_options: { pid: "CONTAINER" }, capabilities: { add_capabilities: ["NET_ADMIN"] }, masked_paths: ["/proc/kcore"], seccomp: { profile_type: "RuntimeDefault" } } } }, pod);
    expect(config.warnings).toEqual([
      "namespace_options.pid CONTAINER: not applied (the process backend's pid namespace)",
      "capabilities: not applied (the process backend's defaults)",
      expect.stringMatching(/^privileged false: the process backend cannot confine/),
      "masked_paths/readonly_paths: not applied",
      "seccomp: not applied (the process backend's defaults)",
    ]);
  });
  test("on an OCI backend privileged is a warning (every container is confined alike), no_new_privs is not (every container has it)", () => {
    const config = containerConfigFromCri({ ...base, linux: { security_context: { privileged: true, no_new_privs: true } } }, pod, "runc");
    expect(config.warnings).toEqual(["privileged: not applied (the runc backend confines every container alike: its default capabilities, masked and read-only paths, no devices)"]);
    expect(containerConfigFromCri({ ...base, linux: { security_context: { no_new_privs: true } } }, pod, "runc").warnings).toBeUndefined();
    expect(containerConfigFromCri({ ...base, linux: { security_context: { privileged: true, no_new_privs: true } } }, pod).warnings).toEqual(["no_new_privs: not applied"]);
    const sandbox = sandboxConfigFromCri({ config: { metadata: { name: "w" }, linux: { security_context: { privileged: true } } } }, "crun");
    expect(sandbox.warnings).toEqual(["security_context.privileged: not applied (the crun backend confines every container alike)"]);
    expect(sandboxConfigFromCri({ config: { metadata: { name: "w" }, linux: { security_context: { privileged: true } } } }).warnings).toBeUndefined();
  });
  test("host IPC on an OCI backend is a warning (each container has an IPC namespace of its own), kept as asked", () => {
    const hostIpc = { config: { metadata: { name: "w" }, linux: { security_context: { namespace_options: { ipc: "NODE" } } } } };
    expect(sandboxConfigFromCri(hostIpc, "runc")).toMatchObject({ hostIpc: true, warnings: ["namespace_options.ipc NODE: not applied (the runc backend gives each container an IPC namespace of its own)"] });
    expect(sandboxConfigFromCri(hostIpc)).toMatchObject({ hostIpc: true });
    expect(sandboxConfigFromCri(hostIpc).warnings).toBeUndefined();
  });
  test("another user, devices and a tty are refused", () => {
    expect(() => containerConfigFromCri({ ...base, linux: { security_context: { run_as_username: "nobody" } } }, pod)).toThrow(CriError);
    expect(() => containerConfigFromCri({ ...base, devices: [{ container_path: "/dev/x", host_path: "/dev/null" }] }, pod)).toThrow(/devices/);
    expect(() => containerConfigFromCri({ ...base, image: { image: "" } }, pod)).toThrow(/image.image is empty/);
  });
});

describe("bind mounts", () => {
  test("checked before anything is made: absolute paths, a host path that exists; what podvisor cannot do is refused", async () => {
    expect(await bindMountsFromCri([{ container_path: "/etc/x", host_path: "/etc/hostname", readonly: true, propagation: "PROPAGATION_PRIVATE", selinux_relabel: true }])).toEqual({
      mounts: [{ containerPath: "/etc/x", hostPath: "/etc/hostname", readonly: true }],
      warnings: ["mounts[0].selinux_relabel: not applied (no SELinux labelling)"],
    });
    await expect(bindMountsFromCri([{ container_path: "/x", host_path: "/no/such/path" }])).rejects.toThrow(/mounts\[0\]: host_path "\/no\/such\/path" does not exist/);
    await expect(bindMountsFromCri([{ container_path: "/x", host_path: "relative" }])).rejects.toThrow(/must be an absolute path/);
    await expect(bindMountsFromCri([{ container_path: "/x", host_path: "/etc", uidMappings: [{ host_id: 1, container_id: 0, length: 1 }] }])).rejects.toThrow(/id-mapped mounts are not implemented yet/);
    await expect(bindMountsFromCri([{ container_path: "/x", host_path: "/etc", image: { image: "busybox" } }])).rejects.toThrow(/image volumes are not implemented yet/);
  });
});

describe("cgroup limits", () => {
  test("cpu.max, cpu.weight (runc's conversion of shares) and memory.max", () => {
    expect(limitFiles({ cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 1024, memoryLimitInBytes: 1 << 30 })).toEqual([
      ["cpu.max", "50000 100000"],
      ["cpu.weight", "39"],
      ["memory.max", String(1 << 30)],
    ]);
    expect(limitFiles({ cpuPeriod: 50_000 })).toEqual([["cpu.max", "max 50000"]]);
    expect([sharesToWeight(2), sharesToWeight(262_144), sharesToWeight(1)]).toEqual([1, 10_000, 1]);
  });
});

describe("errors as gRPC status codes", () => {
  test("podvisor's codes, with the same message; a TypeError is INVALID_ARGUMENT; anything else INTERNAL", () => {
    const cases: [unknown, number][] = [
      [new CodedError("NOT_FOUND", "Cannot find pod sandbox \"x\""), status.NOT_FOUND],
      [new CodedError("FAILED_PRECONDITION", "Cannot create container: pod sandbox x is stopped"), status.FAILED_PRECONDITION],
      [new CodedError("DEADLINE_EXCEEDED", "late"), status.DEADLINE_EXCEEDED],
      [new CodedError("STOP_INCOMPLETE", "retry"), status.ABORTED],
      [new CodedError("ACTOR_LOST", "lost"), status.UNAVAILABLE],
      [new TypeError("Cannot find container: the id is empty"), status.INVALID_ARGUMENT],
      [new CriError("UNIMPLEMENTED", "Cannot attach: streaming is not implemented yet"), status.UNIMPLEMENTED],
      [new CodedError("SOMETHING_ELSE", "odd"), status.INTERNAL],
    ];
    for (const [error, code] of cases) {
      const serviceError = toServiceError(error);
      expect(serviceError).toMatchObject({ code, details: (error as Error).message });
    }
    expect(toServiceError(new CodedError("SOMETHING_ELSE", "odd")).metadata?.get("podvisor-code")).toEqual(["SOMETHING_ELSE"]);
    expect([isNotFound(new CodedError("NOT_FOUND", "x")), isNotFound(new CriError("NOT_FOUND", "x")), isNotFound(new TypeError("x"))]).toEqual([true, true, false]);
  });
});

describe("filters and times", () => {
  test("ids and pods match by prefix, labels all of the selector's pairs, never the infra container; times are int64 nanoseconds", () => {
    const statuses = [
      { id: "abc123", podSandboxId: "pod111", state: "running", infra: false, labels: { a: "1", b: "2" } },
      { id: "abd456", podSandboxId: "pod222", state: "exited", infra: false },
      { id: "abe789", podSandboxId: "pod111", state: "running", infra: true },
    ] as unknown as Parameters<typeof filterContainers>[0];
    const ids = (filter: Record<string, unknown>) => filterContainers(statuses, filter).map((status) => status.id);
    expect(ids({ id: "ab" })).toEqual(["abc123", "abd456"]);
    expect(ids({ id: "", pod_sandbox_id: "pod1" })).toEqual(["abc123"]);
    expect(ids({ label_selector: { a: "1" } })).toEqual(["abc123"]);
    expect(ids({ label_selector: { a: "1", c: "3" } })).toEqual([]);
    expect(ids({ state: { state: "CONTAINER_EXITED" } })).toEqual(["abd456"]);
    expect(nanos(1_796_404_463_918)).toBe("1796404463918000000");
  });
});
