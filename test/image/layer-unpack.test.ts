import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { BlobStore } from "../../src/image/blob-store.ts";
import { unpackLayer } from "../../src/image/layer-unpack.ts";
import { layerOf } from "./tar-fixture.ts";
import type { TarEntry } from "./tar-fixture.ts";

let dir: string;
let blobs: BlobStore;
let layersDir: string;
/** A file outside the layer directory that no entry may reach. */
let outside: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-unpack-"));
  blobs = new BlobStore(join(dir, "images"));
  await blobs.open();
  layersDir = join(dir, "images", "layers");
  await mkdir(layersDir, { recursive: true });
  outside = join(dir, "outside");
  await mkdir(outside);
  await writeFile(join(outside, "victim"), "untouched");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function unpack(entries: TarEntry[]): Promise<string> {
  const layer = layerOf(entries);
  await blobs.write(layer.digest, [layer.blob]);
  return unpackLayer({ blobPath: blobs.path(layer.digest), diffId: layer.diffId, layersDir });
}

async function outsideUntouched(): Promise<void> {
  expect(await readdir(outside)).toEqual(["victim"]);
  expect(await readFile(join(outside, "victim"), "utf8")).toBe("untouched");
  expect((await readdir(layersDir)).filter((name) => name.startsWith("."))).toEqual([]);
}

describe("unpackLayer()", () => {
  test("writes files, directories, links and modes, and keeps absolute symlinks as written", async () => {
    const target = await unpack([
      { path: "./", type: "Directory" },
      { path: "bin/", type: "Directory" },
      { path: "bin/tool", body: "#!/bin/sh\n", mode: 0o4755 },
      { path: "bin/sh", type: "SymbolicLink", linkpath: "/bin/tool" },
      { path: "bin/hard", type: "Link", linkpath: "bin/tool" },
      { path: "/etc/hostname", body: "box\n" },
    ]);
    expect(await readFile(join(target, "bin/tool"), "utf8")).toBe("#!/bin/sh\n");
    expect((await lstat(join(target, "bin/tool"))).mode & 0o7777).toBe(0o4755);
    expect(await readlink(join(target, "bin/sh"))).toBe("/bin/tool");
    expect((await lstat(join(target, "bin/hard"))).ino).toBe((await lstat(join(target, "bin/tool"))).ino);
    expect(await readFile(join(target, "etc/hostname"), "utf8")).toBe("box\n"); // a leading / is dropped
  });

  test("turns whiteouts into overlay whiteouts: a 0:0 character device, and the opaque xattr", async () => {
    const target = await unpack([
      { path: "etc/", type: "Directory" },
      { path: "etc/.wh.passwd" },
      { path: "var/cache/.wh..wh..opq" },
    ]);
    const whiteout = await lstat(join(target, "etc/passwd"));
    expect(whiteout.isCharacterDevice()).toBe(true);
    expect(whiteout.rdev).toBe(0);
    const { stdout } = await execa("getfattr", ["--only-values", "-n", "trusted.overlay.opaque", join(target, "var/cache")]);
    expect(stdout).toBe("y");
    expect(await readdir(join(target, "var/cache"))).toEqual([]);
  });

  test("refuses an entry whose name climbs out with ..", async () => {
    await expect(unpack([{ path: "../outside/victim", body: "pwned" }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(unpack([{ path: "a/../../outside/victim", body: "pwned" }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await outsideUntouched();
  });

  test("keeps an absolute name inside the layer", async () => {
    const target = await unpack([{ path: `${outside}/victim`, body: "pwned" }]);
    await outsideUntouched();
    expect(await readFile(join(target, outside, "victim"), "utf8")).toBe("pwned");
  });

  test("refuses to write through a symlink that points out of the layer", async () => {
    for (const linkpath of [outside, "../../../outside", "/"]) {
      await expect(unpack([
        { path: "escape", type: "SymbolicLink", linkpath },
        { path: "escape/victim", body: `pwned through ${linkpath}` },
      ])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("symbolic link") });
    }
    await outsideUntouched();
  });

  test("replaces a symlink by a file instead of writing through it", async () => {
    const target = await unpack([
      { path: "victim", type: "SymbolicLink", linkpath: join(outside, "victim") },
      { path: "victim", body: "inside" },
    ]);
    await outsideUntouched();
    expect(await readFile(join(target, "victim"), "utf8")).toBe("inside");
  });

  test("refuses a hard link to a file outside the layer", async () => {
    await expect(unpack([{ path: "hard", type: "Link", linkpath: "../outside/victim" }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(unpack([{ path: "hard", type: "Link", linkpath: join(outside, "victim") }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(unpack([
      { path: "out", type: "SymbolicLink", linkpath: outside },
      { path: "hard", type: "Link", linkpath: "out/victim" },
    ])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await outsideUntouched();
  });

  test("leaves device nodes and FIFOs out", async () => {
    const target = await unpack([
      { path: "dev/", type: "Directory" },
      { path: "dev/sda", type: "BlockDevice", devmaj: 8, devmin: 0 },
      { path: "dev/mem", type: "CharacterDevice", devmaj: 1, devmin: 1 },
      { path: "dev/fifo", type: "FIFO" },
      { path: "dev/ok", body: "kept" },
    ]);
    expect(await readdir(join(target, "dev"))).toEqual(["ok"]);
  });

  test("unpacks zstd and uncompressed layers as well as gzip ones", async () => {
    const { tarOf, sha256 } = await import("./tar-fixture.ts");
    const zlib = await import("node:zlib");
    const tar = tarOf([{ path: "hello.txt", body: "zstd or not" }]);
    const zstd = (zlib as { zstdCompressSync?: (data: Buffer) => Buffer }).zstdCompressSync;
    const blobs_ = zstd === undefined ? [tar] : [tar, zstd(tar)];
    for (const blob of blobs_) {
      const digest = sha256(blob);
      await blobs.write(digest, [blob]);
      await rm(join(layersDir, sha256(tar).slice(7)), { recursive: true, force: true });
      const target = await unpackLayer({ blobPath: blobs.path(digest), diffId: sha256(tar), layersDir });
      expect(await readFile(join(target, "hello.txt"), "utf8")).toBe("zstd or not");
    }
    expect(blobs_).toHaveLength(2); // both runtimes here have node:zlib's zstd
  });

  test("refuses a layer whose content does not hash to its diff id, and leaves nothing", async () => {
    const layer = layerOf([{ path: "file", body: "content" }]);
    await blobs.write(layer.digest, [layer.blob]);
    const wrong = `sha256:${"0".repeat(64)}`;
    await expect(unpackLayer({ blobPath: blobs.path(layer.digest), diffId: wrong, layersDir })).rejects.toMatchObject({ code: "DATA_LOSS" });
    expect(await readdir(layersDir)).toEqual([]);
  });
});
