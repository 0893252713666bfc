/**
 * What the OCI backend tests make and unmake: a busybox-static root file system (applets linked
 * RELATIVE to busybox, so they resolve inside the container), an overlay of it per container (as
 * podvisor mounts one), a network namespace, and the backend's own folder. `useOciHarness` registers
 * its cleanup before the runtime harness's, so it runs after it (vitest runs after-hooks as a stack):
 * containers are deleted first, then overlays unmounted, v1 cgroups and the netns removed.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { createNetns } from "../../src/host/netns-create.ts";
import { removeNetns } from "../../src/host/netns-remove.ts";
import { mountRootfs, unmountRootfs } from "../../src/host/rootfs.ts";
import { OciBackend } from "../../src/runtime/oci/oci-backend.ts";
import type { OciBackendOptions } from "../../src/runtime/oci/oci-backend.ts";
import { removeEmptyV1Cgroups } from "../../src/host/cgroup-v1.ts";
import { findExecutable } from "../../src/runtime/oci/oci-layout.ts";
import type { ContainerSpec } from "../../src/runtime/runtime-backend.ts";
import { testName, testTempPrefix } from "../support/test-run.ts";
import { useRuntimeHarness } from "./runtime-harness.ts";
import type { RuntimeHarness } from "./runtime-harness.ts";

const run = promisify(execFile);

/** Makes `<dir>` a root file system of busybox-static and its applets, plus the usual empty folders. */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  for (const sub of ["bin", "proc", "sys", "dev", "etc", "tmp", "root"]) await mkdir(join(dir, sub), { recursive: true });
  await copyFile("/bin/busybox", join(dir, "bin/busybox"));
  const { stdout } = await run("/bin/busybox", ["--list"]);
  for (const applet of stdout.split("\n")) {
    if (applet !== "" && applet !== "busybox") await symlink("busybox", join(dir, "bin", applet));
  }
}

export interface OciHarness extends RuntimeHarness<OciBackend> {
  /** The backend's own folder (what a daemon's root would hold). */
  readonly root: string;
  readonly netnsPath: string;
  /** A fresh overlay of the busybox rootfs, for one container; unmounted after the test. */
  rootfs(id: string): Promise<string>;
  /** A second backend on the same folder, as a restarted daemon makes it. */
  reopen(options?: Partial<OciBackendOptions>): OciBackend;
}

export async function ociBackend(root: string, options: Partial<OciBackendOptions> = {}): Promise<OciBackend> {
  return new OciBackend({
    root,
    runtime: "runc",
    runtimePath: (await findExecutable("runc")) as string,
    conmonPath: (await findExecutable("conmon")) as string,
    ...options,
  });
}

/** The runtime harness around an OCI backend, with a rootfs, a netns and cleanup for both. */
export function useOciHarness(options: Partial<OciBackendOptions> = {}): OciHarness {
  let lower = "";
  let work = "";
  let netns = "";
  let runtimePath = "";
  let conmonPath = "";
  const mounted: string[] = [];

  beforeAll(async () => {
    lower = await mkdtemp(testTempPrefix("oci-lower"));
    await makeBusyboxRootfs(lower);
    runtimePath = (await findExecutable(options.runtime ?? "runc")) as string;
    conmonPath = (await findExecutable("conmon")) as string;
    netns = testName(`oci${Math.random().toString(36).slice(2, 8)}`);
    await createNetns(netns);
  });
  afterAll(async () => {
    await removeNetns(netns);
    await rm(lower, { recursive: true, force: true });
  });
  beforeEach(async () => {
    work = await mkdtemp(testTempPrefix("oci"));
  });
  // Registered before the runtime harness's: runs after it, once every container is deleted.
  afterEach(async () => {
    for (const dir of mounted.splice(0)) await unmountRootfs(dir, { root: work });
    await removeEmptyV1Cgroups(`${h.prefix}/pod`, { includeTop: true });
    await rm(work, { recursive: true, force: true });
  });

  const make = (extra: Partial<OciBackendOptions> = {}) => new OciBackend({ root: join(work, "oci"), runtime: "runc", runtimePath, conmonPath: process.env.DBG_CONMON ?? conmonPath, ...options, ...extra });
  const h = useRuntimeHarness(() => make());
  return {
    get backend() {
      return h.backend;
    },
    get prefix() {
      return h.prefix;
    },
    get dir() {
      return h.dir;
    },
    get root() {
      return join(work, "oci");
    },
    get netnsPath() {
      return `/run/netns/${netns}`;
    },
    create: h.create,
    run: h.run,
    async rootfs(id: string) {
      const containerDir = join(work, "ctr", id);
      await mkdir(containerDir, { recursive: true });
      const { mergedDir } = await mountRootfs({ lowerDir: lower, containerDir, root: work });
      mounted.push(containerDir);
      return mergedDir;
    },
    reopen: (extra?: Partial<OciBackendOptions>) => make(extra),
  };
}

/** The spec fields every OCI test container needs: its own overlay and the test's netns. */
export async function ociSpec(h: OciHarness, id: string, extra: Partial<ContainerSpec> = {}): Promise<Partial<ContainerSpec>> {
  return { id, rootfsDir: await h.rootfs(id), netnsPath: h.netnsPath, ...extra };
}

export async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
