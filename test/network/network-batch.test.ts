import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { noLeftovers, startTestSupervisor, waitUntil } from "../support/supervisor.ts";
import type { TestSupervisor } from "../support/supervisor.ts";
import { makeTestNetwork } from "./network-fixtures.ts";
import type { TestNetwork } from "./network-fixtures.ts";

let net: TestNetwork;
let t: TestSupervisor;
const concurrency = 2;

beforeEach(async () => {
  net = await makeTestNetwork("cnibatch");
  await net.writeConfig({ toggle: true });
  t = await startTestSupervisor({ network: { confDir: net.confDir, binDirs: net.binDirs, concurrency } });
});

afterEach(async () => {
  const leftovers = await t.close();
  const reservations = await net.reservations();
  await waitUntil(async () => (await net.veths()).length === 0).catch(() => {});
  const veths = await net.veths();
  await net.close();
  expect(leftovers).toEqual(noLeftovers);
  expect([...reservations.keys()]).toEqual([]);
  expect(veths).toEqual([]);
});

test("a batch stop runs its DELs under their own concurrency limit, times the phase, and frees every address", async () => {
  const count = 12;
  const ids = await Promise.all(Array.from({ length: count }, (_, i) => t.supervisor.runPodSandbox({ name: `pod${i}` })));
  expect((await net.reservations()).size).toBe(count);
  await net.toggle("slow-del", true);
  const results = await t.supervisor.stopPodSandboxes({ ids }, { timeoutMs: 1_000 });
  expect(results.every((result) => result.ok)).toBe(true);
  for (const result of results) expect(result.phases["network-teardown"]).toBeGreaterThanOrEqual(200);
  // Each pvtoggle DEL logged when it ran: never more than the limit at once.
  const events = (await readFile(join(net.testBinDir, "pvtoggle.calls"), "utf8")).trim().split("\n").map((line) => {
    const [kind, at] = line.split(" ");
    return { delta: kind === "start" ? 1 : -1, at: BigInt(at) };
  });
  expect(events).toHaveLength(2 * count);
  events.sort((a, b) => (a.at === b.at ? a.delta - b.delta : a.at < b.at ? -1 : 1));
  let running = 0;
  let most = 0;
  for (const event of events) most = Math.max(most, (running += event.delta));
  if (most > concurrency) console.log("CALLS", await readFile(join(net.testBinDir, "pvtoggle.calls"), "utf8"));
  expect(most).toBeLessThanOrEqual(concurrency);
  expect(most).toBeGreaterThan(0);
  expect(await net.reservations()).toEqual(new Map());
});
