import { mkdir } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { isMounted, mountsUnder, parseMountinfo } from "../../src/host/mountinfo.ts";
import { makeTempDir, mountTmpfs, removeTempDirs } from "./host-fixtures.ts";

const made: string[] = [];
let root: string;

beforeEach(async () => {
  root = await makeTempDir("mountinfo");
  made.push(root);
});

afterEach(async () => {
  await removeTempDirs(made);
});

describe("parseMountinfo()", () => {
  test("parseMountinfo() reads every field and decodes octal escapes", () => {
    const text = [
      "36 35 98:0 /mnt1 /mnt\\040two\\134x rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue",
      "37 36 0:45 / /run/netns rw - tmpfs tmp\\011fs rw",
      "garbage",
      "",
    ].join("\n");
    const [first, second, ...rest] = parseMountinfo(text);
    expect(rest).toEqual([]);
    expect(first).toEqual({
      mountId: 36,
      parentId: 35,
      device: "98:0",
      root: "/mnt1",
      mountPoint: "/mnt two\\x",
      mountOptions: "rw,noatime",
      optionalFields: ["master:1", "shared:7"],
      fsType: "ext3",
      source: "/dev/root",
      superOptions: "rw,errors=continue",
    });
    expect(second).toMatchObject({ optionalFields: [], mountPoint: "/run/netns", source: "tmp\tfs" });
  });
});

describe("isMounted() and mountsUnder()", () => {
  test("isMounted() sees a tmpfs mounted on a directory whose name has a space", async () => {
    const dir = `${root}/has space`;
    await mkdir(dir);
    expect(await isMounted(dir)).toBe(false);
    await mountTmpfs(dir);
    expect(await isMounted(dir)).toBe(true);
    expect(await isMounted(root)).toBe(false);
  });

  test("mountsUnder() lists the mounts beneath a prefix, deepest first", async () => {
    expect(await mountsUnder(root)).toEqual([]);
    await mkdir(`${root}/outer`);
    await mountTmpfs(`${root}/outer`);
    await mkdir(`${root}/outer/inner`);
    await mountTmpfs(`${root}/outer/inner`);
    const points = (await mountsUnder(root)).map((mount) => mount.mountPoint);
    expect(points).toEqual([`${root}/outer/inner`, `${root}/outer`]);
    expect((await mountsUnder(`${root}/out`)).length).toBe(0);
  });
});
