import { describe, expect, test } from "vitest";
import { HostCommandError, runHostCommand } from "../../src/host/host-command.ts";

describe("runHostCommand()", () => {
  test("runHostCommand() resolves with the command's output", async () => {
    const result = await runHostCommand("ip", ["-o", "link", "show", "lo"], { action: "list lo" });
    expect(result).toMatchObject({ failed: false, exitCode: 0, shortMessage: "" });
    expect(result.stdout).toMatch(/^1: lo:/);
  });

  test("runHostCommand() throws a HostCommandError that names the action and ends with stderr", async () => {
    const failure = runHostCommand("ip", ["link", "show", "pvtest-no-such-link"], { action: "show a link" });
    await expect(failure).rejects.toBeInstanceOf(HostCommandError);
    await expect(failure).rejects.toMatchObject({
      code: "HOST_COMMAND_FAILED",
      message: expect.stringMatching(/^Cannot show a link: Device "pvtest-no-such-link" does not exist\.$/),
      result: { failed: true, exitCode: 1 },
    });
  });

  test("runHostCommand() resolves with the failed result when told not to reject", async () => {
    const result = await runHostCommand("ip", ["link", "show", "pvtest-no-such-link"], { action: "show", reject: false });
    expect(result).toMatchObject({ failed: true, exitCode: 1 });
  });

  test("runHostCommand() passes input on stdin", async () => {
    const result = await runHostCommand("ip", ["-o", "-batch", "-"], { action: "run a batch", input: "link show lo\n" });
    expect(result.stdout).toMatch(/^1: lo:/);
  });

  test("runHostCommand() kills the command when its signal aborts", async () => {
    const controller = new AbortController();
    const running = runHostCommand("sleep", ["600"], { action: "wait", signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ result: { isCanceled: true, signal: "SIGKILL" } });
  });
});
