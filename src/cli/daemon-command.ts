import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { Option } from "commander";
import type { Command } from "commander";
import { execa } from "execa";
import { configureLogging, getLogger, logFormats, logLevels } from "../log/logger.ts";
import { commandOfThisProcess } from "../platform/runtime.ts";
import { LaggingBackend } from "../runtime/lagging-backend.ts";
import { OciBackend } from "../runtime/oci/oci-backend.ts";
import { ProcessBackend } from "../runtime/process-backend.ts";
import type { RuntimeBackend } from "../runtime/runtime-backend.ts";
import type { LogFormat, LogLevel } from "../log/logger.ts";
import { defaultSocketPath } from "./socket-path.ts";
import { defaultCniBinDirs, defaultCniConfDir } from "../network/network-describe.ts";
import { registryMirrors } from "../image/registry-mirrors.ts";

/** EX_TEMPFAIL: "try again" — the status a service manager sees when the daemon wants a restart. */
const exitForRestart = 75;

interface DaemonFlags {
  onUnrecoverableWorker: "restart" | "exit";
  root: string;
  socket: string;
  socketGroup?: string;
  criSocket?: string;
  workers?: string;
  stopTimeout: string;
  liveRestore?: boolean;
  logLevel: LogLevel;
  logFormat?: LogFormat;
  metricsAddress?: string;
  maxConnections: string;
  clientIdleTimeout: string;
  stopStrategy: string;
  backend: string;
  backendLagMs: string;
  runtimePath?: string;
  conmonPath?: string;
  leakCheckInterval: string;
  cniConfDir: string;
  cniBinDir?: string[];
  insecureRegistry?: string[];
  registryMirror?: string[];
}

/** The state root: `/var/lib/podvisor` as root, the XDG data directory otherwise. */
export function defaultRoot(): string {
  if (process.getuid?.() === 0) return "/var/lib/podvisor";
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "podvisor");
}

