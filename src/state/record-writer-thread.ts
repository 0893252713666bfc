/**
 * The entry of the record writer's thread (see `record-writer.ts`): it takes batches of record
 * writes and writes them with `RecordFiles`, in order, synchronously; answers each batch with the
 * failures, by request id.
 */
import { parentPort } from "node:worker_threads";
import { RecordFiles } from "./record-file.ts";
import type { WriterReply, WriterRequest } from "./record-writer.ts";

const files = new RecordFiles();
const port = parentPort as NonNullable<typeof parentPort>;

port.on("message", (batch: WriterRequest[]) => {
  const failed: WriterReply["failed"] = [];
  for (const request of batch) {
    if (request.op === "forget") {
      files.forget(request.path);
      continue;
    }
    try {
      files.write(request.path, request.text);
    } catch (error) {
      const { code, message, details } = error as { code?: string; message: string; details?: Record<string, unknown> };
      failed.push({ id: request.id, code: code ?? "INTERNAL", message, details });
    }
  }
  port.postMessage({ last: batch.at(-1)?.id ?? -1, failed } satisfies WriterReply);
});
