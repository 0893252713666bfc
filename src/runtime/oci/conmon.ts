/**
 * One conmon per container, launched as CRI-O launches it: `_OCI_SYNCPIPE` (fd 3, where conmon
 * reports `{"data": <pid>}` once the runtime created the container) and `_OCI_STARTPIPE` (fd 4, which
 * conmon blocks on before it forks anything). Between the spawn and the write to the start pipe, the
 * caller moves conmon into a cgroup, so neither conmon nor the runtime it runs escapes it. conmon then
 * double-forks away from us (it outlives the daemon), runs `<runtime> create`, writes the container's
 * log in the CRI format, and when the container exits writes its status to `<exit-dir>/<id>` and
 * `<persist-dir>/exit` (128+n for signal n).
 */
import { readFile } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { execa } from "execa";
import { CodedError } from "../../errors/coded-error.ts";
import { abortable } from "../runtime-errors.ts";

export interface ConmonLaunch {
  conmonPath: string;
  runtimePath: string;
  /** Given to the runtime before its verb (`--root=/x`). */
  runtimeArgs: string[];
  id: string;
  bundleDir: string;
  /** Where the runtime writes the container's init pid. */
  pidFile: string;
  /** Where conmon writes its own pid (after its fork). */
  conmonPidFile: string;
  logPath: string;
  exitDir: string;
  persistDir: string;
  socketDir: string;
  /** Called with conmon's first pid before it is told to go on: move it into its cgroup here. */
  beforeStart(conmonPid: number): Promise<void>;
  signal?: AbortSignal;
}

export interface ConmonStarted {
  /** The container's init (created, not yet started). */
  pid: number;
  /** The conmon process that watches it (after its fork). */
  conmonPid: number;
}

/**
 * Run by perl (perl-base, on every Debian) in place of conmon's first exec: closes every descriptor
 * but stdio and the two pipes, then execs conmon (same pid). conmon outlives the daemon, and Deno lets
 * children inherit its sockets: a crashed daemon's API socket would go on "answering" through them.
 */
const closeInheritedThenExec = [
  'use POSIX (); if (opendir(my $d, "/proc/self/fd")) { my @fds = grep { /^\\d+$/ && $_ > 4 } readdir($d); closedir($d); POSIX::close($_) for @fds; }',
  "exec { $ARGV[0] } @ARGV or die \"Cannot run $ARGV[0]: $!\\n\";",
].join(" ");

/** The flags, in the order CRI-O gives them. */
export function conmonArgs(launch: ConmonLaunch): string[] {
  return [
    "--api-version", "1",
    "-c", launch.id,
    "-u", launch.id,
    "-n", launch.id,
    "-r", launch.runtimePath,
    ...launch.runtimeArgs.flatMap((arg) => ["--runtime-arg", arg]),
    "-b", launch.bundleDir,
    "-p", launch.pidFile,
    "-P", launch.conmonPidFile,
    "-l", `k8s-file:${launch.logPath}`,
    "--exit-dir", launch.exitDir,
    "-0", launch.persistDir,
    "--socket-dir-path", launch.socketDir,
    "--log-level", process.env.CONMON_LOG ?? "error",
  ];
}

/**
 * Spawns conmon, lets `beforeStart` place it, tells it to go on, and resolves with the pid it
 * reports. Rejects with `START_FAILED` (conmon's or the runtime's own words) when the runtime could
 * not create the container.
 */
export async function launchConmon(launch: ConmonLaunch): Promise<ConmonStarted> {
  const subprocess = execa("perl", ["-e", closeInheritedThenExec, launch.conmonPath, ...conmonArgs(launch)], {
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
    env: { _OCI_SYNCPIPE: "3", _OCI_STARTPIPE: "4", PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    extendEnv: false,
    reject: false,
    cancelSignal: launch.signal,
  });
  const sync = subprocess.stdio[3] as Readable;
  const start = subprocess.stdio[4] as unknown as Writable;
  const report = readFirstLine(sync);
  try {
    if (subprocess.pid === undefined) throw await startFailed(launch.id, "conmon could not be spawned", subprocess);
    await launch.beforeStart(subprocess.pid);
    start.end("0");
    const line = await abortable(report, launch.signal);
    sync.destroy(); // conmon keeps its end until it exits; only its first report is read
    const first = await subprocess; // the parent half of conmon's fork exits at once
    if (line === undefined) throw await startFailed(launch.id, `conmon ended without a report (exit ${first.exitCode}): ${first.stderr}`, undefined);
    const parsed = JSON.parse(line) as { data?: number; message?: string };
    if (typeof parsed.data !== "number" || parsed.data <= 0) {
      throw new CodedError("START_FAILED", `Cannot create container "${launch.id}": ${parsed.message ?? line}`, { details: { id: launch.id } });
    }
    const conmonPid = Number((await readFile(launch.conmonPidFile, "utf8")).trim());
    return { pid: parsed.data, conmonPid };
  } catch (error) {
    sync.destroy();
    subprocess.kill("SIGKILL");
    await subprocess;
    throw error;
  }
}

function readFirstLine(stream: Readable): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer): void => {
      text += String(chunk);
      const end = text.indexOf("\n");
      if (end === -1) return;
      stream.off("data", onData);
      resolve(text.slice(0, end));
    };
    stream.on("data", onData);
    stream.once("end", () => resolve(text === "" ? undefined : text));
    stream.once("error", reject);
  });
}

async function startFailed(id: string, why: string, subprocess: Promise<{ stderr: unknown }> | undefined): Promise<CodedError> {
  const stderr = subprocess === undefined ? "" : String((await subprocess).stderr);
  return new CodedError("START_FAILED", `Cannot create container "${id}": ${why}${stderr === "" ? "" : `: ${stderr.trim()}`}`, { details: { id } });
}
