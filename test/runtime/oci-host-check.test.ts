import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { findCgroup2Mount } from "../../src/host/cgroup-path.ts";
import { OciBackend } from "../../src/runtime/oci/oci-backend.ts";
import { validateRuntimeHost } from "../../src/runtime/oci/oci-host-check.ts";
import { testTempPrefix } from "../support/test-run.ts";

/** Whether this host is the one crun refuses: hybrid cgroups whose v2 hierarchy holds controllers. */
async function isHybridWithControllers(): Promise<boolean> {
  const mount = await findCgroup2Mount();
  if (mount === "/sys/fs/cgroup") return false;
  return (await readFile(join(mount, "cgroup.controllers"), "utf8")).trim() !== "";
}

describe("the OCI backend's host checks", () => {
  test("--backend crun on this hybrid host fails at construction, saying why and what to change", async (context) => {
    if (!(await isHybridWithControllers())) context.skip("this host is not one crun refuses");
    const root = await mkdtemp(testTempPrefix("oci-crun"));
    try {
      const opening = OciBackend.open({ root, runtime: "crun" });
      await expect(opening).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
      const message = ((await opening.catch((error: Error) => error)) as Error).message;
      expect(message).toContain("cgroups are hybrid");
      expect(message).toContain("--backend runc");
      expect(message).toContain("systemd.unified_cgroup_hierarchy=1");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test("crun on a unified host, or a hybrid one with an empty v2 hierarchy, passes; runc passes anywhere", async () => {
    await validateRuntimeHost("crun", { cgroup2Mount: "/sys/fs/cgroup" });
    const fakeMount = await mkdtemp(testTempPrefix("oci-cgroup2"));
    try {
      await writeFile(join(fakeMount, "cgroup.controllers"), "\n");
      await validateRuntimeHost("crun", { cgroup2Mount: fakeMount });
      await writeFile(join(fakeMount, "cgroup.controllers"), "hugetlb\n");
      await expect(validateRuntimeHost("crun", { cgroup2Mount: fakeMount })).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
      await validateRuntimeHost("runc", { cgroup2Mount: fakeMount });
    } finally {
      await rm(fakeMount, { recursive: true, force: true });
    }
  });

  test("a runtime or conmon that is not there: FAILED_PRECONDITION naming it", async () => {
    const root = await mkdtemp(testTempPrefix("oci-missing"));
    try {
      await expect(OciBackend.open({ root, runtimePath: "/nonexistent/runc" })).rejects.toMatchObject({ code: "FAILED_PRECONDITION", message: expect.stringContaining("/nonexistent/runc") });
      await expect(OciBackend.open({ root, conmonPath: "/nonexistent/conmon" })).rejects.toMatchObject({ code: "FAILED_PRECONDITION", message: expect.stringContaining("conmon") });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
