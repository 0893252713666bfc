import { constants } from "node:os";
import { z } from "zod";
import { dnsConfig } from "./dns-config-schema.ts";

/** Shared pieces of the request schemas. Every object is strict: an unknown field is an error. */
export const id = z.string().min(1, "must not be empty").max(64).regex(/^[0-9a-z]+$/, "is not a well-formed id");

/**
 * A map of strings. zod's record skips a `__proto__` key without checking its value (so garbage
 * there passed, and was dropped); here such a key is an error like any other bad key.
 */
const record = <K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V) =>
  z.unknown()
    .refine((input) => typeof input !== "object" || input === null || !Object.hasOwn(input, "__proto__"), "must not have a __proto__ key")
    .pipe(z.record(key, value));
const labels = record(z.string().max(253), z.string().max(4_096));

/** The longest a stop may be given: a day, whether as `timeoutMs` or as a `deadlineAt` from now. */
const maxTimeoutMs = 86_400_000;

/** A stop's budget. A later deadline would overflow the runtime's timers (into an immediate kill). */
export const timeout = {
  timeoutMs: z.number().int().min(0).max(maxTimeoutMs).optional(),
  deadlineAt: z.number().int().positive()
    .refine((at) => at <= Date.now() + maxTimeoutMs, "must be at most a day from now")
    .optional(),
};

/** Text that reaches argv, the environment or a path: a NUL byte would be cut there (or refused at start). */
const noNul = (max: number) => z.string().max(max).regex(/^[^\0]*$/, "must not contain a NUL byte");
const absolutePath = noNul(4_096).startsWith("/");

/** CRI metadata's `attempt`: a uint32. */
const attempt = z.number().int().min(0).max(0xffff_ffff);

/** A sandbox's or container's name: printable on one line. */
const name = z.string().max(253).refine((value) => value.trim() !== "", "must be a non-empty string").regex(/^[^\0\n]*$/, "must not contain a NUL byte or a newline");

export const noParams = z.union([z.undefined(), z.object({}).strict(), z.array(z.never()).max(0)]);

export const sandboxConfig = z.object({
  name,
  labels: labels.optional(),
  annotations: labels.optional(),
  hostNetwork: z.boolean().optional(),
  hostIpc: z.boolean().optional(),
  // What a Kubernetes client (the CRI endpoint) sends with a pod: kept and returned as given.
  uid: noNul(253).optional(),
  namespace: noNul(253).optional(),
  attempt: attempt.optional(),
  hostname: noNul(253).optional(),
  logDirectory: absolutePath.optional(),
  cgroupParent: noNul(4_096).optional(),
  sysctls: record(z.string().max(253).regex(/^[a-z0-9_.\/-]+$/, "is not a sysctl name"), noNul(4_096)).optional(),
  // The pod's /etc/resolv.conf (CRI `dns_config`); without it, a copy of the host's.
  dnsConfig: dnsConfig.optional(),
  warnings: z.array(z.string().max(4_096)).max(64).optional(),
}).strict();

export const containerConfig = z.object({
  name,
  // Without an image, a command is needed (the supervisor says so); with one, CRI's rules apply:
  // `command` replaces the image's entrypoint, `args` its cmd (supervisor/container-image.ts).
  command: z.array(noNul(131_072)).min(1).max(4_096).optional(),
  args: z.array(noNul(131_072)).max(4_096).optional(),
  env: record(noNul(4_096).min(1).regex(/^[^=]*$/, "must not contain ="), noNul(131_072)).optional(),
  cwd: absolutePath.optional(),
  stopSignal: z.string().refine((name) => /^SIG[A-Z0-9]+$/.test(name) && name in constants.signals, "is not a signal name").optional(),
  rootfs: absolutePath.optional(),
  // Run the command under catatonit as PID 1 (`podman --init`), on the OCI backends (runc, crun).
  init: z.boolean().optional(),
  // What a Kubernetes client (the CRI endpoint) sends with a container: kept and returned as given.
  labels: labels.optional(),
  annotations: labels.optional(),
  attempt: attempt.optional(),
  image: noNul(4_096).optional(),
  criLogPath: absolutePath.optional(),
  resources: z.object({
    cpuPeriod: z.number().int().min(0).optional(),
    cpuQuota: z.number().int().min(0).optional(),
    cpuShares: z.number().int().min(0).optional(),
    memoryLimitInBytes: z.number().int().min(0).optional(),
  }).strict().optional(),
  mounts: z.array(z.object({ containerPath: absolutePath, hostPath: absolutePath, readonly: z.boolean() }).strict()).max(256).optional(),
  warnings: z.array(z.string().max(4_096)).max(64).optional(),
}).strict();

export const runPodSandbox = z.object({ config: sandboxConfig }).strict();
export const podSandboxTarget = z.object({ podSandboxId: id }).strict();
export const stopPodSandbox = z.object({ podSandboxId: id, ...timeout }).strict();
/** What the lists filter by besides state (src/api/status-filter.ts): a whole id or a prefix of one, and labels. */
const listFilter = { id: z.string().max(64).regex(/^[0-9a-z]*$/, "is not a well-formed id").optional(), labelSelector: labels.optional() };
export const listPodSandbox = z.object({ filter: z.object({ state: z.enum(["ready", "stopped"]).optional(), ...listFilter }).strict().optional() }).strict().optional();
export const createContainer = z.object({ podSandboxId: id, config: containerConfig }).strict();
export const containerTarget = z.object({ containerId: id }).strict();
export const stopContainer = z.object({ containerId: id, ...timeout }).strict();
export const listContainers = z.object({
  filter: z.object({ podSandboxId: id.optional(), state: z.enum(["created", "running", "exited"]).optional(), ...listFilter }).strict().optional(),
}).strict().optional();
