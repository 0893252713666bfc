/**
 * An exec in a running OCI container (CRI `ExecSync`): `<runtime> exec --process <spec>` with a
 * process spec written from the container's own (its env, no terminal), its output collected. A
 * timeout kills the runtime's exec AND the process it started inside (found through `--pid-file`):
 * killing only the runtime would leave that process running in the container.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { nanoid } from "nanoid";
import type { ContainerSpec, ExecOptions, ExecResult } from "../runtime-backend.ts";
import type { OciRuntime } from "./oci-runtime.ts";

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const capabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export async function runOciExec(runtime: OciRuntime, spec: ContainerSpec, execDir: string, command: string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (!Array.isArray(command) || command.length === 0 || command.some((arg) => typeof arg !== "string")) {
    throw new TypeError(`Cannot exec in container "${spec.id}": command must be a non-empty array of strings`);
  }
  await mkdir(execDir, { recursive: true, mode: 0o700 });
  const name = nanoid(10);
  const processFile = join(execDir, `${name}.json`);
  const pidFile = join(execDir, `${name}.pid`);
  const env = { PATH: defaultPath, ...spec.env };
  await writeFile(processFile, JSON.stringify({
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: command,
    env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    cwd: spec.cwd ?? "/",
    capabilities: Object.fromEntries(["bounding", "effective", "permitted", "ambient"].map((set) => [set, capabilities])),
    noNewPrivileges: true,
  }));
  const subprocess = runtime.exec(spec.id, processFile, { pidFile, signal: options.signal });
  let timedOut = false;
  // The command inside first (found through the pid file), then the runtime's exec that waits for it.
  const kill = (): void => void killExecProcess(pidFile).finally(() => subprocess.kill("SIGKILL"));
  const timer = options.timeoutMs === undefined || options.timeoutMs <= 0 ? undefined : setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs);
  options.signal?.addEventListener("abort", kill, { once: true });
  try {
    const result = await subprocess;
    return {
      stdout: String(result.stdout ?? ""),
      stderr: String(result.stderr ?? ""),
      exitCode: result.exitCode ?? 137,
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", kill);
    await rm(processFile, { force: true });
    await rm(pidFile, { force: true });
  }
}

async function killExecProcess(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
}
