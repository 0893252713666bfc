/**
 * The API on a thread of its own. The main thread spawns, signals and reaps every container
 * process, and during a stop of thousands it is busy for seconds (each exit costs it ~100 µs, and
 * thousands come in one go); a status request served there waited up to a second. So the socket
 * server runs on this thread: status and list answer from its copy of the records (see
 * `status-replica.ts`), which the main thread keeps current with a feed of changes; every other
 * method is a call to the main thread (comlink), answered once the copy has caught up with it.
 *
 *     main thread                               API thread
 *     Supervisor ── watchStatus ── feed ──────▶ StatusReplica ◀── status, list
 *                ◀── ServiceBridge (comlink) ── RemotePodService ◀── every other method
 *                                                 └── socket server ◀── clients
 *
 * Progress hooks (a stop's `onProgress`, `onDone` …) travel on the feed too, so they arrive in
 * order, and before the answer of the call they belong to.
 */
import { MessageChannel, Worker } from "node:worker_threads";
import type { MessagePort } from "node:worker_threads";
import { Comlink, nodeEndpoint } from "../actor-system/comlink-errors.ts";
import { toErrorData } from "../errors/coded-error.ts";
import type { ErrorData } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import type { StatusChange } from "./api-types.ts";
import type { PodService } from "./pod-service.ts";
import type { SocketServer, SocketServerOptions } from "./socket-server.ts";

const log = getLogger("api:thread");
const closeTimeoutMs = 5_000;
/** How long a scrape waits for the API thread's metrics; they are left out past it. */
const metricsAskMs = 1_000;

/** The methods the API thread calls on the main thread (status and list it answers itself). */
export const bridgedMethods = [
  "runPodSandbox",
  "stopPodSandbox",
  "removePodSandbox",
  "createContainer",
  "startContainer",
  "stopContainer",
  "removeContainer",
  "stopPodSandboxes",
  "metricsText",
  "checkHost",
  "pullImage",
  "listImages",
  "imageStatus",
  "removeImage",
  "imageFsInfo",
  "loadImage",
] as const satisfies readonly (keyof PodService)[];
export type BridgedMethod = (typeof bridgedMethods)[number];

/** A call's outcome, and how many feed items the main thread had sent when it ended. */
export type BridgeResult = { ok: true; value: unknown; seq: number } | { ok: false; error: ErrorData; seq: number };

export interface ServiceBridge {
  /** `hooks` names the function-valued options of the call's last argument, called back over the feed. */
  call(method: BridgedMethod, args: unknown[], hooks?: { callId: number; names: string[] }): Promise<BridgeResult>;
}

/** What the feed carries: status changes, and calls of a request's progress hooks. */
export type FeedItem = StatusChange | { kind: "hook"; callId: number; name: string; value: unknown };
export type FeedMessage =
  | { type: "feed"; seq: number; items: FeedItem[] }
  | { type: "metrics"; requestId: number }
  | { type: "close" };
export type WorkerReport =
  | { type: "listening" }
  | { type: "failed"; message: string }
  | { type: "closed" }
  | { type: "metrics"; requestId: number; text: string };

/** The socket server on its thread, and that thread's part of the metrics. */
export interface ApiThread extends SocketServer {
  /**
   * The API thread's metrics (`src/metrics/api-thread-metrics.ts`: the latency of status and list,
   * which that thread serves), as exposition text, asked for at each scrape over the feed's port;
   * "" once closing, or if the thread does not answer within a second (logged).
   */
  metricsText(): Promise<string>;
}

export interface ApiWorkerInit {
  socket: Omit<SocketServerOptions, "service">;
  feed: MessagePort;
}

/** The supervisor's side of the replica: the statuses now, then every change, in order. */
export interface StatusSource {
  watchStatus(listener: (change: StatusChange) => void): { snapshot: StatusChange[]; stop(): void };
}