export function addDaemonCommand(program: Command): void {
  program
    .command("daemon")
    .description("run the daemon: restore every sandbox under --root, serve the API, stop every sandbox on SIGTERM/SIGINT")
    .option("--root <dir>", "state root; everything the daemon creates lives under it", defaultRoot())
    .option("--socket <path>", "the API's unix socket", defaultSocketPath())
    .option("--cri-socket <path>", "the CRI v1 gRPC endpoint's unix socket (docs/CRI.md); \"\" turns it off; not served on Deno (default: cri.sock beside --socket, /run/podvisor/cri.sock as root)")
    .option("--socket-group <group>", "a group (name or gid) that may use the socket too (mode 0660)")
    .option("--workers <n>", "worker threads (default: available cores)")
    .option("--stop-timeout <seconds>", "time budget of the stop-all at shutdown", "10")
    .option("--live-restore", "on SIGTERM/SIGINT leave workloads running")
    .option("--log-level <level>", `one of ${logLevels.join(", ")}`, process.env.PODVISOR_LOG_LEVEL ?? "info")
    .addOption(new Option("--log-format <format>", "json, pretty, or journal (pretty with syslog <N> level prefixes); every thread writes it (default: journal when stderr is the journal, pretty on a terminal, json otherwise)").choices(logFormats))
    .option("--metrics-address <host:port>", "also serve Prometheus metrics over HTTP, e.g. 127.0.0.1:9090")
    .option("--stop-strategy <strategy>", "parallel, or sequential (the reference's way: one sandbox, one container at a time; a baseline for benchmarks)", "parallel")
    .option("--backend <name>", "container runtime: process (host processes in cgroups), runc or crun (real OCI containers through conmon; a rootfs is required), or lagging (reports stops late, like a VM runtime; a deliberate fake for tests and benchmarks)", "process")
    .option("--runtime-path <path>", "with --backend runc or crun: the runtime's binary (default: found in PATH)")
    .option("--conmon-path <path>", "with --backend runc or crun: conmon's binary (default: found in PATH)")
    .option("--backend-lag-ms <ms>", "with --backend lagging: how late it reports a container stopped", "300")
    .option("--max-connections <n>", "API connections served at once", "512")
    .option("--client-idle-timeout <seconds>", "close an API connection that sends nothing for this long", "60")
    .option("--cni-conf-dir <dir>", "CNI network configurations: the first .conflist/.conf/.json in lexical order is the pod network; none: network \"none\"", defaultCniConfDir)
    .option("--cni-bin-dir <dirs>", `where the CNI plugins are: a colon-separated list, or the flag repeated (default: ${defaultCniBinDirs.join(":")})`, (value: string, previous: string[] | undefined) => [...(previous ?? []), ...value.split(":").filter(Boolean)])
    .option("--insecure-registry <host[:port]>", "pull from this registry over plain HTTP (repeatable); loopback registries always may", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option("--registry-mirror <registry=url>", "pull REGISTRY's images from this mirror first, then from the registry itself (repeatable, tried in order); the image keeps its name, e.g. registry.k8s.io=http://127.0.0.1:5000 (docs/IMAGES.md)", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option("--leak-check-interval <seconds>", "check the host for leaks (what no record owns) and remove them this often; 0: only at start", "60")
    .addOption(new Option("--on-unrecoverable-worker <action>", "when a hung worker thread cannot be stopped (Deno): after the stops in flight, leave workloads running and restart this daemon in a new process, or exit 75 for a service manager to restart it").choices(["restart", "exit"]).default("restart"))
    .action(async (flags: DaemonFlags) => {
      configureLogging({ level: flags.logLevel, format: flags.logFormat });
      const workers = flags.workers === undefined ? undefined : wholeNumber(flags.workers, "--workers");
      const stopTimeoutMs = wholeNumber(flags.stopTimeout, "--stop-timeout") * 1_000;
      if (flags.stopStrategy !== "parallel" && flags.stopStrategy !== "sequential") {
        throw new RangeError(`Cannot start the daemon: --stop-strategy must be parallel or sequential, got "${flags.stopStrategy}"`);
      }
      const socketGroupId = flags.socketGroup === undefined ? undefined : await groupId(flags.socketGroup);
      const mirrors = registryMirrors(flags.registryMirror ?? []);
      const backend = await runtimeBackend(flags);
      // Read by the Version method (src/api/version.ts) on the API thread, which inherits the environment.
      process.env.PODVISOR_CONTAINER_BACKEND = backend.name;
      getLogger("daemon").info("Container runtime backend", { backend: backend.name, ...(backend instanceof OciBackend ? { runtimePath: backend.runtime.path, conmonPath: backend.conmonPath } : {}) });
      // Loaded on demand, so that the client commands never load the supervisor and its workers.
      const { startDaemon } = await import("../../daemon/daemon.ts");
      const daemon = await startDaemon({
        root: flags.root,
        path: flags.socket,
        socketGroupId,
        criSocket: flags.criSocket ?? join(dirname(flags.socket), "cri.sock"),
        workers,
        stopTimeoutMs,
        liveRestore: flags.liveRestore,
        metricsAddress: flags.metricsAddress,
        maxConnections: wholeNumber(flags.maxConnections, "--max-connections"),
        idleTimeoutMs: clientIdleTimeoutMs(flags.clientIdleTimeout),
        stopStrategy: flags.stopStrategy,
        backend,
        leakCheckIntervalMs: leakCheckIntervalMs(flags.leakCheckInterval),
        network: { confDir: flags.cniConfDir, binDirs: flags.cniBinDir ?? defaultCniBinDirs },
        insecureRegistries: flags.insecureRegistry,
        registryMirrors: mirrors,
      });
      const exit = await daemon.closed;
      if (!exit.restart) process.exit(0);
      if (flags.onUnrecoverableWorker === "exit") process.exit(exitForRestart);
      const { file, args } = commandOfThisProcess();
      const next = execa(file, args, { detached: true, stdio: "inherit", cleanup: false, reject: false });
      next.nodeChildProcess.unref();
      getLogger("daemon").warn("Started a new daemon process in place of this one", { pid: next.pid, reason: exit.reason });
      process.exit(0);
    });
}

async function runtimeBackend(flags: DaemonFlags): Promise<RuntimeBackend> {
  const name = flags.backend;
  if ((flags.runtimePath !== undefined || flags.conmonPath !== undefined) && name !== "runc" && name !== "crun") {
    throw new RangeError(`Cannot start the daemon: --runtime-path and --conmon-path need --backend runc or crun, got "${name}"`);
  }
  if (name === "process") return new ProcessBackend();
  if (name === "lagging") return new LaggingBackend(new ProcessBackend(), { lagMs: wholeNumber(flags.backendLagMs, "--backend-lag-ms") });
  if (name === "runc" || name === "crun") {
    return OciBackend.open({ root: join(flags.root, "oci"), runtime: name, runtimePath: flags.runtimePath, conmonPath: flags.conmonPath });
  }
  throw new RangeError(`Cannot start the daemon: --backend must be process, runc, crun or lagging, got "${name}"`);
}

/** At most a day: a longer interval would overflow the timer into one that fires at once. */
function leakCheckIntervalMs(value: string): number {
  const seconds = wholeNumber(value, "--leak-check-interval");
  if (seconds > 86_400) throw new RangeError(`Cannot start the daemon: --leak-check-interval must be at most 86400 seconds (a day), got "${value}"`);
  return seconds * 1_000;
}

/** More than 0 (0 would never close a silent client), at most a day (a longer timer overflows into 1 ms); fractions allowed. */
function clientIdleTimeoutMs(value: string): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
    throw new RangeError(`Cannot start the daemon: --client-idle-timeout must be more than 0 and at most 86400 seconds, got "${value}"`);
  }
  return Math.ceil(seconds * 1_000);
}

function wholeNumber(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new RangeError(`Cannot start the daemon: ${flag} must be a whole number, got "${value}"`);
  return number;
}

async function groupId(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const line = (await readFile("/etc/group", "utf8")).split("\n").find((entry) => entry.split(":")[0] === group);
  if (line === undefined) throw new RangeError(`Cannot start the daemon: no group "${group}" in /etc/group`);
  return Number(line.split(":")[2]);
}
