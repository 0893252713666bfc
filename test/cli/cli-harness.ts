import { execa } from "execa";
import { expect } from "vitest";
import type { HostLeftovers } from "../../src/host/leftovers.ts";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { commandFor } from "../support/runtimes.ts";
import type { Runtime } from "../support/runtimes.ts";

const cliPath = new URL("../../src/cli/main.ts", import.meta.url).pathname;

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A real daemon in a child process, the CLI to drive it with, and a raw API client for setup and checks. */
export interface CliFixture {
  daemon: DaemonProcess;
  api: RawClient;
  /** Runs `podvisor ARGS…` as a child process on the daemon's runtime, against its socket. */
  podvisor(...args: string[]): Promise<CliResult>;
  /** Closes the API client, stops the daemon, and returns what it left on the host (should be nothing). */
  close(): Promise<HostLeftovers>;
}

export async function startCliFixture(runtime: Runtime): Promise<CliFixture> {
  const daemon = await startDaemonProcess(runtime);
  const api = await RawClient.connect(daemon.socket);
  return {
    daemon,
    api,
    podvisor: (...args) => runCli(runtime, args, { PODVISOR_SOCKET: daemon.socket }),
    async close() {
      api.close();
      return daemon.stop();
    },
  };
}

/** Runs the CLI on `runtime` with `args`; never rejects: the exit code is part of the result. */
export async function runCli(runtime: Runtime, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const [file, fileArgs] = commandFor(runtime, cliPath, args);
  const result = await execa(file, fileArgs, {
    preferLocal: true, reject: false, stdin: "ignore", extendEnv: false, env: { ...machineEnv(), PODVISOR_LOG_LEVEL: "warn", ...env },
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr), durationMs: result.durationMs };
}

/**
 * This process's environment without the colour settings a machine may carry (CI sets NO_COLOR,
 * FORCE_COLOR or TERM): what the CLI prints must not depend on them unless a test sets them.
 */
export function machineEnv(): Record<string, string> {
  const colour = new Set(["NO_COLOR", "FORCE_COLOR", "TERM"]);
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => !colour.has(entry[0]) && entry[1] !== undefined));
}

/** Checks that a command failed with exit status 1 and one line on stderr; returns that line. */
export function failureLine(result: CliResult): string {
  expect(result.exitCode, result.stderr).toBe(1);
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^podvisor: /);
  return lines[0];
}

/** Checks that a command succeeded with nothing on stderr; returns its stdout. */
export function output(result: CliResult): string {
  expect(result.stderr).toBe("");
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

/** A call on the raw API that must succeed; returns its result. */
export async function call<T = any>(api: RawClient, method: string, params?: unknown): Promise<T> {
  const response = await api.call(method, params);
  expect(response.error).toBeUndefined();
  return response.result as T;
}
