/**
 * Records are written whole or not at all: the old file or the new one, never half of one, and a
 * failed write (a full disk, made real here with a tiny tmpfs) leaves the old file and no temporary.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { writeJsonAtomic } from "../../src/state/atomic-file.ts";

describe("writeJsonAtomic", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-atomic-"));
  });
  afterEach(async () => {
    await execa("umount", [join(dir, "small")], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });

  test("writes the JSON, makes the folder on the first write, and replaces a file whole", async () => {
    const path = join(dir, "new", "deeper", "record.json");
    await writeJsonAtomic(path, { state: "running", n: 1 });
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ state: "running", n: 1 });
    await Promise.all(Array.from({ length: 50 }, (_, n) => writeJsonAtomic(path, { state: "exited", n, pad: "x".repeat(10_000) }, { durable: n % 2 === 0 })));
    const last = JSON.parse(await readFile(path, "utf8"));
    expect(last).toMatchObject({ state: "exited", pad: "x".repeat(10_000) }); // one writer's whole record
    expect((await readdir(join(dir, "new", "deeper"))).sort()).toEqual(["record.json"]);
  });

  test("a full disk fails with ENOSPC naming the file, keeps the old record, and leaves no temporary file", async () => {
    const small = join(dir, "small");
    await mkdir(small);
    await execa("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small]);
    const path = join(small, "record.json");
    await writeJsonAtomic(path, { state: "running" });
    await writeFile(join(small, "filler"), Buffer.alloc(60 * 1024)).catch(() => {}); // as full as it gets
    const error = await writeJsonAtomic(path, { state: "exited", pad: "x".repeat(100_000) }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "ENOSPC", details: { path } });
    expect((error as Error).message).toMatch(new RegExp(`^Cannot write ${path}: `));
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ state: "running" });
    expect((await readdir(small)).sort()).toEqual(["filler", "record.json"]);
  });
});
