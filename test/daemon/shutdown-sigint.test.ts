/**
 * Issue 3, deliverable 6: the daemon stops every sandbox on SIGINT as on SIGTERM.
 * `test/daemon/shutdown.test.ts` sends only SIGTERM; this sends SIGINT (Ctrl-C) to the same daemon.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { findHostLeftovers } from "../../src/host/leftovers.ts";
import { commandFor, runtimes } from "../support/runtimes.ts";
import { isAlive, noLeftovers } from "../support/supervisor.ts";

const script = new URL("../support/daemon-with-pods.ts", import.meta.url).pathname;

describe.each(runtimes)("the daemon on %s", (runtime) => {
  test("stops every sandbox on SIGINT, then exits 0, leaving nothing", async () => {
    const root = await mkdtemp(join(tmpdir(), "pvtest-sigint-"));
    const [file, args] = commandFor(runtime, script, [root, "2", ""]);
    const child = execa(file, args, { preferLocal: true, reject: false, env: { PODVISOR_LOG_LEVEL: "warn" } });
    try {
      const made = await new Promise<{ tag: string; root: string; pids: number[] }>((resolve, reject) => {
        child.stdout?.on("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString().split("\n")[0])));
        void child.then((result) => reject(new Error(`daemon exited early: ${result.stderr}`)));
      });
      expect(made.pids.every(isAlive)).toBe(true);
      child.kill("SIGINT");
      const result = await child;
      expect(result.exitCode).toBe(0);
      expect(made.pids.filter(isAlive)).toEqual([]);
      expect(await findHostLeftovers({ root: made.root, tag: made.tag })).toEqual(noLeftovers);
    } finally {
      if (child.nodeChildProcess.exitCode === null) child.kill("SIGKILL");
      await child;
      await rm(root, { recursive: true, force: true });
    }
  });
});
