import { constants } from "node:os";
import type { ContainerConfig, SandboxConfig } from "../src/state/records.ts";

const maxNameLength = 253;
const maxCommandArgs = 4_096;

/** Throws a TypeError or RangeError for a sandbox config of the wrong shape; returns it cleaned. */
export function normalizeSandboxConfig(config: unknown): Required<SandboxConfig> {
  const value = object(config, "pod sandbox config");
  return {
    name: name(value.name, "pod sandbox"),
    labels: stringMap(value.labels, "labels"),
    annotations: stringMap(value.annotations, "annotations"),
    hostNetwork: flag(value.hostNetwork, "hostNetwork"),
    hostIpc: flag(value.hostIpc, "hostIpc"),
  };
}

/** Throws a TypeError or RangeError for a container config of the wrong shape; returns it cleaned. */
export function normalizeContainerConfig(config: unknown): ContainerConfig & { env: Record<string, string>; stopSignal: string } {
  const value = object(config, "container config");
  const command = value.command;
  if (!Array.isArray(command) || command.some((arg) => typeof arg !== "string")) {
    throw new TypeError("Cannot create container: command must be an array of strings");
  }
  if (command.length === 0 || command.length > maxCommandArgs) throw new RangeError("Cannot create container: command must have 1 to 4096 arguments");
  const stopSignal = value.stopSignal ?? "SIGTERM";
  if (typeof stopSignal !== "string" || !(stopSignal in constants.signals)) {
    throw new RangeError(`Cannot create container: stopSignal "${String(stopSignal)}" is not a signal name`);
  }
  for (const key of ["cwd", "rootfs"] as const) {
    if (value[key] !== undefined && (typeof value[key] !== "string" || !(value[key] as string).startsWith("/"))) {
      throw new TypeError(`Cannot create container: ${key} must be an absolute path`);
    }
  }
  return {
    name: name(value.name, "container"),
    command: command as string[],
    env: stringMap(value.env, "env"),
    cwd: value.cwd as string | undefined,
    stopSignal,
    rootfs: value.rootfs as string | undefined,
  };
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError(`Cannot use ${what}: not an object`);
  return value as Record<string, unknown>;
}

function name(value: unknown, what: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new TypeError(`Cannot create ${what}: name must be a non-empty string`);
  if (value.length > maxNameLength || /[\0\n]/.test(value)) throw new RangeError(`Cannot create ${what}: name is too long or has control characters`);
  return value;
}

function flag(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new TypeError(`Cannot use ${what}: must be true or false`);
  return value;
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  const map = object(value, what);
  for (const [key, entry] of Object.entries(map)) {
    if (typeof entry !== "string") throw new TypeError(`Cannot use ${what}: "${key}" must map to a string`);
  }
  return { ...(map as Record<string, string>) };
}
