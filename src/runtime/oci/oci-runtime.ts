/**
 * The OCI runtime's command line (runc, crun, or anything that speaks it): `start`, `kill`, `delete`,
 * `list` through the command runner, `exec` through execa, with the runtime's `--root`. "Not found" answers
 * (`container does not exist`, `no such process` …) are recognised, so callers can treat gone as done.
 */
import { execa } from "execa";
import { CodedError } from "../../errors/coded-error.ts";
import { runThroughRunner } from "../../host/command-runner.ts";

export interface OciRuntimeOptions {
  /** The runtime's binary. */
  path: string;
  /** Its state folder (`--root`): only podvisor's containers live there. */
  root: string;
}

/** One container as `list --format json` reports it. */
export interface OciListEntry {
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped" | string;
}

/** An answer of the runtime that says the container, or its process, is gone already. */
const notFoundPattern = /does not exist|not found|no such (process|file|container)|not exist|container not running|process already finished/i;

/** A runtime command failed; `notFound` says it failed because the container or its process is gone. */
export class OciRuntimeError extends CodedError {
  readonly notFound: boolean;
  readonly stderr: string;

  constructor(action: string, stderr: string, exitCode: number | undefined) {
    const why = stderr.trim().split("\n").filter((line) => line !== "").at(-1) ?? `exit code ${exitCode}`;
    const notFound = notFoundPattern.test(stderr);
    super(notFound ? "NOT_FOUND" : "RUNTIME_COMMAND_FAILED", `Cannot ${action}: ${why}`, { details: { stderr, exitCode } });
    this.name = "OciRuntimeError";
    this.notFound = notFound;
    this.stderr = stderr;
  }
}

export function isRuntimeNotFound(error: unknown): boolean {
  return error instanceof OciRuntimeError && error.notFound;
}

/**
 * @example
 * const runc = new OciRuntime({ path: "/usr/sbin/runc", root: "/var/lib/podvisor/oci/runtime" });
 * await runc.start("c1");
 */
export class OciRuntime {
  readonly path: string;
  readonly root: string;

  constructor(options: OciRuntimeOptions) {
    this.path = options.path;
    this.root = options.root;
  }

  /** What conmon passes to the runtime before each of its verbs. */
  get globalArgs(): string[] {
    return [`--root=${this.root}`];
  }

  start(id: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.#run(["start", id], `start container "${id}"`, options.signal);
  }

  kill(id: string, signal: NodeJS.Signals, options: { all?: boolean; signal?: AbortSignal } = {}): Promise<string> {
    const args = options.all === true ? ["kill", "--all", id, signal] : ["kill", id, signal];
    return this.#run(args, `send ${signal} to container "${id}"`, options.signal);
  }

  delete(id: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    return this.#run(["delete", "--force", id], `delete container "${id}"`, options.signal);
  }

  /** Every container of this runtime root, in one fork. */
  async list(options: { signal?: AbortSignal } = {}): Promise<OciListEntry[]> {
    const stdout = await this.#run(["list", "--format", "json"], "list containers", options.signal);
    const parsed = parseAnswer(stdout === "" ? "null" : stdout, "list containers");
    if (parsed === null) return [];
    if (!Array.isArray(parsed)) throw invalidAnswer("list containers", "not a list");
    return parsed.map((entry) => checkEntry(entry, "list containers"));
  }

  /** One container's state, in one fork: cheaper than {@link OciRuntime.list} when the root holds many. */
  async state(id: string, options: { signal?: AbortSignal } = {}): Promise<OciListEntry> {
    const action = `read the state of container "${id}"`;
    return checkEntry(parseAnswer(await this.#run(["state", id], action, options.signal), action), action);
  }

  /** {@link OciRuntime.state}, or undefined when the runtime no longer knows the container (gone is stopped). */
  stateIfKnown(id: string, options: { signal?: AbortSignal } = {}): Promise<OciListEntry | undefined> {
    return this.state(id, options).catch((error: unknown) => {
      if (isRuntimeNotFound(error)) return undefined;
      throw error;
    });
  }

  /** `exec` of a process spec file (`exec --process <file>`): the subprocess, its output buffered. */
  exec(id: string, processFile: string, options: { signal?: AbortSignal; pidFile?: string } = {}) {
    const pidFile = options.pidFile === undefined ? [] : ["--pid-file", options.pidFile];
    return execa(this.path, [...this.globalArgs, "exec", "--process", processFile, ...pidFile, id], {
      reject: false,
      stdin: "ignore",
      cancelSignal: options.signal,
      stripFinalNewline: false, // a container's output, as it wrote it
    });
  }

  /** Through the command runner (src/host/command-runner.ts): a fork of the daemon costs more the more it holds. */
  async #run(args: string[], action: string, signal: AbortSignal | undefined): Promise<string> {
    const result = await runThroughRunner(this.path, [...this.globalArgs, ...args], { signal });
    if (signal?.aborted === true) throw signal.reason ?? new CodedError("CANCELLED", `Cannot ${action}: cancelled`);
    if (result.spawnError !== undefined) throw new OciRuntimeError(action, result.spawnError, undefined);
    if (result.exitCode !== 0) throw new OciRuntimeError(action, result.stderr || `killed by ${result.signal}`, result.exitCode);
    return result.stdout.replace(/\n$/, "");
  }
}

function invalidAnswer(action: string, why: string): CodedError {
  return new CodedError("RUNTIME_COMMAND_FAILED", `Cannot ${action}: the runtime's answer is ${why}`);
}

function parseAnswer(text: string, action: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidAnswer(action, `not JSON: ${text.slice(0, 200)}`);
  }
}

/** A container as the runtime reported it: its id and status must be strings, its pid a number. */
function checkEntry(value: unknown, action: string): OciListEntry {
  const entry = value as Partial<OciListEntry> | null;
  if (typeof entry !== "object" || entry === null || typeof entry.id !== "string" || typeof entry.status !== "string" || typeof entry.pid !== "number") {
    throw invalidAnswer(action, `not a container's state: ${JSON.stringify(value)?.slice(0, 200)}`);
  }
  return { id: entry.id, pid: entry.pid, status: entry.status };
}
