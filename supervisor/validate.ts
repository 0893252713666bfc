/**
 * The supervisor's check of a sandbox or container config: the API's own schemas
 * (`src/api/schemas.ts`), so a config is judged the same whether it came through the socket, the
 * CRI endpoint or a direct call. A mismatch is a TypeError (INVALID_ARGUMENT at the API).
 */
import type { z } from "zod";
import { containerConfig, sandboxConfig } from "../src/api/schemas.ts";
import type { ContainerConfig, SandboxConfig } from "../src/state/records.ts";

/** Throws a TypeError for a sandbox config the API would refuse; returns it with its defaults. */
export function normalizeSandboxConfig(config: unknown): Required<Pick<SandboxConfig, "name" | "labels" | "annotations" | "hostNetwork" | "hostIpc">> & SandboxConfig {
  const value = parse(sandboxConfig, config, "pod sandbox");
  return { ...value, labels: value.labels ?? {}, annotations: value.annotations ?? {}, hostNetwork: value.hostNetwork ?? false, hostIpc: value.hostIpc ?? false };
}

/** Throws a TypeError for a container config the API would refuse; returns it with its defaults. */
export function normalizeContainerConfig(config: unknown): ContainerConfig & { env: Record<string, string>; stopSignal: string } {
  const value = parse(containerConfig, config, "container");
  return { ...value, env: value.env ?? {}, stopSignal: value.stopSignal ?? "SIGTERM" };
}

function parse<S extends z.ZodType>(schema: S, config: unknown, what: string): z.output<S> {
  const result = schema.safeParse(config);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.join(".");
  throw new TypeError(`Cannot create ${what}: ${path === "" ? "" : `${path}: `}${issue.message}`, { cause: result.error });
}
