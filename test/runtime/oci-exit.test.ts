/**
 * conmon's exit report as the OCI backend reads it (`src/runtime/oci/oci-exit.ts`), with real files
 * in a real exit dir and real pids: conmon's part is played by this test writing the files conmon
 * writes, and by processes that live or have ended.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, expect, test } from "vitest";
import { OciExitWatcher } from "../../src/runtime/oci/oci-exit.ts";
import { readProcStartTime } from "../../src/runtime/oci/proc-start-time.ts";
import { testTempPrefix } from "../support/test-run.ts";

let root: string;
let watcher: OciExitWatcher;

beforeEach(async () => {
  root = await mkdtemp(testTempPrefix("exits"));
  watcher = new OciExitWatcher(join(root, "exits"));
});

afterEach(async () => {
  watcher.close();
  await rm(root, { recursive: true, force: true });
});

/** What a promise has come to so far: its value, or "pending". */
async function settledYet<T>(promise: Promise<T>): Promise<T | "pending"> {
  return Promise.race([promise, new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), 0))]);
}

async function persistDir(id: string): Promise<string> {
  const dir = join(root, id);
  await mkdir(dir, { recursive: true });
  return dir;
}

test("the status conmon writes after the wait began is seen (the exit dir is watched)", async () => {
  const conmon = { pid: process.pid, startTime: (await readProcStartTime(process.pid)) as string };
  const exited = watcher.whenExited("c1", await persistDir("c1"), { conmon });
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await settledYet(exited)).toBe("pending");
  await writeFile(join(root, "exits", "c1"), "143");
  expect(await exited).toBe(143);
});

test("a status kept in the persist dir is read at once (an exit while no daemon watched)", async () => {
  const dir = await persistDir("c2");
  await writeFile(join(dir, "exit"), "0");
  expect(await watcher.whenExited("c2", dir)).toBe(0);
});

test("a container being stopped whose conmon is gone without a status: unknown within a tick, not the 10 s check", async () => {
  const ended = execa("true");
  await ended;
  const exited = watcher.whenExited("c3", await persistDir("c3"), { conmon: { pid: ended.pid as number, startTime: "1" } });
  watcher.expedite("c3");
  const startedAt = Date.now();
  expect(await exited).toBeUndefined();
  expect(Date.now() - startedAt).toBeLessThan(5_000); // one tick is 1 s; the full check comes every 10 s
});

test("a container being stopped whose conmon lives stays waiting until conmon writes the status", async () => {
  const conmon = { pid: process.pid, startTime: (await readProcStartTime(process.pid)) as string };
  const exited = watcher.whenExited("c4", await persistDir("c4"), { conmon });
  watcher.expedite("c4");
  await new Promise((resolve) => setTimeout(resolve, 2_200)); // two ticks of the quick check
  expect(await settledYet(exited)).toBe("pending");
  await writeFile(join(root, "exits", "c4"), "0");
  expect(await exited).toBe(0);
});
