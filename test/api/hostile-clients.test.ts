/**
 * Hostile clients of a real daemon: random bytes, invalid UTF-8 and junk JSON; a request built to
 * crash the encoder; a 10 MiB line; clients that never read; 1,000 connections at once. Each time
 * the daemon answers or closes cleanly, keeps serving everyone else, and its memory and
 * descriptors stay bounded (read from /proc/<pid> of the daemon process).
 */
import net from "node:net";
import fc from "fast-check";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { PipeClient } from "../support/pipe-client.ts";
import type { RpcAnswer } from "../support/pipe-client.ts";
import { openFds, rssMiB, samplePeakRss } from "../support/proc-stats.ts";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers, waitUntil } from "../support/supervisor.ts";

/** How much the daemon's RSS may grow under an attack: generous, far below what the bugs cost. */
const rssGrowthBoundMiB = 100;
const encoder = new TextEncoder();

/** A client that keeps asking Version while something else goes on; `stop()` says how it went. */
async function keepAsking(socket: string): Promise<{ stop(): Promise<{ answered: number; failures: string[] }> }> {
  const client = await PipeClient.connect(socket);
  let running = true;
  let answered = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const answer = await client.call("Version").catch((error: Error) => ({ error: { code: 0, message: error.message } }) as RpcAnswer);
      if (answer.result?.apiVersion === "v1alpha1") answered++;
      else failures.push(JSON.stringify(answer.error));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      client.close();
      return { answered, failures };
    },
  };
}

/** Whether one line the daemon sent for junk is an error of the kinds junk may get. */
function isJunkAnswer(line: RpcAnswer | RpcAnswer[]): boolean {
  if (Array.isArray(line)) return line.length > 0 && line.every((each) => each.error?.code === -32600 && each.error.data?.code === "INVALID_ARGUMENT");
  if (line.error === undefined || line.result !== undefined) return false;
  // Invalid UTF-8 becomes U+FFFD: in a method name that is "no such method", in an id "bad params".
  const allowed: Record<number, string> = { [-32700]: "INVALID_ARGUMENT", [-32600]: "INVALID_ARGUMENT", [-32601]: "UNIMPLEMENTED", [-32602]: "INVALID_ARGUMENT" };
  return allowed[line.error.code] === line.error.data?.code;
}

const invalidUtf8 = fc.constantFrom(
  [0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc3], [0xe2, 0x82], [0x80], [0xf4, 0x90, 0x80, 0x80],
).map((bytes) => Uint8Array.from(bytes));
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));
const isJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
/** One junk payload (it may hold newlines, and so be several lines). */
const junkPayload: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.uint8Array({ maxLength: 20 }), invalidUtf8, fc.uint8Array({ maxLength: 20 })).map(([a, bad, b]) => concat(a, bad, b)),
  // Invalid UTF-8 inside an otherwise good request: in the method name, and in an id param.
  invalidUtf8.map((bad) => concat(encoder.encode('{"jsonrpc":"2.0","id":"u","method":"Vers'), bad, encoder.encode('ion"}'))),
  invalidUtf8.map((bad) => concat(encoder.encode('{"jsonrpc":"2.0","id":"u","method":"PodSandboxStatus","params":{"podSandboxId":"a'), bad, encoder.encode('"}}'))),
  fc.string({ unit: "binary" }).filter((text) => text.trim() !== "" && !isJson(text)).map((text) => encoder.encode(text)),
  fc.jsonValue().filter((value) => typeof value !== "object" || value === null).map((value) => encoder.encode(JSON.stringify(value))),
  fc.array(fc.jsonValue(), { maxLength: 10 }).map((batch) => encoder.encode(JSON.stringify(batch))),
  fc.constantFrom(
    '{"jsonrpc":"1.0","id":1,"method":"Version"}',
    '{"jsonrpc":"2.0","id":1,"method":"Version","result":1}',
    '{"jsonrpc":"2.0","id":1,"method":"Version","error":{}}',
    '{"jsonrpc":"2.0","id":true,"method":"Version"}',
    '{"id":1,"method":"Version"}',
    '[1,[2],{"3":4}]',
    "[null]",
    "null",
    "{}",
    "[]",
    "\u0000",
    "\ufeff{}",
  ).map((text) => encoder.encode(text)),
);

