/**
 * The entry of the API thread (see `api-thread.ts`): the socket server, with status and list
 * answered from a copy of the records, and every other method called on the main thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Comlink, nodeEndpoint } from "../actor-system/comlink-errors.ts";
import { getLogger } from "../log/logger.ts";
import type { ApiWorkerInit, FeedMessage, ServiceBridge, WorkerReport } from "./api-thread.ts";
import { ApiThreadMetrics } from "../metrics/api-thread-metrics.ts";
import { AnswersInFlight } from "./answers-in-flight.ts";
import { RemotePodService } from "./remote-pod-service.ts";
import { startSocketServer } from "./socket-server.ts";
import type { SocketServer } from "./socket-server.ts";
import { StatusReplica } from "./status-replica.ts";

const log = getLogger("api:thread");
/** How long the close waits for the answers of creations the main thread has finished (a round trip, normally). */
const answersAtCloseMs = 1_000;
const init = workerData as ApiWorkerInit;
const report = (message: WorkerReport) => init.feed.postMessage(message);
const replica = new StatusReplica();
// Status and list are timed here, where they are served; the main thread asks for the numbers at each scrape ("metrics").
const metrics = new ApiThreadMetrics();
// The answers of creations are let out before the socket closes at shutdown (see answers-in-flight.ts).
const answers = new AnswersInFlight();
const remote = new RemotePodService(replica, Comlink.wrap<ServiceBridge>(nodeEndpoint(parentPort as NonNullable<typeof parentPort>)));
const service = metrics.timeReads(answers.track(remote, ["runPodSandbox", "createContainer", "startContainer"]));
let server: SocketServer | undefined;
let resolveSnapshot: () => void = () => {};
const snapshot = new Promise<void>((resolve) => (resolveSnapshot = resolve));

init.feed.on("message", (message: FeedMessage) => {
  if (message.type === "close") {
    void answers.settled({ timeoutMs: answersAtCloseMs }).then(() => server?.close()).then(() => report({ type: "closed" }), (error: unknown) => {
      log.error("Cannot close the socket server", { error });
      report({ type: "closed" });
    });
    return;
  }
  if (message.type === "metrics") {
    const { requestId } = message;
    void metrics.text().then((text) => report({ type: "metrics", requestId, text }), (error: unknown) => {
      log.error("Cannot make the API thread's metrics", { error });
      report({ type: "metrics", requestId, text: "" });
    });
    return;
  }
  for (const item of message.items) {
    if (item.kind === "hook") service.hook(item.callId, item.name, item.value);
    else replica.apply(item);
  }
  replica.advance(message.seq);
  resolveSnapshot(); // the first message is every status as it was: answer nothing before it
});

try {
  await snapshot;
  server = await startSocketServer({ ...init.socket, service });
  report({ type: "listening" });
} catch (error) {
  report({ type: "failed", message: (error as Error).message });
}
