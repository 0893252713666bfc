import type { Command } from "commander";
import { describeVersion } from "../../version.ts";
import { describeError } from "../cli-error.ts";
import { ApiClient } from "../client.ts";
import { clientCommand, outputOf, socketPathOf } from "../client-command.ts";
import { isStructured, printData } from "../output.ts";

/** What the daemon's `Version` answers. */
interface DaemonVersion {
  version: string;
  runtime: string;
  runtimeVersion: string;
  apiVersion: string;
  containerBackend?: string;
}

// Version must answer even when the daemon is wedged: it waits this long, then says so.
const daemonAnswerMs = 3_000;

/**
 * `podvisor version`: the client's version and runtime, and the daemon's when it answers. Exits 0
 * either way; an unreachable daemon is reported, not an error.
 */
export function addVersionCommand(program: Command): void {
  clientCommand(program, "version", "print the version of podvisor and of the runtime it runs on, and the daemon's")
    .action(async (_flags: unknown, command: Command) => {
      const client = describeVersion();
      const daemon = await askDaemonVersion(socketPathOf(command));
      const output = outputOf(command);
      if (isStructured(output)) {
        printData({ ...client, daemon: "error" in daemon ? null : daemon, ...("error" in daemon ? { daemonError: daemon.error } : {}) }, output);
        return;
      }
      console.log(`podvisor ${client.version} (${client.runtime} ${client.runtimeVersion})`);
      if ("error" in daemon) console.log(`daemon: not reachable: ${daemon.error}`);
      else console.log(`daemon: podvisor ${daemon.version} (${daemon.runtime} ${daemon.runtimeVersion}), API ${daemon.apiVersion}, container backend ${daemon.containerBackend ?? "unknown"}`);
    });
}

async function askDaemonVersion(socketPath: string): Promise<DaemonVersion | { error: string }> {
  const deadlineAt = Date.now() + daemonAnswerMs;
  try {
    const client = await ApiClient.connect(socketPath, { deadlineAt });
    try {
      return await client.call<DaemonVersion>("Version", undefined, { deadlineAt });
    } finally {
      client.close();
    }
  } catch (error) {
    return { error: describeError(error) };
  }
}