describe.each(runtimes)("hostile clients of a daemon on %s", (runtime) => {
  let daemon: DaemonProcess;
  let pid: number;
  beforeAll(async () => {
    // A short idle timeout: a client that reads nothing is cut after it (so the test is quick).
    daemon = await startDaemonProcess(runtime, ["--client-idle-timeout", "1"]);
    pid = daemon.child.pid as number;
  });
  afterAll(async () => {
    if (daemon !== undefined) expect(await daemon.stop()).toEqual(noLeftovers);
  });

  test("random bytes, invalid UTF-8, lines that are not JSON or not requests, junk batches: each answered with an error, others served", async () => {
    const hostile = await PipeClient.connect(daemon.socket);
    const other = await keepAsking(daemon.socket);
    let probes = 0;
    await fc.assert(
      fc.asyncProperty(junkPayload, async (payload) => {
        const probe = `probe-${++probes}`;
        hostile.socket.write(concat(payload, encoder.encode("\n")));
        // The same connection still works: a good request right after the junk is answered.
        const answer = await hostile.send(JSON.stringify({ jsonrpc: "2.0", id: probe, method: "Version" }), probe);
        expect(answer.result).toMatchObject({ runtime });
      }),
      { numRuns: 400 },
    );
    const { answered, failures } = await other.stop();
    const junkAnswers = (hostile.lines as (RpcAnswer | RpcAnswer[])[]).filter((line) => Array.isArray(line) || !String(line.id).startsWith("probe-"));
    hostile.close();
    console.log(`[${runtime}] ${probes} junk payloads: ${junkAnswers.length} error answers; another client was answered ${answered} times meanwhile`);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    expect(junkAnswers.filter((line) => !isJunkAnswer(line))).toEqual([]);
    expect(junkAnswers.length).toBeGreaterThan(probes / 2);
  });

  test("a request built to crash the daemon is refused, not echoed (its id nested 200,000 deep once overflowed the encoder)", async () => {
    const client = await PipeClient.connect(daemon.socket);
    const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
    const expectInvalid = async (line: string, id: string | null = null) => {
      client.socket.write(`${line}\n`);
      const answer = await client.send(JSON.stringify({ jsonrpc: "2.0", id: "after", method: "Version" }), "after");
      expect(answer.result).toBeDefined();
      const before = client.lines.at(-2);
      client.lines.length = 0;
      return before;
    };
    for (const line of [`{"jsonrpc":"2.0","id":${deep},"method":"Version"}`, `{"jsonrpc":"2.0","id":${deep},"method":"NoSuchMethod"}`, `{"jsonrpc":"2.0","id":{"a":1},"method":"Version"}`, "null"]) {
      expect(await expectInvalid(line)).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request", data: { code: "INVALID_ARGUMENT" } } });
    }
    expect(await expectInvalid('{"jsonrpc":"2.0","id":7,"method":{"name":"Version"}}')).toMatchObject({ id: 7, error: { code: -32600 } });
    expect(await expectInvalid("[null]")).toEqual([{ jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid Request", data: { code: "INVALID_ARGUMENT" } } }]);
    const request = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "Version" });
    expect(await expectInvalid(`[${Array(65).fill(request).join(",")}]`)).toMatchObject({ id: null, error: { data: { code: "RESOURCE_EXHAUSTED" } } });
    // A batch within the limit is answered as an array, one answer per request.
    client.socket.write(`[${Array(64).fill(request).join(",")}]\n`);
    await client.send(JSON.stringify({ jsonrpc: "2.0", id: "after", method: "Version" }), "after");
    expect(client.lines.find(Array.isArray)).toHaveLength(64);
    client.close();
    expect(daemon.child.nodeChildProcess.exitCode).toBeNull();
  });

  test("a 10 MiB line is refused and its connection closed; memory stays bounded and another client is served", async () => {
    const baseline = await rssMiB(pid);
    const peak = samplePeakRss(pid);
    const other = await keepAsking(daemon.socket);
    const hostile = await PipeClient.connect(daemon.socket);
    hostile.socket.write(`{"jsonrpc":"2.0","id":1,"method":"Version","params":"${"x".repeat(10 * 2 ** 20)}"}\n`);
    await hostile.closed();
    const { answered, failures } = await other.stop();
    const highest = await peak.stop();
    console.log(`[${runtime}] 10 MiB line: RSS ${baseline.toFixed(0)} MiB before, at most ${highest.toFixed(0)} MiB; another client answered ${answered} times meanwhile`);
    expect(hostile.lines).toEqual([expect.objectContaining({ id: null, error: expect.objectContaining({ data: { code: "RESOURCE_EXHAUSTED" } }) })]);
    expect(failures).toEqual([]);
    expect(highest - baseline).toBeLessThan(rssGrowthBoundMiB);
  });

  test("clients that send and never read do not grow the daemon's memory nor block others, and are cut at the idle timeout", async () => {
    const fdsBefore = await openFds(pid);
    const baseline = await rssMiB(pid);
    const peak = samplePeakRss(pid);
    const other = await keepAsking(daemon.socket);
    const metrics = `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "Metrics" })}\n`;
    const batch = `[${Array(64).fill(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ListPodSandbox" })).join(",")}]\n`;
    const readers = await Promise.all(Array.from({ length: 8 }, () => new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect(daemon.socket);
      socket.pause(); // never reads: the daemon's answers pile up on its side
      socket.on("error", () => {});
      socket.once("connect", () => resolve(socket));
      socket.once("error", reject);
    })));
    for (const socket of readers) {
      socket.write(metrics.repeat(20_000)); // ~0.9 MB of requests, each answered with ~1 kB or more
      for (let i = 0; i < 50; i++) socket.write(batch);
    }
    await waitUntil(async () => (await openFds(pid)) <= fdsBefore + 1, 20_000);
    const { answered, failures } = await other.stop();
    const highest = await peak.stop();
    for (const socket of readers) socket.destroy();
    console.log(`[${runtime}] 8 clients that read nothing: RSS ${baseline.toFixed(0)} MiB before, at most ${highest.toFixed(0)} MiB; another client answered ${answered} times meanwhile`);
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(0);
    expect(highest - baseline).toBeLessThan(rssGrowthBoundMiB);
  });
});

