import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { call, failureLine, output, startCliFixture } from "../cli/cli-harness.ts";
import type { CliFixture } from "../cli/cli-harness.ts";
import { buildTestImage, pushImage, startRegistry } from "../support/registry.ts";
import type { TestRegistry } from "../support/registry.ts";
import { commandFor } from "../support/runtimes.ts";

const runtime = "Deno" in globalThis ? "deno" : "node";
let dir: string;
let layout: string;
let registry: TestRegistry;
let fixture: CliFixture;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-image-cli-"));
  layout = await buildTestImage(dir);
  registry = await startRegistry();
  await pushImage(layout, registry, "test/busybox:latest");
  fixture = await startCliFixture(runtime);
}, 120_000);

afterAll(async () => {
  const leftovers = await fixture?.close();
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
  expect(leftovers?.mounts ?? []).toEqual([]);
});

describe("the image commands and methods, against a daemon", () => {
  test("pull, images, inspecti, rmi", async () => {
    const reference = `${registry.address}/test/busybox:latest`;
    const pulled = output(await fixture.podvisor("pull", reference));
    expect(pulled).toMatch(/^Image is up to date for sha256:[0-9a-f]{64}$/);
    const id = pulled.trim().split(" ").at(-1) as string;
    const images = JSON.parse(output(await fixture.podvisor("images", "-o", "json"))) as { id: string; repoTags: string[] }[];
    expect(images).toEqual([expect.objectContaining({ id, repoTags: [reference] })]);
    expect(output(await fixture.podvisor("images"))).toContain(`${registry.address}/test/busybox   latest`);
    expect(JSON.parse(output(await fixture.podvisor("inspecti", reference)))).toEqual({ status: expect.objectContaining({ id, repoDigests: [expect.stringMatching(/@sha256:/)] }) });
    // PullImage streams its progress as notifications on the request's connection (from the main thread, through the API thread).
    fixture.api.lines.length = 0;
    const again = await fixture.api.call("PullImage", { image: { image: reference } });
    expect(again.result).toEqual({ imageRef: id });
    const progress = (fixture.api.lines as { method?: string; params?: { doneBytes: number; totalBytes: number } }[]).filter((line) => line.method === "progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)?.params).toMatchObject({ doneBytes: progress.at(-1)?.params?.totalBytes });
    const fs = await call<{ imageFilesystems: { fsId: { mountpoint: string }; usedBytes: number; inodesUsed: number; timestamp: number }[] }>(fixture.api, "ImageFsInfo");
    expect(fs.imageFilesystems).toEqual([{ fsId: { mountpoint: join(fixture.daemon.root, "images") }, usedBytes: expect.any(Number), inodesUsed: expect.any(Number), timestamp: expect.any(Number) }]);
    expect(fs.imageFilesystems[0]?.usedBytes).toBeGreaterThan(1_000_000);
    expect(output(await fixture.podvisor("rmi", reference))).toBe(reference);
    expect(await call(fixture.api, "ImageStatus", { image: { image: reference } })).toEqual({ image: null });
    expect(failureLine(await fixture.podvisor("inspecti", reference))).toContain("no such image");
  });

  test("pull shows a progress bar on a terminal", async () => {
    const reference = `${registry.address}/test/busybox:latest`;
    const [file, args] = commandFor(runtime, new URL("../../src/cli/main.ts", import.meta.url).pathname, ["pull", reference]);
    const bin = new URL(`../../node_modules/.bin/${file}`, import.meta.url).pathname;
    // script(1) gives the CLI a pseudo-terminal, as a person's shell would.
    const shellCommand = [bin, ...args].map((word) => `'${word}'`).join(" ");
    const result = await execa("script", ["-qec", shellCommand, "/dev/null"], { reject: false, stdin: "ignore", env: { PODVISOR_SOCKET: fixture.daemon.socket, PODVISOR_LOG_LEVEL: "warn" } });
    expect(result.exitCode, String(result.stdout)).toBe(0);
    expect(String(result.stdout)).toMatch(/Pulling .*\d+(\.\d+)?[kM]?B\/\d+(\.\d+)?[kM]?B/);
    expect(String(result.stdout)).toMatch(/Image is up to date for sha256:[0-9a-f]{64}/);
    output(await fixture.podvisor("rmi", reference));
  });

  test("create and run take --image (with --entrypoint and arguments, as docker run does), and say what is missing", async () => {
    const reference = `${registry.address}/test/busybox:latest`;
    output(await fixture.podvisor("pull", reference));
    const sandbox = output(await fixture.podvisor("runp", "--name", "from-image")).trim();
    const exited = async (id: string) => {
      await expect.poll(async () => JSON.parse(output(await fixture.podvisor("inspect", id))).state, { timeout: 30_000 }).toBe("exited");
      return output(await fixture.podvisor("logs", id));
    };
    // The image's cmd is `sh`, its PATH /bin: arguments replace the cmd; --entrypoint the entrypoint.
    const args = output(await fixture.podvisor("run", sandbox, "--name", "args", "--image", reference, "--", "echo", "from args in", "$PWD")).trim();
    expect(await exited(args)).toBe("from args in $PWD");
    const entrypoint = output(await fixture.podvisor("run", sandbox, "--name", "entrypoint", "--image", reference, "--entrypoint", "sh", "--", "-c", "echo via entrypoint in $PWD")).trim();
    expect(await exited(entrypoint)).toBe("via entrypoint in /");
    const own = output(await fixture.podvisor("run", sandbox, "--name", "own", "--image", reference)).trim();
    await exited(own);
    expect(JSON.parse(output(await fixture.podvisor("inspect", own)))).toMatchObject({ exitCode: 0 });
    expect(failureLine(await fixture.podvisor("create", sandbox, "--name", "none"))).toBe("podvisor: a command is needed (after --), or --image to run an image's own");
    expect(failureLine(await fixture.podvisor("create", sandbox, "--name", "half", "--entrypoint", "sh", "--", "x"))).toContain("--entrypoint needs --image");
    expect(failureLine(await fixture.podvisor("create", sandbox, "--name", "missing", "--image", `${registry.address}/test/none:latest`))).toContain("pull it first");
    output(await fixture.podvisor("rmp", "--force", sandbox));
    output(await fixture.podvisor("rmi", reference));
  });

  test("image load of an OCI layout", async () => {
    const loaded = output(await fixture.podvisor("image", "load", "--name", "localhost/loaded", layout));
    expect(loaded).toMatch(/^Loaded image localhost\/loaded:latest sha256:[0-9a-f]{64}$/);
    output(await fixture.podvisor("rmi", "localhost/loaded"));
  });

  test("bad input is refused with INVALID_ARGUMENT, and a failed pull is one line", async () => {
    for (const params of [{}, { image: {} }, { image: { image: "" } }, { image: { image: "x" }, extra: 1 }, { image: { image: "Bad/Name" } }, { image: { image: "x" }, auth: { user: "u" } }]) {
      const answer = await fixture.api.call("PullImage", params);
      expect(answer.error?.data?.code, JSON.stringify(params)).toBe("INVALID_ARGUMENT");
    }
    expect(failureLine(await fixture.podvisor("pull", `${registry.address}/test/missing:latest`))).toMatch(/NOT_FOUND|not found|has no/i);
    expect(await call(fixture.api, "ListImages")).toEqual({ images: [] });
  });
});
