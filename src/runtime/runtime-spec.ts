import { isAbsolute } from "node:path";
import type { ContainerSpec } from "./runtime-backend.ts";

/**
 * Throws a `TypeError` when a {@link ContainerSpec} has the wrong shape, a `RangeError` when a value
 * is out of range (a relative path, an empty command). The cgroup path is checked where it is used.
 *
 * @example
 * validateContainerSpec({ id: "c1", command: [], logPath: "/l", cgroupPath: "x" }); // RangeError
 */
export function validateContainerSpec(spec: ContainerSpec): void {
  if (typeof spec !== "object" || spec === null) throw new TypeError("Cannot use container spec: not an object");
  if (typeof spec.id !== "string" || spec.id === "") throw new TypeError("Cannot use container spec: id must be a non-empty string");
  const where = `container spec "${spec.id}"`;
  if (!Array.isArray(spec.command) || spec.command.some((arg) => typeof arg !== "string")) {
    throw new TypeError(`Cannot use ${where}: command must be an array of strings`);
  }
  if (spec.command.length === 0) throw new RangeError(`Cannot use ${where}: command is empty`);
  if (typeof spec.cgroupPath !== "string") throw new TypeError(`Cannot use ${where}: cgroupPath must be a string`);
  for (const key of ["logPath", "cwd", "netnsPath", "rootfsDir"] as const) {
    const value = spec[key];
    if (value === undefined && key !== "logPath") continue;
    if (typeof value !== "string") throw new TypeError(`Cannot use ${where}: ${key} must be a string`);
    if (!isAbsolute(value)) throw new RangeError(`Cannot use ${where}: ${key} "${value}" is not absolute`);
  }
  if (spec.env !== undefined) {
    for (const [name, value] of Object.entries(spec.env)) {
      if (typeof value !== "string") throw new TypeError(`Cannot use ${where}: env ${name} must be a string`);
      if (name === "" || name.includes("=") || name.includes("\0") || value.includes("\0")) {
        throw new RangeError(`Cannot use ${where}: env name "${name}" is not valid`);
      }
    }
  }
}