describe.each(runtimes)("1,000 connections at once to a daemon on %s", (runtime) => {
  const maxConnections = 512;
  let daemon: DaemonProcess;
  let pid: number;
  beforeAll(async () => {
    daemon = await startDaemonProcess(runtime, ["--max-connections", String(maxConnections)]);
    pid = daemon.child.pid as number;
  });
  afterAll(async () => {
    if (daemon !== undefined) expect(await daemon.stop()).toEqual(noLeftovers);
  });

  test("the first 512 are served, the rest refused and cut (even those that never close), memory and descriptors bounded; afterwards a new client is served", async () => {
    // This process holds one descriptor per connection (and the daemon one more for each): stay
    // well under the open-file limit rather than raise it.
    const limit = Number((await execa("sh", ["-c", "ulimit -n"])).stdout);
    const total = Math.min(1_000, limit - 256);
    expect(total).toBeGreaterThan(maxConnections);
    const fdsBefore = await openFds(pid);
    const baseline = await rssMiB(pid);
    const peak = samplePeakRss(pid);
    type Outcome = "served" | "refused" | "closed" | `error ${string}`;
    const outcomes: Promise<Outcome>[] = [];
    const served: net.Socket[] = [];
    const all: net.Socket[] = [];
    for (let index = 0; index < total; index++) {
      // Half of them keep their side open when the daemon closes its side, as a hostile client would.
      const socket = net.connect({ path: daemon.socket, allowHalfOpen: index % 2 === 0 });
      all.push(socket);
      outcomes.push(new Promise<Outcome>((resolve) => {
        let text = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          text += chunk;
          if (text.includes('"apiVersion"')) {
            served.push(socket);
            resolve("served");
          } else if (text.includes("RESOURCE_EXHAUSTED")) resolve("refused");
        });
        socket.on("end", () => resolve("closed"));
        socket.on("error", (error: NodeJS.ErrnoException) => resolve(`error ${error.code}`));
        socket.once("connect", () => socket.write(`${JSON.stringify({ jsonrpc: "2.0", id: index, method: "Version" })}\n`));
      }));
    }
    const counts: Record<string, number> = {};
    for (const outcome of await Promise.all(outcomes)) counts[outcome] = (counts[outcome] ?? 0) + 1;
    console.log(`[${runtime}] ${total} connections (open-file limit ${limit}):`, counts);
    // Every one that was not served was told why, or (the listen backlog overflowed in the flood)
    // refused by the kernel; of those that reached the daemon, exactly the limit was served.
    const kernelRefused = (counts["error EAGAIN"] ?? 0) + (counts["error ECONNREFUSED"] ?? 0);
    expect(Object.keys(counts).filter((outcome) => !["served", "refused", "error EAGAIN", "error ECONNREFUSED"].includes(outcome))).toEqual([]);
    expect(counts.served).toBe(Math.min(maxConnections, total - kernelRefused));

    // The refused are cut within seconds even when they do not close: only the served stay open.
    await waitUntil(async () => (await openFds(pid)) <= fdsBefore + maxConnections + 2, 15_000);
    // The served keep being served.
    const again = await Promise.all(served.slice(0, 20).map((socket, index) => new Promise<string>((resolve) => {
      socket.removeAllListeners("data");
      socket.on("data", (chunk: string) => chunk.includes('"again"') && resolve("answered"));
      socket.write(`${JSON.stringify({ jsonrpc: "2.0", id: "again", method: "ListPodSandbox", params: { filter: {} } })}\n`);
      setTimeout(() => resolve(`no answer on served connection ${index}`), 10_000).unref();
    })));
    expect(again.every((result) => result === "answered")).toBe(true);
    const highest = await peak.stop();
    for (const socket of all) socket.destroy();
    await waitUntil(async () => (await openFds(pid)) <= fdsBefore + 1, 15_000);
    console.log(`[${runtime}] ${total} connections: RSS ${baseline.toFixed(0)} MiB before, at most ${highest.toFixed(0)} MiB`);
    expect(highest - baseline).toBeLessThan(rssGrowthBoundMiB);
    const fresh = await PipeClient.connect(daemon.socket);
    expect((await fresh.call("Version")).result).toMatchObject({ runtime });
    fresh.close();
  });
});
