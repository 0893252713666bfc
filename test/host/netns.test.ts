import { lstat, symlink } from "node:fs/promises";
import { execa } from "execa";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { mountsUnder } from "../../src/host/mountinfo.ts";
import { listNetns, netnsDir, netnsPath, validateNetnsName } from "../../src/host/netns.ts";
import { createNetns } from "../../src/host/netns-create.ts";
import { removeNetns, removeNetnsBatch } from "../../src/host/netns-remove.ts";
import { testNamePrefix } from "../support/test-run.ts";
import { mountPointsUnder, removeTestNetns, testNetnsName } from "./host-fixtures.ts";

/** Every name a test used; afterEach detaches and deletes whatever is left of them. */
const names: string[] = [];

function newName(): string {
  const name = testNetnsName();
  names.push(name);
  return name;
}

async function exists(path: string): Promise<boolean> {
  return await lstat(path).then(
    () => true,
    () => false,
  );
}

afterEach(async () => {
  await removeTestNetns(names);
});

afterAll(async () => {
  expect(await listNetns(testNamePrefix)).toEqual([]);
});

describe("validateNetnsName()", () => {
  test("validateNetnsName() accepts the names the daemon makes", () => {
    expect(() => validateNetnsName("pv-default-0123abcd")).not.toThrow();
    expect(() => validateNetnsName("a".repeat(64))).not.toThrow();
    expect(netnsPath("pv-x.y_z")).toBe(`${netnsDir}/pv-x.y_z`);
  });

  test.each(["", ".", "..", "a/b", "../etc", "-all", "a b", "a\nb", "a".repeat(65)])(
    "validateNetnsName() throws a TypeError for %j",
    (name) => {
      expect(() => validateNetnsName(name)).toThrow(TypeError);
    },
  );
});

describe("createNetns()", () => {
  test("createNetns() makes a namespace file with the namespace mounted on it and loopback up", async () => {
    const name = newName();
    const netns = await createNetns(name);
    expect(netns).toEqual({ name, path: `${netnsDir}/${name}` });
    const [mount] = await mountsUnder(netns.path);
    expect(mount).toMatchObject({ fsType: "nsfs", mountPoint: netns.path });
    const { stdout } = await execa("ip", ["-n", name, "-o", "link", "show", "lo"]);
    expect(stdout).toMatch(/<[^>]*\bUP\b[^>]*>/);
  });

  test("createNetns() gives a process joined with nsenter only the namespace's loopback", async () => {
    const { path } = await createNetns(newName());
    const { stdout } = await execa("nsenter", [`--net=${path}`, "ip", "-o", "link", "show"]);
    expect(stdout.trim().split("\n").map((line) => line.split(":")[1].trim())).toEqual(["lo"]);
  });

  test("createNetns() returns the existing namespace when called twice", async () => {
    const name = newName();
    const first = await createNetns(name);
    expect(await createNetns(name)).toEqual(first);
    expect(await mountPointsUnder(first.path)).toEqual([first.path]);
  });

  test("createNetns() refuses a namespace file that is a symlink to another namespace", async () => {
    const target = await createNetns(newName());
    const link = newName();
    await symlink(target.path, `${netnsDir}/${link}`);
    await expect(createNetns(link)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    expect(await mountPointsUnder(target.path)).toEqual([target.path]);
  });

  test("createNetns() throws a TypeError for a bad name before touching the host", async () => {
    await expect(createNetns("../pvtest-escape")).rejects.toBeInstanceOf(TypeError);
    expect(await exists("/run/pvtest-escape")).toBe(false);
  });
});

describe("removeNetns()", () => {
  test("removeNetns() unmounts the namespace and deletes its file", async () => {
    const name = newName();
    const { path } = await createNetns(name);
    expect(await removeNetns(name)).toBe("removed");
    expect(await exists(path)).toBe(false);
    expect(await mountPointsUnder(path)).toEqual([]);
  });

  test("removeNetns() succeeds when the namespace is already gone", async () => {
    const name = newName();
    await createNetns(name);
    await removeNetns(name);
    expect(await removeNetns(name)).toBe("absent");
    expect(await removeNetns(newName())).toBe("absent");
  });

  test("removeNetns() deletes a namespace file that has nothing mounted on it", async () => {
    const name = newName();
    await execa("touch", [`${netnsDir}/${name}`]);
    expect(await removeNetns(name)).toBe("removed");
    expect(await exists(`${netnsDir}/${name}`)).toBe(false);
  });

  test("removeNetns() refuses a namespace file that is a symlink and leaves its target alone", async () => {
    const target = await createNetns(newName());
    const link = newName();
    await symlink(target.path, `${netnsDir}/${link}`);
    await expect(removeNetns(link)).rejects.toMatchObject({ code: "PERMISSION_DENIED" });
    expect(await mountPointsUnder(target.path)).toEqual([target.path]);
  });
});

describe("removeNetnsBatch()", () => {
  test("removeNetnsBatch() removes 50 namespaces and reports the absent ones", async () => {
    const created = Array.from({ length: 50 }, newName);
    for (const name of created) await createNetns(name);
    const never = newName();
    const result = await removeNetnsBatch([...created, never]);
    expect(result.removed.sort()).toEqual([...created].sort());
    expect(result.absent).toEqual([never]);
    expect(result.failed).toEqual([]);
    for (const name of created) expect(await exists(`${netnsDir}/${name}`)).toBe(false);
    expect(await mountsUnder(netnsDir).then((mounts) => mounts.filter((m) => m.mountPoint.includes(`/${testNamePrefix}`)))).toEqual([]);
  });

  test("removeNetnsBatch() throws a TypeError for one bad name and removes nothing", async () => {
    const name = newName();
    await createNetns(name);
    await expect(removeNetnsBatch([name, "-all"])).rejects.toBeInstanceOf(TypeError);
    expect(await listNetns(name)).toEqual([name]);
  });

  test("removeNetnsBatch() succeeds for an empty list", async () => {
    expect(await removeNetnsBatch([])).toEqual({ removed: [], absent: [], failed: [] });
  });
});

describe("listNetns()", () => {
  test("listNetns() lists only the names with the prefix", async () => {
    const prefix = `${newName()}-`;
    const a = `${prefix}a`;
    const b = `${prefix}b`;
    names.push(a, b);
    await createNetns(b);
    await createNetns(a);
    expect(await listNetns(prefix)).toEqual([a, b]);
    await removeNetnsBatch([a, b]);
    expect(await listNetns(prefix)).toEqual([]);
  });
});
