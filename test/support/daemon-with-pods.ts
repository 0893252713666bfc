/**
 * A daemon process for the shutdown tests: starts the daemon on the root given as argv[2], runs
 * argv[3] sandboxes of two containers each (one ignores SIGTERM), prints one JSON line with what it
 * made, then waits for a signal. Used until the socket API lets a test drive a real daemon.
 */
import { startDaemon } from "../../daemon/daemon.ts";

const [root, count, liveRestore] = process.argv.slice(2);
const daemon = await startDaemon({ root, workers: 2, liveRestore: liveRestore === "live-restore", stopTimeoutMs: 1_000, killGraceMs: 2_000 });
const sandboxes: string[] = [];
for (let index = 0; index < Number(count); index++) {
  const id = await daemon.supervisor.runPodSandbox({ name: `pod-${index}` });
  for (const command of [["sleep", "1000"], ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]]) {
    const containerId = await daemon.supervisor.createContainer(id, { name: command[0], command });
    await daemon.supervisor.startContainer(containerId);
  }
  sandboxes.push(id);
}
const pids = daemon.supervisor.listContainers().map((container) => container.pid);
console.log(JSON.stringify({ tag: daemon.supervisor.tag, root: daemon.supervisor.root, sandboxes, pids }));
await daemon.closed;
process.exit(0);
