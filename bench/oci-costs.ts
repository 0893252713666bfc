/**
 * Per-container costs of the OCI backend on this host, measured through the backend itself (not a
 * shell): conmon's launch to its `{"data": pid}` report (conmon + `runc create`), `runc start`, a
 * signal to the exit file (conmon's) and to the runtime's "stopped", `delete`; then a batch of N
 * stopped at once, where one `runc list` per polling round serves every waiter.
 *
 * Run as root: `node_modules/.bin/node bench/oci-costs.ts [count] [batch]` (default 20, 50).
 * Makes everything in a temp folder and a cgroup `pvbench-oci-<pid>`, and removes both.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeCgroup } from "../src/host/cgroup-remove.ts";
import { mountRootfs, unmountRootfs } from "../src/host/rootfs.ts";
import { OciBackend } from "../src/runtime/oci/oci-backend.ts";
import { removeEmptyV1Cgroups } from "../src/host/cgroup-v1.ts";
import { makeBusyboxRootfs } from "../test/runtime/oci-fixtures.ts";

const count = Number(process.argv[2] ?? 20);
const batch = Number(process.argv[3] ?? 50);
const work = await mkdtemp(join(tmpdir(), "pvbench-oci-"));
const prefix = `pvbench-oci-${process.pid}`;
const lower = join(work, "lower");
await makeBusyboxRootfs(lower);
const { mergedDir } = await mountRootfs({ lowerDir: lower, containerDir: join(work, "ctr"), root: work });
const backend = await OciBackend.open({ root: join(work, "oci") });
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spec = (id: string) => ({ id, command: ["sleep", "1000"], rootfsDir: mergedDir, logPath: join(work, `${id}.log`), cgroupPath: `${prefix}/pod/ctr-${id}` });

try {
  const costs = { create: [] as number[], start: [] as number[], exitFile: [] as number[], stopped: [] as number[], delete: [] as number[] };
  for (let i = 0; i < count; i++) {
    const id = `one${i}`;
    let t = performance.now();
    await backend.create(spec(id));
    costs.create.push(performance.now() - t);
    t = performance.now();
    await backend.start(id);
    costs.start.push(performance.now() - t);
    t = performance.now();
    await backend.killAll(id);
    const exitFile = join(work, "oci", "exits", id);
    while (!(await stat(exitFile).then(() => true, () => false))) await new Promise((resolve) => setTimeout(resolve, 1));
    costs.exitFile.push(performance.now() - t);
    await backend.waitForStopped(id, { signal: AbortSignal.timeout(10_000) });
    costs.stopped.push(performance.now() - t);
    t = performance.now();
    await backend.delete(id);
    costs.delete.push(performance.now() - t);
  }
  console.log(`one at a time, median of ${count} (ms):`, Object.fromEntries(Object.entries(costs).map(([key, values]) => [key, Math.round(median(values) * 10) / 10])));

  const ids = Array.from({ length: batch }, (_, i) => `batch${i}`);
  let t = performance.now();
  for (const id of ids) await backend.create(spec(id));
  await Promise.all(ids.map((id) => backend.start(id)));
  const setupMs = performance.now() - t;
  const rounds = backend.poller.rounds;
  t = performance.now();
  await Promise.all(ids.map((id) => backend.killAll(id)));
  await Promise.all(ids.map((id) => backend.waitForStopped(id, { signal: AbortSignal.timeout(30_000) })));
  const stopMs = performance.now() - t;
  t = performance.now();
  await Promise.all(ids.map((id) => backend.delete(id)));
  console.log(`a batch of ${batch}: set up ${Math.round(setupMs)} ms, killed and reported stopped ${Math.round(stopMs)} ms with ${backend.poller.rounds - rounds} list calls, deleted ${Math.round(performance.now() - t)} ms`);
} finally {
  backend.close();
  await unmountRootfs(join(work, "ctr"), { root: work });
  await removeCgroup(prefix);
  await removeEmptyV1Cgroups(`${prefix}/pod`, { includeTop: true });
  await rm(work, { recursive: true, force: true });
}
