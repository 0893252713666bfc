import { CliError, describeFailure } from "./cli-error.ts";
import { formatBatchSummary, isStructured, printData } from "./output.ts";
import type { OutputFormat } from "./output.ts";

export interface EachIdOptions {
  output: OutputFormat;
  /** Names the work on one id in an error line: `(id) => \`stop container ${id}\``. */
  action: (id: string) => string;
  /** For the summary line after a batch of more than one: `{ verb: "Stopped", noun: "containers" }`. */
  summary?: { verb: string; noun: string };
}

/**
 * Runs `work` for every id at once, prints the ids it succeeded for (one a line, as crictl does;
 * a JSON or YAML list with `-o json|yaml`), then, for more than one id with table output, one
 * summary line on stderr (stdout stays the ids, for scripts); then throws one line naming what
 * failed, if anything did.
 *
 * @example
 * await forEachId(ids, (id) => client.call("StartContainer", { containerId: id }), { output, action: (id) => `start container ${id}` });
 */
export async function forEachId(ids: string[], work: (id: string) => Promise<unknown>, options: EachIdOptions): Promise<void> {
  const startedAt = performance.now();
  const results = await Promise.allSettled(ids.map((id) => work(id)));
  const done = ids.filter((_id, index) => results[index].status === "fulfilled");
  if (isStructured(options.output)) printData(done, options.output);
  else for (const id of done) console.log(id);
  if (options.summary !== undefined && ids.length > 1 && !isStructured(options.output)) {
    const elapsedMs = performance.now() - startedAt;
    console.error(formatBatchSummary({ ...options.summary, done: done.length, total: ids.length, elapsedMs }));
  }
  const failures = ids.flatMap((id, index) => {
    const result = results[index];
    return result.status === "rejected" ? [describeFailure(options.action(id), result.reason)] : [];
  });
  if (failures.length === 0) return;
  const more = failures.length > 1 ? `; ${failures.length - 1} more of ${ids.length} failed too` : "";
  throw new CliError(failures[0] + more);
}
