/**
 * A CRI `ContainerConfig` as the supervisor's container config. Honoured: metadata, command + args,
 * working_dir, envs, labels, annotations, log_path, linux.resources (cpu and memory, written into
 * its cgroup), image (a stored image, or a root file system directory as an absolute path).
 * Bind mounts are checked and made by `bind-mounts.ts`. Refused (INVALID_ARGUMENT or
 * UNIMPLEMENTED): what would change what runs and cannot be done (another user, devices, a tty). Kept as warnings: isolation options podvisor's container
 * spec has no field for (capabilities, seccomp, AppArmor, SELinux …). docs/CRI.md has the table.
 */
import { isAbsolute, join, normalize } from "node:path";
import type { ContainerConfig, ContainerResources, SandboxRecord } from "../state/records.ts";
import { CriError } from "./cri-errors.ts";
import { stringMap, sub } from "./cri-message.ts";
import type { Message } from "./cri-message.ts";

export function containerConfigFromCri(config: Message, sandbox: Pick<SandboxRecord, "logDirectory" | "hostNetwork" | "hostIpc">, backend = "process"): ContainerConfig {
  const metadata = sub(config, "metadata");
  if (typeof metadata.name !== "string" || metadata.name === "") throw new CriError("INVALID_ARGUMENT", "Cannot create container: config.metadata.name is empty");
  const image = String(sub(config, "image").image ?? "");
  if (image === "") throw new CriError("INVALID_ARGUMENT", "Cannot create container: config.image.image is empty");
  // The supervisor applies the image by CRI's rules (supervisor/container-image.ts): `command`
  // replaces its entrypoint, `args` its cmd; an absolute path is a root file system directory.
  const command = (config.command ?? []) as string[];
  const args = (config.args ?? []) as string[];
  if ((config.devices ?? []).length > 0 || (config.CDI_devices ?? []).length > 0) throw new CriError("UNIMPLEMENTED", "Cannot create container: devices are not implemented yet");
  if (config.tty === true || config.stdin === true) throw new CriError("UNIMPLEMENTED", "Cannot create container: stdin and tty need streaming, which is not implemented yet");
  const env: Record<string, string> = {};
  for (const entry of config.envs ?? []) {
    const value = Buffer.isBuffer(entry.value) ? entry.value.toString("utf8") : String(entry.value ?? "");
    env[String(entry.key)] = value;
  }
  const workingDir = String(config.working_dir ?? "");
  const linux = sub(config, "linux");
  const warnings = securityWarnings(sub(linux, "security_context"), sandbox, backend);
  const { resources, ignored } = resourcesFromCri(linux.resources);
  warnings.push(...ignored);
  return {
    name: metadata.name,
    ...(command.length === 0 ? {} : { command }),
    ...(args.length === 0 ? {} : { args }),
    env,
    ...(workingDir === "" ? {} : { cwd: workingDir }),
    image,
    attempt: Number(metadata.attempt ?? 0),
    labels: stringMap(config.labels),
    annotations: stringMap(config.annotations),
    ...logPath(String(config.log_path ?? ""), sandbox.logDirectory),
    ...(resources === undefined ? {} : { resources }),
    ...(warnings.length === 0 ? {} : { warnings }),
  };
}

/** Where the CRI log goes: `log_path` relative to the sandbox's log directory, never above it. */
function logPath(path: string, logDirectory: string | undefined): { criLogPath?: string } {
  if (path === "") return {};
  if (logDirectory === undefined) throw new CriError("INVALID_ARGUMENT", "Cannot create container: log_path needs the pod sandbox's log_directory");
  if (isAbsolute(path) || normalize(path).startsWith("..")) throw new CriError("INVALID_ARGUMENT", `Cannot create container: log_path "${path}" must be relative to the log directory, inside it`);
  return { criLogPath: join(logDirectory, path) };
}

/** CRI's LinuxContainerResources as the cgroup limits podvisor writes; what it does not write, said. */
export function resourcesFromCri(value: Message | null | undefined): { resources?: ContainerResources; ignored: string[] } {
  if (value === null || value === undefined) return { ignored: [] };
  const ignored: string[] = [];
  const resources: ContainerResources = {};
  for (const [field, key] of [["cpu_period", "cpuPeriod"], ["cpu_quota", "cpuQuota"], ["cpu_shares", "cpuShares"], ["memory_limit_in_bytes", "memoryLimitInBytes"]] as const) {
    const number = Number(value[field] ?? 0);
    if (!Number.isSafeInteger(number) || number < 0) throw new CriError("INVALID_ARGUMENT", `Cannot use linux.resources: ${field} must be a non-negative whole number`);
    if (number > 0) resources[key] = number;
  }
  if (Number(value.oom_score_adj ?? 0) !== 0) ignored.push("linux.resources.oom_score_adj: not applied");
  if ((value.cpuset_cpus ?? "") !== "" || (value.cpuset_mems ?? "") !== "") ignored.push("linux.resources.cpuset_cpus/cpuset_mems: not applied");
  if ((value.hugepage_limits ?? []).length > 0) ignored.push("linux.resources.hugepage_limits: not applied");
  if (Object.keys(stringMap(value.unified)).length > 0) ignored.push("linux.resources.unified: not applied");
  if (Number(value.memory_swap_limit_in_bytes ?? 0) !== 0) ignored.push("linux.resources.memory_swap_limit_in_bytes: not applied");
  return { resources, ignored };
}

