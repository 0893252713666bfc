/**
 * A CRI `PodSandboxConfig` as the supervisor's sandbox config: what podvisor honours, what it keeps
 * and returns, and what it cannot do — refused (INVALID_ARGUMENT) or, where kubelet always sends it
 * and the pod can still run, kept as a warning in the sandbox's record and the log. docs/CRI.md has
 * the table; nothing is dropped silently.
 */
import type { SandboxConfig } from "../state/records.ts";
import { CriError } from "./cri-errors.ts";
import { stringMap, sub } from "./cri-message.ts";
import type { Message } from "./cri-message.ts";

export function sandboxConfigFromCri(request: Message, backend = "process"): SandboxConfig {
  const config = sub(request, "config");
  const metadata = sub(config, "metadata");
  if (typeof metadata.name !== "string" || metadata.name === "") throw new CriError("INVALID_ARGUMENT", "Cannot run pod sandbox: config.metadata.name is empty");
  if (request.runtime_handler !== "" && request.runtime_handler !== undefined) {
    throw new CriError("INVALID_ARGUMENT", `Cannot run pod sandbox: no runtime handler "${String(request.runtime_handler)}" (only the default, "")`);
  }
  const linux = sub(config, "linux");
  const security = sub(linux, "security_context");
  const namespaces = sub(security, "namespace_options");
  const warnings: string[] = [];
  const warn = (what: string) => warnings.push(what);
  const userns = sub(namespaces, "userns_options").mode as string | undefined;
  if (userns !== undefined && userns !== "NODE") throw new CriError("INVALID_ARGUMENT", `Cannot run pod sandbox: user namespace mode ${userns} is not supported (only NODE)`);
  const pid = namespaces.pid === undefined ? undefined : String(namespaces.pid);
  if (pid !== undefined && backend.includes("process") && pid !== "NODE") warn(`namespace_options.pid ${pid}: not applied (the process backend runs every process in the host's pid namespace)`);
  if (pid !== undefined && !backend.includes("process") && pid !== "CONTAINER") warn(`namespace_options.pid ${pid}: not applied (the ${backend} backend gives each container a pid namespace of its own)`);
  // The OCI bundle gives every container an IPC namespace of its own (src/runtime/oci/oci-bundle.ts): the host's is not joined.
  if (namespaces.ipc === "NODE" && !backend.includes("process")) warn(`namespace_options.ipc NODE: not applied (the ${backend} backend gives each container an IPC namespace of its own)`);
  const runAsUser = security.run_as_user?.value;
  if (runAsUser !== undefined && runAsUser !== 0) throw new CriError("INVALID_ARGUMENT", `Cannot run pod sandbox: run_as_user ${runAsUser} is not supported (processes run as root)`);
  if (security.run_as_group?.value !== undefined && security.run_as_group.value !== 0) throw new CriError("INVALID_ARGUMENT", "Cannot run pod sandbox: run_as_group is not supported (processes run as root)");
  if (security.privileged === true && !backend.includes("process")) warn(`security_context.privileged: not applied (the ${backend} backend confines every container alike)`);
  if ((security.supplemental_groups ?? []).length > 0) warn("security_context.supplemental_groups: not applied");
  if (security.readonly_rootfs === true) warn("security_context.readonly_rootfs: not applied");
  if (hasSelinux(security.selinux_options)) warn("security_context.selinux_options: not applied (no SELinux labelling)");
  if (security.seccomp !== null && security.seccomp !== undefined && security.seccomp.profile_type !== "Unconfined") warn("security_context.seccomp: not applied (no seccomp filter)");
  if (security.apparmor !== null && security.apparmor !== undefined && security.apparmor.profile_type !== "Unconfined") warn("security_context.apparmor: not applied");
  const sysctls = stringMap(linux.sysctls);
  if (Object.keys(sysctls).length > 0 && backend.includes("process")) warn("linux.sysctls: not applied (the process backend gives containers no namespaces of their own to set them in)");
  if (linux.overhead !== null && linux.overhead !== undefined) warn("linux.overhead: not applied");
  if (linux.resources !== null && linux.resources !== undefined) warn("linux.resources (pod level): not applied; each container's are");
  if ((config.hostname ?? "") !== "" && backend.includes("process")) warn("hostname: not applied (the process backend has no UTS namespace: the host's name)");
  const dns = config.dns_config === null || config.dns_config === undefined ? undefined : sub(config, "dns_config");
  if ((config.port_mappings ?? []).length > 0) warn("port_mappings: no port is forwarded");
  const logDirectory = (config.log_directory ?? "") === "" ? undefined : String(config.log_directory);
  if (logDirectory !== undefined && !logDirectory.startsWith("/")) throw new CriError("INVALID_ARGUMENT", "Cannot run pod sandbox: log_directory must be an absolute path");
  return {
    name: metadata.name,
    uid: String(metadata.uid ?? ""),
    namespace: String(metadata.namespace ?? ""),
    attempt: Number(metadata.attempt ?? 0),
    ...((config.hostname ?? "") === "" ? {} : { hostname: String(config.hostname) }),
    ...(logDirectory === undefined ? {} : { logDirectory }),
    ...(linux.cgroup_parent === "" || linux.cgroup_parent === undefined ? {} : { cgroupParent: String(linux.cgroup_parent) }),
    ...(Object.keys(sysctls).length === 0 || backend.includes("process") ? {} : { sysctls }),
    // Checked by the supervisor (src/api/dns-config-schema.ts); without one, the host's resolv.conf.
    ...(dns === undefined ? {} : { dnsConfig: { servers: [...(dns.servers ?? [])], searches: [...(dns.searches ?? [])], options: [...(dns.options ?? [])] } }),
    labels: stringMap(config.labels),
    annotations: stringMap(config.annotations),
    hostNetwork: namespaces.network === "NODE",
    hostIpc: namespaces.ipc === "NODE",
    ...(warnings.length === 0 ? {} : { warnings }),
  };
}

function hasSelinux(option: Message | null | undefined): boolean {
  return option !== null && option !== undefined && [option.user, option.role, option.type, option.level].some((part) => part !== "" && part !== undefined);
}
