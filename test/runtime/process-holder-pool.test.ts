/**
 * Several process holders (src/runtime/process-holder.ts): past `childrenPerHolder` children, new
 * containers go to another holder process (waitpid(-1) walks every child of its caller, so one holder
 * of 12,000 paid 155 µs per exit). Each child's signal and exit still go through its own holder.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, expect, test } from "vitest";
import { decodeWaitStatus, ProcessHolder } from "../../src/runtime/process-holder.ts";
import type { HeldProcess } from "../../src/runtime/process-holder.ts";

const holder = new ProcessHolder({ childrenPerHolder: 3 });
let dir = "";
afterAll(async () => {
  holder.close();
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

/** The holder processes (perl running process-holder.pl) whose parent is this process. */
async function holderPids(): Promise<number[]> {
  const { stdout } = await execa("pgrep", ["-P", String(process.pid), "-f", "process-holder.pl"], { reject: false });
  return stdout.split("\n").filter(Boolean).map(Number);
}

test("seven children of holders of three go to three holders; each is signalled and reaped through its own", async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-holders-"));
  const before = await holderPids();
  const children: HeldProcess[] = [];
  for (let index = 0; index < 7; index++) {
    children.push(await holder.spawn({ argv: ["/bin/sleep", "1000"], env: {}, cwd: "/", logPath: join(dir, `${index}.log`), cgroupProcs: "", exitPath: join(dir, `${index}.exit`) }));
  }
  const started = (await holderPids()).filter((pid) => !before.includes(pid));
  expect(started).toHaveLength(3);
  for (const pid of started) {
    const { stdout } = await execa("pgrep", ["-P", String(pid)], { reject: false });
    expect(stdout.split("\n").filter(Boolean).length).toBeLessThanOrEqual(3);
  }
  await Promise.all(children.map((child) => child.signal("SIGTERM")));
  for (const child of children) expect(decodeWaitStatus((await child.exited).status)).toMatchObject({ signal: "SIGTERM" });
  // Reaped: a freed holder takes children again before another one is started.
  const next = await holder.spawn({ argv: ["/bin/true"], env: {}, cwd: "/", logPath: join(dir, "next.log"), cgroupProcs: "", exitPath: join(dir, "next.exit") });
  expect(decodeWaitStatus((await next.exited).status)).toMatchObject({ exitCode: 0 });
  expect((await holderPids()).filter((pid) => !before.includes(pid)).length).toBeLessThanOrEqual(3);
});
