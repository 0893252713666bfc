import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { findCgroup2Mount } from "../../src/host/cgroup-path.ts";
import { conmonCgroupPath } from "../../src/runtime/oci/oci-layout.ts";
import { OciRuntime } from "../../src/runtime/oci/oci-runtime.ts";
import { testTempPrefix } from "../support/test-run.ts";
import { isLive, waitForFileText } from "./runtime-fixtures.ts";
import { listDir, ociSpec, useOciHarness } from "./oci-fixtures.ts";

const deadline = () => AbortSignal.timeout(10_000);
/** How long a test lets a wait run to show that something does NOT happen. */
const notHappeningMs = 500;

describe("OciBackend (runc + conmon)", () => {
  const h = useOciHarness();

  test("a command that exits by itself: its exit code comes from conmon, its output is in the CRI log", async () => {
    const { id, pid, logPath } = await h.run(["sh", "-c", "echo hello; exit 7"], await ociSpec(h, "exit7"));
    const stopped = await h.backend.waitForStopped(id, { signal: deadline() });
    expect(stopped).toMatchObject({ status: "stopped", pid, exitCode: 7 });
    expect(stopped.signal).toBeUndefined();
    expect(await readFile(join(h.root, "containers", id, "persist", "exit"), "utf8")).toBe("7");
    expect(await readFile(logPath, "utf8")).toMatch(/^\S+ stdout F hello$/m);
    expect(await h.backend.state(id)).toMatchObject({ status: "stopped", exitCode: 7 });
  });

  test("namespaces: PID 1 inside, the sandbox's hostname, the sandbox's netns joined", async () => {
    const script = "echo pid=$$; echo host=$(hostname); echo net=$(readlink /proc/self/ns/net); echo ready; exec sleep 1000";
    const { id, logPath } = await h.run(["sh", "-c", script], await ociSpec(h, "ns", { hostname: "pv-host-1" }));
    await waitForFileText(logPath, "ready");
    const log = await readFile(logPath, "utf8");
    expect(log).toContain("pid=1\n");
    expect(log).toContain("host=pv-host-1\n");
    const inode = (await stat(h.netnsPath)).ino;
    expect(log).toContain(`net=net:[${inode}]\n`);
    await h.backend.killAll(id);
    await h.backend.waitForStopped(id, { signal: deadline() });
  });

  test("cgroups: the init in the container's cgroup (v2 and v1), conmon in its own beside it", async () => {
    const { id, pid } = await h.run(["sleep", "1000"], await ociSpec(h, "cg"));
    const cgroupPath = `${h.prefix}/pod/ctr-${id}`;
    const membership = await readFile(`/proc/${pid}/cgroup`, "utf8");
    expect(membership).toContain(`0::/${cgroupPath}\n`);
    expect(membership).toMatch(new RegExp(`^\\d+:cpu:/${cgroupPath}$`, "m"));
    expect(await h.backend.pids(id)).toEqual([pid]);
    const mount = await findCgroup2Mount();
    const conmonPids = (await readFile(join(mount, conmonCgroupPath(cgroupPath), "cgroup.procs"), "utf8")).trim().split("\n").map(Number);
    expect(conmonPids).toHaveLength(1);
    expect(await readFile(`/proc/${conmonPids[0]}/comm`, "utf8")).toBe("conmon\n");
    // killAll reaches the container's cgroup only: conmon lives on to write the status.
    await h.backend.killAll(id);
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 137, signal: "SIGKILL" });
  });

  test("signal: a shell with a TERM handler as PID 1 exits with its own code", async () => {
    const { id, logPath } = await h.run(["sh", "-c", "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"], await ociSpec(h, "term"));
    await waitForFileText(logPath, "ready");
    await h.backend.signal(id, "SIGTERM");
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ status: "stopped", exitCode: 3 });
  });

  test("a bare sleep as PID 1 survives SIGTERM and ends only by killAll (137)", async () => {
    const { id } = await h.run(["sleep", "1000"], await ociSpec(h, "bare"));
    await h.backend.signal(id, "SIGTERM");
    await expect(h.backend.waitForStopped(id, { signal: AbortSignal.timeout(notHappeningMs) })).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    expect((await h.backend.state(id)).status).toBe("running");
    await h.backend.killAll(id);
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 137, signal: "SIGKILL" });
  });

  test("init: true runs it under catatonit, and a bare sleep then stops on SIGTERM", async () => {
    const { id, pid } = await h.run(["sleep", "1000"], await ociSpec(h, "init", { init: true }));
    await expect.poll(() => readFile(`/proc/${pid}/comm`, "utf8")).toBe("catatonit\n"); // runc's init execs it a moment after start
    await expect.poll(async () => (await h.backend.pids(id)).length).toBe(2);
    await h.backend.signal(id, "SIGTERM");
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 143, signal: "SIGTERM" });
  });

  test("an infra container without a rootfs runs catatonit -P in the pause root, and stops on SIGTERM", async () => {
    const { id, pid } = await h.run(["sleep", "infinity"], { id: "infra", infra: true, netnsPath: h.netnsPath });
    await expect.poll(() => readFile(`/proc/${pid}/comm`, "utf8")).toBe("catatonit\n"); // runc's init execs it a moment after start
    await h.backend.signal(id, "SIGTERM");
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ status: "stopped" });
  });

  test("the main-exit rule: when the main process exits, what it left behind dies with it (its pid namespace ends)", async () => {
    const { id, logPath } = await h.run(["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & echo ready; wait"], await ociSpec(h, "main"));
    await waitForFileText(logPath, "ready");
    await expect.poll(async () => (await h.backend.pids(id)).length).toBe(2);
    await h.backend.signal(id, "SIGTERM");
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ status: "stopped", exitCode: 0 });
    expect(await h.backend.pids(id)).toEqual([]);
  });

  test("mounts: a host folder bound read-only and one read-write, from the bundle", async () => {
    const ro = await mkdtemp(join(h.dir, "ro-"));
    const rw = await mkdtemp(join(h.dir, "rw-"));
    await writeFile(join(ro, "hello.txt"), "from the host\n");
    const mounts = [{ containerPath: "/data", hostPath: ro, readonly: true }, { containerPath: "/out", hostPath: rw, readonly: false }];
    const script = "cat /data/hello.txt; touch /data/x 2>/dev/null || echo read-only; echo written > /out/y";
    const { id, logPath } = await h.run(["sh", "-c", script], await ociSpec(h, "mnt", { mounts }));
    expect(await h.backend.waitForStopped(id, { signal: deadline() })).toMatchObject({ exitCode: 0 });
    const log = await readFile(logPath, "utf8");
    expect(log).toContain("stdout F from the host");
    expect(log).toContain("stdout F read-only");
    expect(await readFile(join(rw, "y"), "utf8")).toBe("written\n");
  });

  test("killAll leaves no process of a shell that forked background children", async () => {
    const { id } = await h.run(["sh", "-c", "sleep 1000 & sleep 1000 & wait"], await ociSpec(h, "kids"));
    await expect.poll(async () => (await h.backend.pids(id)).length).toBe(3);
    await h.backend.killAll(id);
    await h.backend.waitForStopped(id, { signal: deadline() });
    expect(await h.backend.pids(id)).toEqual([]);
  });

  test("delete removes the runtime's container, its bundle and its exit file; then it is unknown, and gone is success", async () => {
    const { id, pid } = await h.run(["sh", "-c", "exit 0"], await ociSpec(h, "del"));
    await h.backend.waitForStopped(id, { signal: deadline() });
    await h.backend.signal(id, "SIGTERM"); // its init is gone: success
    await h.backend.killAll(id);
    await h.backend.delete(id);
    expect(await h.backend.runtime.list()).toEqual([]);
    expect(await listDir(join(h.root, "containers"))).toEqual([]);
    expect(await listDir(join(h.root, "exits"))).toEqual([]);
    await expect(h.backend.state(id)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await h.backend.delete(id);
    expect(await isLive(pid)).toBe(false);
  });

  test("delete refuses a running container", async () => {
    const { id } = await h.run(["sleep", "1000"], await ociSpec(h, "busy"));
    await expect(h.backend.delete(id)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
  });

  test("a created container that is never started is deleted cleanly (its init and conmon end)", async () => {
    const spec = await h.create(["sleep", "1000"], await ociSpec(h, "never"));
    expect(await h.backend.state(spec.id)).toEqual({ status: "created" });
    expect((await h.backend.runtime.list()).map((entry) => entry.status)).toEqual(["created"]);
    await h.backend.delete(spec.id);
    expect(await h.backend.runtime.list()).toEqual([]);
  });

  test("without a rootfs: INVALID_ARGUMENT, and nothing is made", async () => {
    await expect(h.backend.create({ id: "norootfs", command: ["true"], logPath: join(h.dir, "x.log"), cgroupPath: `${h.prefix}/pod/ctr-x` }))
      .rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("need a rootfs") });
    expect(await listDir(join(h.root, "containers"))).toEqual([]);
    await expect(h.backend.state("norootfs")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  test("one list call per round serves every waiter", async () => {
    const ids: string[] = [];
    for (const name of ["w1", "w2", "w3"]) ids.push((await h.run(["sh", "-c", "exit 0"], await ociSpec(h, name))).id);
    for (const id of ids) await h.backend.waitForStopped(id, { signal: deadline() });
    const before = h.backend.poller.rounds;
    await Promise.all(ids.map((id) => h.backend.poller.waitForStopped(id, { signal: deadline() })));
    expect(h.backend.poller.rounds - before).toBe(1);
  });
});

describe("OciBackend's poller, one container at a time (a few waiters in a root that holds many)", () => {
  // This root holds a few containers; `heldPerState: 0` makes the poller treat it as a busy node's.
  const h = useOciHarness({ poll: { heldPerState: 0 } });

  test("a few waiters are asked for with `state`, not `list`; one the runtime no longer knows is stopped", async () => {
    const { id } = await h.run(["sh", "-c", "exit 0"], await ociSpec(h, "one"));
    await h.backend.waitForStopped(id, { signal: deadline() });
    const before = { rounds: h.backend.poller.rounds, states: h.backend.poller.stateRounds };
    await h.backend.poller.waitForStopped(id, { signal: deadline() });
    await h.backend.delete(id);
    await h.backend.poller.waitForStopped(id, { signal: deadline() }); // `state` says it does not exist
    expect(h.backend.poller.rounds - before.rounds).toBe(2);
    expect(h.backend.poller.stateRounds - before.states).toBe(2);
  });

  test("a running container's waiter goes on waiting; more waiters than `stateUpTo` are listed", async () => {
    const running = await h.run(["sleep", "1000"], await ociSpec(h, "run"));
    const stillWaiting = await Promise.race([
      h.backend.poller.waitForStopped(running.id, { signal: AbortSignal.timeout(notHappeningMs) }).then(() => "stopped", () => "waiting"),
    ]);
    expect(stillWaiting).toBe("waiting");
    const ids: string[] = [];
    for (const name of ["m1", "m2", "m3", "m4", "m5"]) ids.push((await h.run(["sh", "-c", "exit 0"], await ociSpec(h, name))).id);
    for (const id of ids) await h.backend.waitForStopped(id, { signal: deadline() });
    const before = { rounds: h.backend.poller.rounds, states: h.backend.poller.stateRounds };
    await Promise.all(ids.map((id) => h.backend.poller.waitForStopped(id, { signal: deadline() })));
    expect(h.backend.poller.rounds - before.rounds).toBe(1);
    expect(h.backend.poller.stateRounds - before.states).toBe(0);
    await h.backend.killAll(running.id);
    await h.backend.waitForStopped(running.id, { signal: deadline() });
  });
});

// A DELIBERATE FAKE: a runtime whose answers are malformed, which real runc cannot be made to give.
test("a runtime's answer that is not a container's state is refused with a clear error", async () => {
  const dir = await mkdtemp(testTempPrefix("bad-runtime"));
  try {
    const path = join(dir, "bad-runtime");
    await writeFile(path, '#!/bin/sh\ncase "$2" in list) echo "not json" ;; state) echo \'{"id": 3}\' ;; esac\n', { mode: 0o755 });
    const runtime = new OciRuntime({ path, root: dir });
    await expect(runtime.list()).rejects.toMatchObject({ code: "RUNTIME_COMMAND_FAILED", message: expect.stringContaining("the runtime's answer is not JSON: not json") });
    await expect(runtime.state("c1")).rejects.toMatchObject({ code: "RUNTIME_COMMAND_FAILED", message: expect.stringContaining("not a container's state") });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
