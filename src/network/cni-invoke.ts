/**
 * Running one CNI plugin, as the CNI protocol has it: the command and the container in the
 * environment (`CNI_COMMAND`, `CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS`, `CNI_PATH`),
 * the network configuration on stdin, the result (or an error `{code, msg, details}`) on stdout.
 * Bounded by a deadline: a plugin still running then is killed with its whole process group (a
 * bridge plugin runs host-local as its child, and a host-local left behind would hold its lock).
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { join } from "node:path";
import { runThroughRunner } from "../host/command-runner.ts";
import { CodedError, DeadlineExceededError } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import { cniErrorSchema, cniResultSchema, pluginTypePattern } from "./cni-types.ts";
import type { CniCommand, CniResult } from "./cni-types.ts";

const log = getLogger("network:cni");

/** One call of a plugin. */
export interface PluginInvocation {
  command: CniCommand;
  /** CNI_CONTAINERID: podvisor passes the sandbox's netns name (`pv-<tag>-<id>`), which says whose it is. */
  containerId: string;
  /** CNI_NETNS: the namespace file; may name a namespace already gone (DEL). */
  netns: string;
  ifName: string;
  /** CNI_ARGS: `K=V;K=V`. */
  args?: string;
  /** What goes on stdin: the plugin's own configuration with the network's `name`, `cniVersion`, and `prevResult`. */
  config: Record<string, unknown>;
}

export interface InvokeOptions {
  /** Where plugins are looked for, in order (CNI_PATH). */
  binDirs: readonly string[];
  /** Absolute time (epoch ms) by which the plugin must have finished; it is killed then. */
  deadlineAt: number;
  signal?: AbortSignal;
}

/** A plugin that ran and failed: its own message, code and details. */
export class CniPluginError extends CodedError {
  constructor(message: string, details: Record<string, unknown>) {
    super("CNI_PLUGIN_FAILED", message, { details });
    this.name = "CniPluginError";
  }
}

/**
 * Runs plugin `type` and resolves with its result (ADD: validated; DEL and CHECK: undefined).
 * Rejects with a {@link CniPluginError} carrying the plugin's own message, a
 * {@link DeadlineExceededError} when the deadline passed (the plugin killed), or the signal's reason.
 *
 * @example
 * const result = await invokePlugin("bridge", { command: "ADD", containerId, netns, ifName: "eth0", config }, { binDirs: ["/usr/lib/cni"], deadlineAt: Date.now() + 10_000 });
 */
export async function invokePlugin(type: string, invocation: PluginInvocation, options: InvokeOptions): Promise<CniResult | undefined> {
  const action = `${invocation.command} network ${String(invocation.config.name)} for ${invocation.containerId}`;
  const file = await findPlugin(type, options.binDirs, action);
  options.signal?.throwIfAborted();
  const remainingMs = options.deadlineAt - Date.now();
  if (remainingMs <= 0) throw new DeadlineExceededError(`Cannot ${action}: the deadline passed before plugin ${type} could run`);
  const startedAt = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DeadlineExceededError(`Cannot ${action}: plugin ${type} did not finish within ${remainingMs} ms (killed)`)), remainingMs);
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // Through the command runner: forked from a small process, not from the daemon, whose fork costs
    // grow with its memory (a plugin per sandbox at setup and at stop). A kill there reaches the
    // plugin's whole process group (host-local under bridge).
    const outcome = await runThroughRunner(file, [], {
      input: JSON.stringify(invocation.config),
      env: {
        CNI_COMMAND: invocation.command,
        CNI_CONTAINERID: invocation.containerId,
        CNI_NETNS: invocation.netns,
        CNI_IFNAME: invocation.ifName,
        CNI_ARGS: invocation.args ?? "",
        CNI_PATH: options.binDirs.join(":"),
        PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      },
      signal: controller.signal,
    }).catch((error: unknown) => {
      throw controller.signal.aborted ? controller.signal.reason : error;
    });
    if (controller.signal.aborted) throw controller.signal.reason;
    const { stdout, stderr, exitCode, signal } = outcome;
    log.debug("Ran CNI plugin", { plugin: type, command: invocation.command, containerId: invocation.containerId, exitCode, durationMs: Math.round(performance.now() - startedAt) });
    if (outcome.spawnError !== undefined || exitCode !== 0) {
      const shortMessage = outcome.spawnError ?? (signal === undefined ? `exit code ${exitCode}` : `killed by ${signal}`);
      throw pluginFailed(type, invocation, action, { stdout, stderr, exitCode, signal, shortMessage });
    }
    if (invocation.command !== "ADD") return undefined;
    return parseResult(type, action, stdout);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** The plugin's binary: the first `<dir>/<type>` that is an executable file. */
async function findPlugin(type: string, binDirs: readonly string[], action: string): Promise<string> {
  if (!pluginTypePattern.test(type)) throw new TypeError(`Cannot ${action}: plugin type ${JSON.stringify(type)} is not a binary's name`);
  for (const dir of binDirs) {
    const file = join(dir, type);
    try {
      if ((await stat(file)).isFile()) {
        await access(file, constants.X_OK);
        return file;
      }
    } catch {
      // Not here: the next dir.
    }
  }
  throw new CodedError("FAILED_PRECONDITION", `Cannot ${action}: no executable plugin "${type}" in ${binDirs.join(":") || "(no bin dir)"}`, {
    details: { plugin: type, binDirs },
  });
}

interface Failure {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  signal: string | undefined;
  shortMessage: string;
}

/** The plugin's own error (`{code, msg, details}` on stdout), or what its exit and stderr say. */
function pluginFailed(type: string, invocation: PluginInvocation, action: string, failure: Failure): CniPluginError {
  const details: Record<string, unknown> = { plugin: type, command: invocation.command, exitCode: failure.exitCode, signal: failure.signal };
  const stderrTail = failure.stderr.split("\n").filter((line) => line.trim() !== "").slice(-5).join("\n");
  if (stderrTail !== "") details.stderr = stderrTail;
  let parsed: ReturnType<typeof cniErrorSchema.safeParse> | undefined;
  try {
    parsed = cniErrorSchema.safeParse(JSON.parse(failure.stdout));
  } catch {
    parsed = undefined;
  }
  if (parsed?.success) {
    details.cniCode = parsed.data.code;
    const more = parsed.data.details === undefined || parsed.data.details === "" ? "" : ` (${parsed.data.details})`;
    return new CniPluginError(`Cannot ${action}: plugin ${type} failed: ${parsed.data.msg}${more}`, details);
  }
  const why = stderrTail.split("\n").at(-1) || failure.stdout.trim().split("\n").at(-1) || failure.shortMessage;
  return new CniPluginError(`Cannot ${action}: plugin ${type} failed without a CNI error: ${why}`, details);
}

function parseResult(type: string, action: string, stdout: string): CniResult {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new CniPluginError(`Cannot ${action}: plugin ${type} succeeded but its output is not JSON: ${JSON.stringify(stdout.slice(0, 200))}`, { plugin: type });
  }
  const parsed = cniResultSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CniPluginError(`Cannot ${action}: plugin ${type} gave an invalid result: ${issue?.path.map(String).join(".")}: ${issue?.message}`, { plugin: type });
  }
  return parsed.data;
}
