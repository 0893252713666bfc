/**
 * The command runner (src/host/command-runner.ts): host tools forked from a small perl process,
 * not from the daemon. What execa gave runHostCommand must still hold through it: output and input
 * of any size, an exit code or a signal, a command that cannot be executed, more commands at once
 * than it runs, and a runner that dies (its commands fail; the next command starts another).
 */
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { runThroughRunner } from "../../src/host/command-runner.ts";
import { runHostCommand } from "../../src/host/host-command.ts";

/** The pid of this thread's runner: the perl process running command-runner.pl whose parent is this process. */
async function runnerPid(): Promise<number | undefined> {
  const { stdout } = await execa("pgrep", ["-P", String(process.pid), "-f", "command-runner.pl"], { reject: false });
  return stdout.trim() === "" ? undefined : Number(stdout.trim().split("\n")[0]);
}

describe("the command runner", () => {
  test("a megabyte each way: input on stdin, output on stdout, stderr apart", async () => {
    const input = "x".repeat(1 << 20);
    const outcome = await runThroughRunner("sh", ["-c", "wc -c; echo to-stderr >&2"], { input });
    expect(outcome).toMatchObject({ exitCode: 0, signal: undefined, stdout: `${1 << 20}\n`, stderr: "to-stderr\n" });
    const big = await runThroughRunner("head", ["-c", String(3 << 20), "/dev/zero"]);
    expect(big.stdout.length).toBe(3 << 20);
  });

  test("bytes that are not text, spaces and newlines in arguments pass unchanged", async () => {
    const outcome = await runThroughRunner("printf", ["%s|", "a b", "line\nnext", "é", ""]);
    expect(outcome.stdout).toBe("a b|line\nnext|é||");
  });

  test("a command's own environment replaces the runner's; without one it has the runner's", async () => {
    const own = await runThroughRunner("/usr/bin/env", [], { env: { CNI_COMMAND: "DEL", EMPTY: "", SPACED: "a b=c" } });
    expect(own.stdout.split("\n").filter(Boolean).sort()).toEqual(["CNI_COMMAND=DEL", "EMPTY=", "SPACED=a b=c"]);
    expect((await runThroughRunner("/usr/bin/env", [], { env: {} })).stdout).toBe("");
    expect((await runThroughRunner("/usr/bin/env", [])).stdout).toMatch(/^LC_ALL=C$/m);
  });

  test("an exit code, a signal, a program that is not there", async () => {
    expect(await runThroughRunner("sh", ["-c", "exit 3"])).toMatchObject({ exitCode: 3, signal: undefined });
    expect(await runThroughRunner("sh", ["-c", "kill -TERM $$"])).toMatchObject({ exitCode: undefined, signal: "SIGTERM" });
    const missing = await runThroughRunner("/nonexistent/pvtest-tool", ["x"]);
    expect(missing).toMatchObject({ exitCode: 127 });
    expect(missing.stderr).toMatch(/^\/nonexistent\/pvtest-tool: cannot execute: No such file or directory/);
    await expect(runHostCommand("/nonexistent/pvtest-tool", [], { action: "run a tool" })).rejects.toMatchObject({
      code: "HOST_COMMAND_FAILED", message: "Cannot run a tool: /nonexistent/pvtest-tool: cannot execute: No such file or directory",
    });
  });

  test("more commands at once than it runs: every one is answered, each with its own output", async () => {
    const outcomes = await Promise.all(Array.from({ length: 300 }, (_, index) => runThroughRunner("sh", ["-c", `sleep 0.05; echo ${index}`])));
    expect(outcomes.map((outcome) => outcome.stdout)).toEqual(Array.from({ length: 300 }, (_, index) => `${index}\n`));
  });

  test("a command that closes its output before it exits is answered when it exits", async () => {
    // Its pipes end before it is a zombie: the runner must not wait for a wake-up that may already
    // have come (perl runs a signal handler only between two ops; command-runner.pl). The lost
    // wake-up itself falls in a window of a few microseconds and cannot be made on demand; once in
    // the suite it held a layer's `sync` for a minute. This checks the state it happens in.
    expect(await runThroughRunner("sh", ["-c", "exec >&- 2>&-; sleep 0.3; exit 4"])).toMatchObject({ exitCode: 4, stdout: "", stderr: "" });
    for (let round = 0; round < 300; round++) {
      const answered = await Promise.race([runThroughRunner("sh", ["-c", "exec >&- 2>&-"]), new Promise((resolve) => setTimeout(() => resolve("not answered in 10 s"), 10_000))]);
      expect(answered, `round ${round}`).toMatchObject({ exitCode: 0 });
    }
  });

  test("a runner that dies fails what it was running; the next command starts another", async () => {
    await runThroughRunner("true", []);
    const pid = await runnerPid();
    expect(pid).toBeGreaterThan(0);
    const running = runThroughRunner("sleep", ["613.25"]); // a duration no other test uses: it is killed by its command line below
    await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(pid as number, "SIGKILL");
    await expect(running).rejects.toThrow(/the command runner ended/);
    expect(await runThroughRunner("echo", ["again"])).toMatchObject({ exitCode: 0, stdout: "again\n" });
    expect(await runnerPid()).not.toBe(pid);
    // The sleep it had started is an orphan now: ended here (the test's own cleanup).
    await execa("pkill", ["-KILL", "-f", "^sleep 613.25$"], { reject: false });
  });
});
