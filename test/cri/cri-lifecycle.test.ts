/**
 * The CRI endpoint of a real daemon (on Node: the endpoint is not served on Deno, see
 * src/cri/cri-start.ts), driven by a grpc-js client: a whole pod's life, every RuntimeService call
 * on the way, with a busybox root file system.
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { connectCri, failure } from "./cri-client.ts";
import type { CriClient } from "./cri-client.ts";
import { containerConfig, makeBusyboxRootfs, podConfig } from "./cri-fixtures.ts";

describe.each(["process", "runc"])("the CRI endpoint of a daemon on node, backend %s", (backend) => {
  let daemon: DaemonProcess;
  let cri: CriClient;
  let dir: string;
  let rootfs: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-cri-"));
    rootfs = await makeBusyboxRootfs(join(dir, "rootfs"));
    daemon = await startDaemonProcess("node", ["--backend", backend]);
    cri = connectCri(daemon.criSocket);
  });
  afterAll(async () => {
    cri?.close();
    expect(await daemon.stop()).toEqual(noLeftovers);
    await rm(dir, { recursive: true, force: true });
  });

  test("the socket is a unix socket of mode 0600", async () => {
    const info = await stat(daemon.criSocket);
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
  });

  test("Version, Status (network not ready without CNI), RuntimeConfig", async () => {
    expect(await cri.runtime("Version", { version: "v1" })).toMatchObject({ runtime_name: "podvisor", runtime_api_version: "v1" });
    const { status } = await cri.runtime("Status", {});
    expect(status.conditions).toEqual([
      { type: "RuntimeReady", status: true, reason: "", message: "" },
      expect.objectContaining({ type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: expect.stringContaining("CNI") }),
    ]);
    expect(await cri.runtime("RuntimeConfig", {})).toEqual({ linux: { cgroup_driver: "CGROUPFS" } });
  });

  test("a pod's whole life: run, create, start, status, list with filters, exec, stats, logs, stop, remove", async () => {
    const logDirectory = join(dir, "pod-logs");
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("web", { log_directory: logDirectory, hostname: "web-0", labels: { app: "web" }, annotations: { note: "kept" } }) });
    const { status: pod, info } = await cri.runtime("PodSandboxStatus", { pod_sandbox_id: podId, verbose: true });
    expect(pod).toMatchObject({ id: podId, state: "SANDBOX_READY", metadata: { name: "web", uid: "uid-web", namespace: "testns", attempt: 1 }, labels: { app: "web" }, annotations: { note: "kept" } });
    expect(pod.linux.namespaces.options).toMatchObject({ network: "POD", ipc: "POD", pid: backend === "process" ? "NODE" : "CONTAINER" });
    expect(JSON.parse(info.info)).toMatchObject({ hostname: "web-0", logDirectory });

    const ids = async (filter: Record<string, unknown>) => (await cri.runtime("ListPodSandbox", { filter })).items.map((item: { id: string }) => item.id);
    expect(await ids({ id: podId.slice(0, 6) })).toEqual([podId]);
    expect(await ids({ label_selector: { app: "web" } })).toContain(podId);
    expect(await ids({ label_selector: { app: "db" } })).not.toContain(podId);
    expect(await ids({ state: { state: "SANDBOX_NOTREADY" } })).not.toContain(podId);

    const config = containerConfig("app", rootfs, ["sh", "-c"], {
      args: ["echo hello from $GREETING; cd /work && exec sleep 1000"],
      envs: [{ key: "GREETING", value: Buffer.from("podvisor") }],
      working_dir: "/work",
      labels: { tier: "front" },
      annotations: { owner: "test" },
      log_path: "app/0.log",
    });
    const { container_id: appId } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config, sandbox_config: podConfig("web") });
    const created = (await cri.runtime("ContainerStatus", { container_id: appId })).status;
    expect(created).toMatchObject({ id: appId, state: "CONTAINER_CREATED", metadata: { name: "app" }, image: { image: rootfs }, labels: { tier: "front" }, annotations: { owner: "test" }, log_path: join(logDirectory, "app/0.log") });
    await cri.runtime("StartContainer", { container_id: appId });
    const started = (await cri.runtime("ContainerStatus", { container_id: appId })).status;
    expect(started.state).toBe("CONTAINER_RUNNING");
    // Its CRI log is there once it runs (critest opens it at once).
    if (started.log_path !== "") expect((await stat(started.log_path)).isFile()).toBe(true);

    const containers = async (filter: Record<string, unknown>) => (await cri.runtime("ListContainers", { filter })).containers.map((item: { id: string }) => item.id);
    expect(await containers({ pod_sandbox_id: podId })).toEqual([appId]); // the infra container is podvisor's, never listed
    expect(await containers({ state: { state: "CONTAINER_RUNNING" }, label_selector: { tier: "front" } })).toEqual([appId]);
    expect(await containers({ id: appId, state: { state: "CONTAINER_EXITED" } })).toEqual([]);

    // The CRI log, in the CRI format, in the pod's log directory.
    const logPath = join(logDirectory, "app/0.log");
    await expect.poll(() => readFile(logPath, "utf8").catch(() => ""), { timeout: 10_000 }).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello from podvisor\n/);

    // ExecSync: in the container's root, its working directory and environment; its exit code.
    const exec = await cri.runtime("ExecSync", { container_id: appId, cmd: ["sh", "-c", "echo $GREETING; pwd; ls /work/../bin/sh; echo oops >&2; exit 3"], timeout: 10 });
    expect(exec.exit_code).toBe(3);
    expect(exec.stdout.toString()).toBe("podvisor\n/work\n/work/../bin/sh\n");
    expect(exec.stderr.toString()).toBe("oops\n");
    const processes = async () => (await cri.runtime("PodSandboxStats", { pod_sandbox_id: podId })).stats.linux.process.process_count.value as number;
    const processesBefore = await processes();
    const timedOut = await failure(cri.runtime("ExecSync", { container_id: appId, cmd: ["sh", "-c", "sleep 30 & sleep 30"], timeout: 1 }));
    expect(timedOut).toMatchObject({ code: "DEADLINE_EXCEEDED", details: expect.stringContaining("timed out") });
    // Gone with what it forked: the pod's cgroups have the processes of before (the OCI backend's exec is runc's: not asserted here).
    if (backend === "process") await expect.poll(processes, { timeout: 5_000 }).toBe(processesBefore);

    // Stats from the cgroups.
    const { stats } = await cri.runtime("ContainerStats", { container_id: appId });
    expect(stats.attributes).toMatchObject({ id: appId, metadata: { name: "app" }, labels: { tier: "front" } });
    expect(stats.cpu.usage_core_nano_seconds.value).toBeGreaterThan(0);
    expect(stats.memory.working_set_bytes.value).toBeGreaterThan(0);
    const listed = (await cri.runtime("ListContainerStats", { filter: { pod_sandbox_id: podId } })).stats;
    expect(listed.map((entry: { attributes: { id: string } }) => entry.attributes.id)).toEqual([appId]);
    const { stats: podStats } = await cri.runtime("PodSandboxStats", { pod_sandbox_id: podId });
    expect(podStats.attributes).toMatchObject({ id: podId, metadata: { name: "web" } });
    expect(podStats.linux.process.process_count.value).toBeGreaterThanOrEqual(2);
    expect(podStats.linux.containers.map((entry: { attributes: { id: string } }) => entry.attributes.id)).toEqual([appId]);

    // Limits: written into its cgroup where the host's cgroup v2 has the controllers, else refused, saying why.
    const update = cri.runtime("UpdateContainerResources", { container_id: appId, linux: { cpu_period: 100_000, cpu_quota: 50_000, memory_limit_in_bytes: 64 * 1024 * 1024 } });
    const updated = await update.then(() => undefined, (error: { details: string; code: number }) => error);
    if (updated === undefined) {
      expect((await cri.runtime("ContainerStatus", { container_id: appId })).status.resources.linux).toMatchObject({ cpu_quota: 50_000, memory_limit_in_bytes: 64 * 1024 * 1024 });
    } else {
      expect(updated.details).toMatch(/^Cannot update container resources: the container's cgroup has no cpu.max/);
    }
    // A log rotated away (as kubelet rotates it): reopening makes a new file at its path at once.
    const criLog = (await cri.runtime("ContainerStatus", { container_id: appId })).status.log_path as string;
    if (criLog !== "") await rename(criLog, `${criLog}.1`);
    await cri.runtime("ReopenContainerLog", { container_id: appId });
    if (criLog !== "") expect((await stat(criLog)).isFile()).toBe(true);

    // Stop (its timeout), then remove; the sandbox after it.
    await cri.runtime("StopContainer", { container_id: appId, timeout: 2 });
    const exited = (await cri.runtime("ContainerStatus", { container_id: appId })).status;
    // Under runc, sleep is PID 1 of its own pid namespace, which ignores a SIGTERM it has no handler for: killed at the timeout.
    expect(exited).toMatchObject({ state: "CONTAINER_EXITED", exit_code: backend === "process" ? 143 : 137, reason: "Error" });
    expect(await failure(cri.runtime("ReopenContainerLog", { container_id: appId }))).toMatchObject({ code: "FAILED_PRECONDITION" });
    await cri.runtime("RemoveContainer", { container_id: appId });
    expect(await failure(cri.runtime("ContainerStatus", { container_id: appId }))).toEqual({ code: "NOT_FOUND", details: `Cannot find container "${appId}"` });
    await cri.runtime("StopPodSandbox", { pod_sandbox_id: podId });
    expect((await cri.runtime("PodSandboxStatus", { pod_sandbox_id: podId })).status.state).toBe("SANDBOX_NOTREADY");
    expect(await ids({ state: { state: "SANDBOX_NOTREADY" } })).toContain(podId);
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    expect(await ids({})).not.toContain(podId);
  });

  test("RemovePodSandbox of a ready pod stops it first; RemoveContainer of a running one kills it first", async () => {
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("quick") });
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config: containerConfig("c", rootfs, ["sleep", "1000"]) });
    await cri.runtime("StartContainer", { container_id: id });
    await cri.runtime("RemoveContainer", { container_id: id });
    expect(await failure(cri.runtime("ContainerStatus", { container_id: id }))).toMatchObject({ code: "NOT_FOUND" });
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    expect(await failure(cri.runtime("PodSandboxStatus", { pod_sandbox_id: podId }))).toMatchObject({ code: "NOT_FOUND" });
  });

  test("bind mounts: a host directory read-write, a host file read-only, under the container's own root", async () => {
    const data = join(dir, `data-${backend}`);
    await mkdir(data);
    await writeFile(join(data, "from-host.txt"), "host data\n");
    await writeFile(join(dir, `config-${backend}.txt`), "setting=1\n");
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("mounts") });
    const mounts = [
      { container_path: "/data", host_path: data, readonly: false },
      { container_path: "/etc/app/config.txt", host_path: join(dir, `config-${backend}.txt`), readonly: true },
    ];
    // The process backend binds them beneath the container's overlay; runc from the bundle.
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config: containerConfig("m", rootfs, ["sleep", "1000"], { mounts }) });
    expect((await cri.runtime("ContainerStatus", { container_id: id })).status.mounts).toEqual(mounts.map((mount) => ({ ...mount, propagation: "PROPAGATION_PRIVATE", selinux_relabel: false, uidMappings: [], gidMappings: [], recursive_read_only: false, image: null, image_sub_path: "", mount_options: [] })));
    await cri.runtime("StartContainer", { container_id: id });
    const exec = (script: string) => cri.runtime("ExecSync", { container_id: id, cmd: ["sh", "-c", script], timeout: 10 });
    expect((await exec("cat /data/from-host.txt /etc/app/config.txt; echo written > /data/from-container.txt")).stdout.toString()).toBe("host data\nsetting=1\n");
    expect(await readFile(join(data, "from-container.txt"), "utf8")).toBe("written\n");
    const readOnly = await exec("echo changed > /etc/app/config.txt");
    expect(readOnly.exit_code).not.toBe(0);
    expect(readOnly.stderr.toString()).toMatch(/Read-only file system/);
    expect(await readFile(join(dir, `config-${backend}.txt`), "utf8")).toBe("setting=1\n");
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    // The mounts went with the container's root: the host's files are still there, and unmounted.
    expect(await readFile(join(data, "from-host.txt"), "utf8")).toBe("host data\n");
  });

  test("what is asked and not done is kept as warnings, shown in the verbose status", async () => {
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("warned", { port_mappings: [{ protocol: "TCP", container_port: 80, host_port: 8080, host_ip: "" }] }) });
    expect(JSON.parse((await cri.runtime("PodSandboxStatus", { pod_sandbox_id: podId, verbose: true })).info.info).warnings).toEqual(["port_mappings: no port is forwarded"]);
    const config = containerConfig("c", rootfs, ["sleep", "1000"], { linux: { security_context: { privileged: true, capabilities: { add_capabilities: ["NET_ADMIN"], drop_capabilities: [], add_ambient_capabilities: [] } } } });
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config });
    expect(JSON.parse((await cri.runtime("ContainerStatus", { container_id: id, verbose: true })).info.info).warnings).toEqual([
      `capabilities: not applied (the ${backend} backend's defaults)`,
      // The process backend's containers are host processes with the daemon's capabilities: privileged already.
      ...(backend === "process" ? [] : [expect.stringMatching(/^privileged: not applied \(the runc backend confines every container alike/)]),
    ]);
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
  });

  test("idempotency: stopping and removing what is gone, or never was, is success", async () => {
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("gone") });
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config: containerConfig("c", rootfs, ["sleep", "1000"]) });
    for (let round = 0; round < 2; round++) {
      await cri.runtime("StopContainer", { container_id: id, timeout: 0 });
      await cri.runtime("RemoveContainer", { container_id: id });
      await cri.runtime("StopPodSandbox", { pod_sandbox_id: podId });
      await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
    }
    // critest asks with UUIDs, which podvisor never makes: gone as well, not INVALID_ARGUMENT.
    for (const unknown of ["0123456789abcdefghij", "nosuchthing", "48d12b81-9248-46bc-a0f5-06be10e6b752"]) {
      await cri.runtime("StopPodSandbox", { pod_sandbox_id: unknown });
      await cri.runtime("RemovePodSandbox", { pod_sandbox_id: unknown });
      await cri.runtime("StopContainer", { container_id: unknown });
      await cri.runtime("RemoveContainer", { container_id: unknown });
    }
  });

  test("a gRPC deadline on StopPodSandbox bounds the stop of a container that ignores SIGTERM", async () => {
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("stubborn", { log_directory: join(dir, "stubborn-logs") }) });
    const config = containerConfig("stubborn", rootfs, ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"], { log_path: "s.log" });
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config });
    await cri.runtime("StartContainer", { container_id: id });
    await expect.poll(() => readFile(join(dir, "stubborn-logs", "s.log"), "utf8").catch(() => ""), { timeout: 10_000 }).toContain("stdout F ready");
    const startedAt = Date.now();
    // Answered (OK) before the call's deadline: the kill came a tenth of the budget before it, for the cleanup.
    await cri.runtime("StopPodSandbox", { pod_sandbox_id: podId }, { deadlineMs: 6_000 });
    const tookMs = Date.now() - startedAt;
    // SIGTERM was ignored: the stop waited until the kill (at 5.4 s), not the default 10 s.
    expect(tookMs).toBeGreaterThanOrEqual(4_000);
    const { status, info } = await cri.runtime("ContainerStatus", { container_id: id, verbose: true });
    expect(status).toMatchObject({ state: "CONTAINER_EXITED", exit_code: 137 });
    expect(JSON.parse(info.info)).toMatchObject({ reason: "killed-at-deadline", signal: "SIGKILL" });
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
  });

  test("bad input is INVALID_ARGUMENT (or says what is not there), and the daemon serves others all the same", async () => {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      ["RunPodSandbox", { config: {} }, "INVALID_ARGUMENT", /metadata.name is empty/],
      ["RunPodSandbox", { config: podConfig("x", { log_directory: "relative/dir" }) }, "INVALID_ARGUMENT", /log_directory must be an absolute path/],
      ["RunPodSandbox", { config: podConfig("x"), runtime_handler: "kata" }, "INVALID_ARGUMENT", /no runtime handler "kata"/],
      ["RunPodSandbox", { config: podConfig("x", { linux: { security_context: { run_as_user: { value: 1000 } } } }) }, "INVALID_ARGUMENT", /run_as_user 1000 is not supported/],
      ["PodSandboxStatus", { pod_sandbox_id: "" }, "INVALID_ARGUMENT", /pod_sandbox_id is empty/],
      ["PodSandboxStatus", { pod_sandbox_id: "NOT/AN-ID" }, "INVALID_ARGUMENT", /is not a well-formed id/],
      ["PodSandboxStatus", { pod_sandbox_id: "0123456789abcdefghij" }, "NOT_FOUND", /^Cannot find pod sandbox "0123456789abcdefghij"$/],
      ["CreateContainer", { pod_sandbox_id: "0123456789abcdefghij", config: containerConfig("c", "/", ["true"]) }, "NOT_FOUND", /Cannot find pod sandbox/],
      ["ExecSync", { container_id: "0123456789abcdefghij", cmd: ["true"] }, "NOT_FOUND", /Cannot find container/],
      ["StopContainer", { container_id: "0123456789abcdefghij", timeout: -1 }, "INVALID_ARGUMENT", /timeout must be 0 to 86400 seconds/],
      ["Exec", { container_id: "x", cmd: ["sh"] }, "UNIMPLEMENTED", /streaming is not implemented yet/],
      ["Attach", { container_id: "x" }, "UNIMPLEMENTED", /attach: streaming is not implemented yet/],
      ["PortForward", { pod_sandbox_id: "x", port: [80] }, "UNIMPLEMENTED", /streaming is not implemented yet/],
    ];
    for (const [method, request, code, details] of cases) {
      const result = await failure(cri.runtime(method, request));
      expect({ method, ...result }).toMatchObject({ method, code, details: expect.stringMatching(details) });
    }
    const { pod_sandbox_id: podId } = await cri.runtime("RunPodSandbox", { config: podConfig("bad-containers") });
    const badContainers: [Record<string, unknown>, string, RegExp][] = [
      [{ metadata: { name: "" }, image: { image: rootfs }, command: ["true"] }, "INVALID_ARGUMENT", /metadata.name is empty/],
      [containerConfig("c", "docker.io/library/busybox:latest", ["true"]), "NOT_FOUND", /image docker.io\/library\/busybox:latest is not in the store/],
      [containerConfig("c", rootfs, []), "INVALID_ARGUMENT", /command: is required without an image/],
      [containerConfig("c", rootfs, ["true"], { mounts: [{ container_path: "/data", host_path: join(dir, "no-such-dir") }] }), "INVALID_ARGUMENT", /mounts\[0\]: host_path ".*no-such-dir" does not exist/],
      [containerConfig("c", rootfs, ["true"], { mounts: [{ container_path: "data", host_path: dir }] }), "INVALID_ARGUMENT", /mounts\[0\]: container_path "data" must be an absolute path/],
      [containerConfig("c", rootfs, ["true"], { mounts: [{ container_path: "/data", host_path: dir, propagation: "PROPAGATION_BIDIRECTIONAL" }] }), "UNIMPLEMENTED", /propagation PROPAGATION_BIDIRECTIONAL is not implemented yet/],
      [containerConfig("c", rootfs, ["true"], { tty: true }), "UNIMPLEMENTED", /streaming/],
      [containerConfig("c", rootfs, ["true"], { log_path: "c.log" }), "INVALID_ARGUMENT", /log_path needs the pod sandbox's log_directory/],
      [containerConfig("c", rootfs, ["true"], { working_dir: "relative" }), "INVALID_ARGUMENT", /cwd/],
      [containerConfig("c", rootfs, ["true"], { linux: { security_context: { run_as_user: { value: 1000 } } } }), "INVALID_ARGUMENT", /run_as_user 1000 is not supported/],
      [containerConfig("c", rootfs, ["true"], { linux: { security_context: { namespace_options: { network: "NODE" } } } }), "INVALID_ARGUMENT", /namespace_options.network NODE/],
    ];
    for (const [config, code, details] of badContainers) {
      const result = await failure(cri.runtime("CreateContainer", { pod_sandbox_id: podId, config }));
      expect({ config, ...result }).toMatchObject({ config, code, details: expect.stringMatching(details) });
    }
    expect((await cri.runtime("ListContainers", { filter: { pod_sandbox_id: podId } })).containers).toEqual([]);
    // Still serving: a good container in the same pod runs.
    const { container_id: id } = await cri.runtime("CreateContainer", { pod_sandbox_id: podId, config: containerConfig("good", rootfs, ["sleep", "1000"]) });
    await cri.runtime("StartContainer", { container_id: id });
    expect((await cri.runtime("ExecSync", { container_id: id, cmd: ["sh", "-c", "echo still here"] })).stdout.toString()).toMatch(/^still here\n?$/);
    await cri.runtime("RemovePodSandbox", { pod_sandbox_id: podId });
  });

  test("ImageService: ImageFsInfo from the daemon's root file system", async () => {
    const { image_filesystems: [usage] } = await cri.image("ImageFsInfo", {});
    expect(usage.used_bytes.value).toBeGreaterThan(0);
    expect(usage.inodes_used.value).toBeGreaterThan(0);
  });
});
