/**
 * Records are rewritten in place of a spare hard link and linked over their name (`RecordFiles`):
 * readers see the old content or the new, the live file is never written in place, no inode is
 * made after a record's first write, and a failed write (a real full disk: a tiny tmpfs, out of
 * bytes and inodes) leaves the old content and no temporary name.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { RecordFiles } from "../../src/state/record-file.ts";

describe("RecordFiles", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-record-"));
  });
  afterEach(async () => {
    await execa("umount", [join(dir, "small")], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });

  test("writes, makes the folder, and replaces the file whole; after the first write no inode is made", () => {
    const path = join(dir, "new", "record.json");
    const files = new RecordFiles();
    files.write(path, '{"n":0,"pad":"long enough to be cut later"}\n');
    expect(readFileSync(path, "utf8")).toBe('{"n":0,"pad":"long enough to be cut later"}\n');
    const slots = [join(dir, "new", ".record.json.slot0"), join(dir, "new", ".record.json.slot1")];
    files.write(path, '{"n":1}\n');
    const inodes = new Set(slots.map((slot) => statSync(slot).ino));
    for (let n = 2; n < 20; n++) {
      files.write(path, `{"n":${n}}\n`);
      expect(readFileSync(path, "utf8")).toBe(`{"n":${n}}\n`); // cut to its length: nothing of a longer old one
      expect(inodes.has(statSync(path).ino)).toBe(true);
    }
    expect(new Set(slots.map((slot) => statSync(slot).ino))).toEqual(inodes);
    expect(readdirSorted(join(dir, "new"))).toEqual([".record.json.slot0", ".record.json.slot1", "record.json"]);
  });

  test("a new writer (a restarted daemon) never writes into the live file: a reader holding it open keeps its content", () => {
    const path = join(dir, "record.json");
    new RecordFiles().write(path, "old\n");
    new RecordFiles().write(path, "older than new\n");
    const reader = openSync(path, "r");
    try {
      new RecordFiles().write(path, "new\n");
      expect(readFileSync(path, "utf8")).toBe("new\n");
      const held = Buffer.alloc(64);
      expect(held.subarray(0, readSync(reader, held, 0, 64, 0)).toString()).toBe("older than new\n");
    } finally {
      closeSync(reader);
    }
  });

  test("replaces a plain file written some other way, and a link name a crash left behind", () => {
    const path = join(dir, "record.json");
    writeFileSync(path, "plain\n");
    const files = new RecordFiles();
    files.write(path, "first\n");
    writeFileSync(join(dir, ".record.json.link.tmp"), "left by a crash\n");
    files.write(path, "second\n");
    expect(readFileSync(path, "utf8")).toBe("second\n");
    expect(readdirSorted(dir)).toEqual([".record.json.slot0", ".record.json.slot1", "record.json"]);
  });

  test("a full disk fails with ENOSPC naming the file, keeps the old record, and leaves no temporary name", async () => {
    const small = join(dir, "small");
    await mkdir(small);
    await execa("mount", ["-t", "tmpfs", "-o", "size=64k,nr_inodes=64", "tmpfs", small]);
    const path = join(small, "record.json");
    const files = new RecordFiles();
    files.write(path, "running\n");
    // Out of bytes and of inodes (a link on tmpfs takes one).
    const filler = openSync(join(small, "filler"), "w");
    try {
      for (;;) writeSync(filler, new Uint8Array(4096));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
    } finally {
      closeSync(filler);
    }
    mkdirSync(join(small, "inodes"));
    expect(() => {
      for (let n = 0; n < 64; n++) closeSync(openSync(join(small, "inodes", String(n)), "w"));
    }).toThrow(/ENOSPC/);
    let error: unknown;
    try {
      files.write(path, "exited\n");
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: "ENOSPC", details: { path } });
    expect((error as Error).message).toMatch(new RegExp(`^Cannot write ${path}: `));
    expect(readFileSync(path, "utf8")).toBe("running\n");
    expect((await readdir(small)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });
});

function readdirSorted(path: string): string[] {
  return readdirSync(path).sort();
}