/** Starts the socket server on its own thread; resolves once it listens (rejects if it cannot). */
export async function startApiThread(options: SocketServerOptions & { service: PodService & StatusSource }): Promise<ApiThread> {
  const { service } = options;
  const socket: ApiWorkerInit["socket"] = {
    path: options.path,
    socketGroupId: options.socketGroupId,
    maxConnections: options.maxConnections,
    maxLineBytes: options.maxLineBytes,
    idleTimeoutMs: options.idleTimeoutMs,
    maxInFlight: options.maxInFlight,
  };
  const channel = new MessageChannel();
  const feed = channel.port1;
  const init: ApiWorkerInit = { socket, feed: channel.port2 };
  const worker = new Worker(new URL("./api-worker.ts", import.meta.url), { workerData: init, transferList: [channel.port2] });

  let seq = 0;
  let pending: FeedItem[] = [];
  const feedSliceItems = 200;
  const send = (item: FeedItem) => {
    pending.push(item);
    seq++;
    // Changes made in one go travel together: one message per turn of the event loop, not per change.
    if (pending.length === 1) queueMicrotask(flush);
  };
  const flush = () => {
    const items = pending;
    pending = [];
    // In slices: a stop changes thousands of records in one turn, and one message of them all
    // (megabytes to copy and apply) held the API thread's answers for tens of milliseconds.
    const first = seq - items.length;
    for (let start = 0; start < items.length; start += feedSliceItems) {
      const slice = items.slice(start, start + feedSliceItems);
      feed.postMessage({ type: "feed", seq: first + start + slice.length, items: slice } satisfies FeedMessage);
    }
  };
  const watch = service.watchStatus(send);
  feed.postMessage({ type: "feed", seq, items: watch.snapshot } satisfies FeedMessage);

  const bridge: ServiceBridge = {
    async call(method, args, hooks) {
      if (!bridgedMethods.includes(method)) return { ok: false, error: { code: "UNIMPLEMENTED", message: `No method ${String(method)}` }, seq };
      if (hooks !== undefined) args = withHooks(args, hooks, send);
      try {
        const value = await (service[method] as (...args: unknown[]) => Promise<unknown>)(...args);
        return { ok: true, value, seq };
      } catch (error) {
        return { ok: false, error: cloneable(toErrorData(error)), seq };
      }
    },
  };
  Comlink.expose(bridge, nodeEndpoint(worker));

  let closing = false;
  const reports = new Map<WorkerReport["type"], (report: WorkerReport) => void>();
  const metricsAnswers = new Map<number, (text: string) => void>();
  let nextMetricsRequest = 1;
  feed.on("message", (report: WorkerReport) => {
    if (report.type === "metrics") metricsAnswers.get(report.requestId)?.(report.text);
    else reports.get(report.type)?.(report);
  });
  const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
  worker.on("error", (error) => log.error("The API thread failed", { error }));
  const listening = await Promise.race([
    new Promise<WorkerReport>((resolve) => {
      reports.set("listening", resolve);
      reports.set("failed", resolve);
    }),
    exited.then((code): WorkerReport => ({ type: "failed", message: `the API thread exited with code ${code}` })),
  ]);
  if (listening.type === "failed") {
    watch.stop();
    await worker.terminate();
    feed.close();
    throw new Error(listening.message);
  }
  void exited.then((code) => {
    if (!closing) log.fatal("The API thread exited: the daemon no longer answers requests", { code });
  });
  return {
    path: options.path,
    metricsText() {
      if (closing) return Promise.resolve("");
      const requestId = nextMetricsRequest++;
      return new Promise<string>((resolve) => {
        const timer = setTimeout(() => {
          log.warn("The API thread did not send its metrics in time: left out of this scrape", { waitedMs: metricsAskMs });
          answer("");
        }, metricsAskMs);
        const answer = (text: string) => {
          clearTimeout(timer);
          metricsAnswers.delete(requestId);
          resolve(text);
        };
        metricsAnswers.set(requestId, answer);
        feed.postMessage({ type: "metrics", requestId } satisfies FeedMessage);
      });
    },
    async close() {
      closing = true;
      const closed = new Promise<unknown>((resolve) => reports.set("closed", resolve));
      feed.postMessage({ type: "close" } satisfies FeedMessage);
      await Promise.race([closed, exited, new Promise((resolve) => setTimeout(resolve, closeTimeoutMs).unref())]);
      watch.stop();
      await worker.terminate();
      feed.close();
    },
  };
}

/** The call's options (its last argument) with each named hook calling back over the feed. */
function withHooks(args: unknown[], hooks: { callId: number; names: string[] }, send: (item: FeedItem) => void): unknown[] {
  const options = { ...(args.at(-1) as Record<string, unknown>) };
  for (const name of hooks.names) options[name] = (value: unknown) => send({ kind: "hook", callId: hooks.callId, name, value: cloneable(value) });
  return [...args.slice(0, -1), options];
}

/** What can cross to the other thread as the client will see it: JSON, or a plain message. */
function cloneable<T>(value: T): T {
  try {
    return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
  } catch {
    return { code: "INTERNAL", message: "Cannot encode a value for the API thread" } as T;
  }
}