/** Each security option podvisor's container spec has no field for: said, with what the container gets instead. */
function securityWarnings(security: Message, sandbox: Pick<SandboxRecord, "hostNetwork" | "hostIpc">, backend: string): string[] {
  const warnings: string[] = [];
  const runAsUser = security.run_as_user?.value;
  if (runAsUser !== undefined && Number(runAsUser) !== 0) throw new CriError("INVALID_ARGUMENT", `Cannot create container: run_as_user ${runAsUser} is not supported (processes run as root)`);
  if (security.run_as_group?.value !== undefined && Number(security.run_as_group.value) !== 0) throw new CriError("INVALID_ARGUMENT", "Cannot create container: run_as_group is not supported (processes run as root)");
  if ((security.run_as_username ?? "") !== "" && security.run_as_username !== "root") throw new CriError("INVALID_ARGUMENT", `Cannot create container: run_as_username "${security.run_as_username}" is not supported (processes run as root)`);
  const namespaces = sub(security, "namespace_options");
  const network = namespaces.network ?? "POD";
  if (network === "NODE" && !sandbox.hostNetwork) throw new CriError("INVALID_ARGUMENT", "Cannot create container: namespace_options.network NODE, but its pod has a network namespace of its own");
  if (network === "CONTAINER" || network === "TARGET") throw new CriError("INVALID_ARGUMENT", `Cannot create container: namespace_options.network ${network} is not supported (the pod's only)`);
  if (namespaces.ipc === "CONTAINER" || namespaces.ipc === "TARGET") throw new CriError("INVALID_ARGUMENT", `Cannot create container: namespace_options.ipc ${namespaces.ipc} is not supported (the pod's only)`);
  const pid = namespaces.pid === undefined ? undefined : String(namespaces.pid);
  if (pid !== undefined && pid !== (backend.includes("process") ? "NODE" : "CONTAINER")) warnings.push(`namespace_options.pid ${pid}: not applied (the ${backend} backend's pid namespace)`);
  const caps = sub(security, "capabilities");
  if ([caps.add_capabilities, caps.drop_capabilities, caps.add_ambient_capabilities].some((list) => (list ?? []).length > 0)) warnings.push(`capabilities: not applied (the ${backend} backend's defaults)`);
  if (security.privileged !== true && backend.includes("process")) warnings.push("privileged false: the process backend cannot confine the container (it runs as root with the daemon's capabilities)");
  if (security.privileged === true && !backend.includes("process")) warnings.push(`privileged: not applied (the ${backend} backend confines every container alike: its default capabilities, masked and read-only paths, no devices)`);
  if (security.readonly_rootfs === true) warnings.push("readonly_rootfs: not applied");
  // The OCI backends set noNewPrivileges on every container (src/runtime/oci/oci-bundle.ts): true is what they do.
  if (security.no_new_privs === true && backend.includes("process")) warnings.push("no_new_privs: not applied");
  if ((security.masked_paths ?? []).length > 0 || (security.readonly_paths ?? []).length > 0) warnings.push("masked_paths/readonly_paths: not applied");
  if ((security.supplemental_groups ?? []).length > 0) warnings.push("supplemental_groups: not applied");
  const selinux = security.selinux_options;
  if (selinux !== null && selinux !== undefined && [selinux.user, selinux.role, selinux.type, selinux.level].some((part) => (part ?? "") !== "")) warnings.push("selinux_options: not applied");
  if (security.seccomp !== null && security.seccomp !== undefined && security.seccomp.profile_type !== "Unconfined") warnings.push(`seccomp: not applied (the ${backend} backend's defaults)`);
  if ((security.seccomp_profile_path ?? "") !== "" && security.seccomp_profile_path !== "unconfined") warnings.push(`seccomp_profile_path: not applied (the ${backend} backend's defaults)`);
  if ((security.apparmor !== null && security.apparmor !== undefined && security.apparmor.profile_type !== "Unconfined") || ((security.apparmor_profile ?? "") !== "" && security.apparmor_profile !== "unconfined")) warnings.push(`apparmor: not applied (the ${backend} backend's defaults)`);
  return warnings;
}
