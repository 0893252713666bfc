/**
 * The daemon's log lines, read from a real daemon process: one format across every thread (the main
 * thread's `[supervisor…]` lines and the API thread's `[api:socket]`), whichever way
 * the format was chosen — a terminal (pretty), the journal (`<N>` syslog level prefixes), or
 * neither (JSON).
 */
import { closeSync, openSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { ResultPromise } from "execa";
import { describe, expect, test } from "vitest";
import { waitForSocket } from "../../src/api/socket-probe.ts";
import { RawClient } from "../support/daemon-process.ts";
import { commandFor, runtimes } from "../support/runtimes.ts";
import type { Runtime } from "../support/runtimes.ts";

const cli = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const binDir = new URL("../../node_modules/.bin/", import.meta.url).pathname;
const pretty = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (SILLY|TRACE|DEBUG|INFO|WARN|ERROR|FATAL) \[[^\]]+\] /;
const journal = /^<[2-7]>(SILLY|TRACE|DEBUG|INFO|WARN|ERROR|FATAL) \[[^\]]+\] /;

/** How the daemon's stderr is connected, and what its format is then. */
type Setting = "terminal" | "journal" | "file";

async function runDaemon(runtime: Runtime, setting: Setting): Promise<string[]> {
  const root = await mkdtemp(join(tmpdir(), "pvtest-logfmt-"));
  const socket = join(root, "api.sock");
  const [file, args] = commandFor(runtime, cli, ["daemon", "--root", root, "--socket", socket, "--workers", "2", "--stop-timeout", "2"]);
  const env = { PODVISOR_LOG_LEVEL: "info", PATH: `${binDir}:${process.env.PATH}` };
  const logPath = join(root, "stderr.log");
  let child: ResultPromise;
  let daemonPid: () => number;
  if (setting === "terminal") {
    // `script` gives the daemon a terminal (a pty) for stdin, stdout and stderr.
    const command = ["exec", file, ...args].map((word) => `'${word}'`).join(" ");
    child = execa("script", ["-qfec", command, logPath], { reject: false, stdin: "ignore", stdout: "ignore", env });
    daemonPid = () => Number(readChildren(child.pid as number)[0]);
  } else {
    // The file itself is the daemon's stderr (an fd, no pipe in between), as the journal's stream is. (execa
    // takes an fd there, which its types for stderr do not say: hence the cast.)
    const fd = openSync(logPath, "a");
    const { dev, ino } = statSync(logPath);
    // systemd sets JOURNAL_STREAM to the device and inode of the stream it connects to stderr.
    const journalEnv = setting === "journal" ? { JOURNAL_STREAM: `${dev}:${ino}` } : {};
    child = execa(file, args, { reject: false, stdin: "ignore", stderr: fd as unknown as "inherit", env: { ...env, ...journalEnv } });
    closeSync(fd);
    daemonPid = () => child.pid as number;
  }
  try {
    let exited = false;
    void child.then(() => (exited = true));
    await waitForSocket(socket, { timeoutMs: 30_000, gaveUp: () => (exited ? "The daemon exited before serving its socket" : undefined) });
    const api = await RawClient.connect(socket);
    // An unknown sandbox's stop succeeds with a warning in the log.
    expect((await api.call("StopPodSandbox", { podSandboxId: "nosuchsandbox1" })).error).toBeUndefined();
    api.close();
    process.kill(daemonPid(), "SIGTERM");
    await child;
    const text = await readFile(logPath, "utf8");
    // script writes a terminal's \r\n; a line of the run itself never holds a \r.
    return text.replaceAll("\r", "").split("\n").filter((line) => line.trim() !== "" && !line.startsWith("Script "));
  } finally {
    child.kill("SIGKILL");
    await child;
    await rm(root, { recursive: true, force: true });
  }
}

function readChildren(pid: number): string[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/);
}

describe.each(runtimes)("the log lines of a daemon on %s", (runtime) => {
  test("on a terminal: pretty text from every thread, the API thread's too", async () => {
    const lines = await runDaemon(runtime, "terminal");
    for (const line of lines) expect(line).toMatch(pretty);
    expect(lines.some((line) => line.includes(" [api:socket] Serving the API"))).toBe(true);
    expect(lines.some((line) => line.includes(" [supervisor] Supervisor ready"))).toBe(true);
    expect(lines.some((line) => line.includes("WARN [supervisor:stop] Pod sandbox not found"))).toBe(true);
  });

  test("when stderr is the journal ($JOURNAL_STREAM names it): every line carries its syslog level, <4> for a warning", async () => {
    const lines = await runDaemon(runtime, "journal");
    for (const line of lines) expect(line).toMatch(journal);
    expect(lines.some((line) => line.startsWith("<6>INFO [api:socket] Serving the API"))).toBe(true);
    expect(lines.some((line) => line.startsWith("<6>INFO [supervisor] Supervisor ready"))).toBe(true);
    expect(lines.some((line) => line.startsWith("<4>WARN [supervisor:stop] Pod sandbox not found"))).toBe(true);
  });

  test("to a file, no terminal, no journal: JSON from every thread", async () => {
    const lines = await runDaemon(runtime, "file");
    const records = lines.map((line) => JSON.parse(line) as { _logMeta: { name: string; logLevelName: string } });
    const names = new Set(records.map((record) => record._logMeta.name));
    expect(names).toContain("api:socket");
    expect(names).toContain("supervisor");
    expect(records.some((record) => record._logMeta.logLevelName === "WARN")).toBe(true);
  });
});
