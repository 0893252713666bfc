/**
 * Why the daemon does not serve the CRI on Deno, and the watch for the day it can: @grpc/grpc-js's
 * server crashes Deno 2.9 inside its HTTP/2 layer (an nghttp2 assertion, or `free(): invalid
 * pointer`, SIGABRT) once a client that made a few hundred calls on one connection closes it —
 * denoland/deno#36788. Measured here: 150 calls did not crash it, 200 did, 4 runs of 4. The test
 * runs a grpc-js server on the Deno binary from node_modules as a child process, calls it from a
 * Node grpc-js client, closes the client, and expects the crash; when five fresh servers each survive
 * five such connections, Deno fixed it, and the test fails saying so.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startDaemonProcess } from "../support/daemon-process.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { connectCri } from "./cri-client.ts";

const deno = new URL("../../node_modules/.bin/deno", import.meta.url).pathname;
const server = new URL("./deno-grpc-server.ts", import.meta.url).pathname;
const callsPerConnection = 200;
/**
 * A fresh server crashed at the first connection's close in every run on an idle or a CPU-loaded
 * machine (20 of 20); under the whole suite's load a server once survived 25 connections, twice in
 * six runs (the crash is a heap corruption: its moment varies, and a server that survived the first
 * close rarely crashes later). So up to 5 servers are tried, each with up to 5 connections.
 */
const servers = 5;
const connectionsPerServer = 5;
/** It crashes within ~50 ms of the client's close when it does (measured); waited for 40 times that. */
const crashWaitMs = 2_000;

/** Runs one grpc-js server on Deno; resolves with how it ended if a client's close crashed it, else undefined. */
async function crashOneServer(socket: string): Promise<{ signal?: string; all?: string } | undefined> {
  const child = execa(deno, ["run", "-A", server, socket], { reject: false, all: true, stdin: "ignore" });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => (String(chunk).includes("listening") ? resolve() : undefined));
      void child.then((result) => reject(new Error(`The Deno grpc server exited before it listened: ${result.all}`)));
    });
    for (let connection = 0; connection < connectionsPerServer; connection++) {
      const client = connectCri(socket);
      try {
        for (let call = 0; call < callsPerConnection; call++) await client.runtime("Version", {});
      } finally {
        client.close();
      }
      const crashed = await Promise.race([child.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), crashWaitMs))]);
      if (crashed) {
        const result = await child;
        return { signal: result.signal, all: String(result.all) };
      }
    }
    return undefined;
  } finally {
    child.kill("SIGKILL");
    await child;
    await rm(socket, { force: true });
  }
}

describe("grpc-js on Deno (denoland/deno#36788)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-deno-grpc-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test(`a grpc-js server on Deno still crashes once a client that made ${callsPerConnection} calls on one connection closes it`, async () => {
    let crash: { signal?: string; all?: string } | undefined;
    for (let attempt = 0; attempt < servers && crash === undefined; attempt++) crash = await crashOneServer(join(dir, "grpc.sock"));
    if (crash === undefined) {
      throw new Error(`the Deno bug is fixed: serve the CRI on Deno (src/cri/cri-start.ts; denoland/deno#36788): ${servers} grpc-js servers on ${(await execa(deno, ["--version"])).stdout.split("\n")[0]} each survived ${connectionsPerServer} connections of ${callsPerConnection} calls`);
    }
    expect(crash.signal).toBe("SIGABRT");
    expect(crash.all).toMatch(/nghttp2|free\(\): invalid pointer/);
  }, 150_000); // 25 connections when it does not crash: ~60 s under load

  test("a daemon on Deno starts without the CRI endpoint and says why, once, naming the bug", async () => {
    const daemon = await startDaemonProcess("deno");
    const criSocket = await stat(daemon.criSocket).then(() => "there", (error: NodeJS.ErrnoException) => error.code);
    expect(await daemon.stop()).toEqual(noLeftovers);
    expect(criSocket).toBe("ENOENT");
    const { stderr } = await daemon.child;
    expect(String(stderr).match(/Not serving the CRI on Deno[^\n]*denoland\/deno#36788/g)).toHaveLength(1);
  });
});
