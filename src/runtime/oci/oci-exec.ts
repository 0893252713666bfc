/**
 * An exec in a running OCI container (CRI `ExecSync`): `<runtime> exec --process <spec>` with a
 * process spec written from the container's own (its env, no terminal), its output collected. A
 * timeout kills the process the runtime started inside (found through `--pid-file`), then the runtime's
 * exec if it has not ended by itself: killing only the runtime would leave that process running.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { nanoid } from "nanoid";
import type { ContainerSpec, ExecOptions, ExecResult } from "../runtime-backend.ts";
import type { OciRuntime } from "./oci-runtime.ts";

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const capabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];
/** How long the runtime's exec gets to reap the command killed inside, before it is killed too. */
const runtimeReapMs = 1_000;

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
  // The command inside first (found through the pid file); the runtime's exec then reaps it and ends.
  // Killed at once too, the runtime left the command a zombie (re-parented out of the container's
  // view until the host's init reaped it, ~1 s here: critest's "execSync with timeout" saw it in
  // `pgrep`), so it gets a moment to do so, and is killed only if it does not.
  const kill = (): void => void killExecProcess(pidFile).finally(async () => {
    const ended = await Promise.race([subprocess.then(() => true, () => true), new Promise<boolean>((resolve) => setTimeout(resolve, runtimeReapMs, false))]);
    if (!ended) subprocess.kill("SIGKILL");
  });
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
