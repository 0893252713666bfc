import { SingleBar } from "cli-progress";
import { ApiError, CliError, describeFailure, describeReason } from "./cli-error.ts";
import { formatBatchSummary, formatDuration, formatTable, isStructured, printData, shortId } from "./output.ts";
import type { OutputFormat } from "./output.ts";

/** What became of one sandbox in a batch: printed in the summary, and as JSON with `-o json`. */
export interface SandboxOutcome {
  podSandboxId: string;
  ok: boolean;
  durationMs: number;
  error?: { code?: string; message: string };
}

export interface SandboxBatchOptions {
  output: OutputFormat;
  /** What is done to each sandbox; names it in the progress bar, the summary and the error line. */
  verb: "stop" | "remove";
  /** When the batch began (`performance.now()`), for the summary line; default: the longest outcome. */
  startedAt?: number;
}

const labels = { stop: ["Stopping", "Stopped"], remove: ["Removing", "Removed"] } as const;

/**
 * Runs `work` for every sandbox at once and gathers each outcome; a failure is that sandbox's
 * outcome, never a throw. On a terminal, with table output and more than one sandbox, a progress
 * bar on stderr counts the sandboxes done and shows the latest phase reported.
 *
 * @example
 * const outcomes = await runSandboxBatch(ids, (id, onPhase) => stop(id, onPhase), { output, verb: "stop" });
 * reportSandboxBatch(outcomes, { output, verb: "stop" });
 */
export async function runSandboxBatch(
  ids: string[],
  work: (id: string, onPhase: (phase: string) => void) => Promise<void>,
  options: SandboxBatchOptions,
): Promise<SandboxOutcome[]> {
  const bar = progressBar(ids.length, options);
  try {
    return await Promise.all(ids.map(async (id) => {
      const startedAt = performance.now();
      const onPhase = (phase: string) => bar?.update({ phase: `${shortId(id)} ${phase}` });
      try {
        await work(id, onPhase);
        return { podSandboxId: id, ok: true, durationMs: Math.round(performance.now() - startedAt) };
      } catch (error) {
        const code = error instanceof ApiError ? error.code : undefined;
        const message = describeReason(`${options.verb} pod sandbox ${id}`, error);
        return { podSandboxId: id, ok: false, durationMs: Math.round(performance.now() - startedAt), error: { code, message } };
      } finally {
        bar?.increment();
      }
    }));
  } finally {
    bar?.stop();
  }
}

/**
 * Prints the outcomes: for one sandbox the line crictl prints, for several a table and one summary
 * line (`Stopped 998 of 1000 pod sandboxes in 2.1 s; 2 failed`), with `-o json|yaml` the outcomes.
 * Then, if any failed, throws one line saying what failed.
 */
export function reportSandboxBatch(outcomes: SandboxOutcome[], options: SandboxBatchOptions): void {
  if (isStructured(options.output)) printData(outcomes, options.output);
  else if (outcomes.length > 1) {
    const rows = outcomes.map((outcome) => [shortId(outcome.podSandboxId), outcome.ok ? "ok" : "failed", formatDuration(outcome.durationMs), outcome.error && withCode(outcome.error)]);
    console.log(formatTable(["POD ID", "RESULT", "DURATION", "ERROR"], rows));
    const elapsedMs = options.startedAt === undefined ? Math.max(...outcomes.map((outcome) => outcome.durationMs)) : performance.now() - options.startedAt;
    const done = outcomes.filter((outcome) => outcome.ok).length;
    console.log(`\n${formatBatchSummary({ verb: labels[options.verb][1], noun: "pod sandboxes", done, total: outcomes.length, elapsedMs })}`);
  } else if (outcomes.length === 1 && outcomes[0].ok) console.log(`${labels[options.verb][1]} pod sandbox ${outcomes[0].podSandboxId}`);
  const failed = outcomes.filter((outcome) => !outcome.ok);
  if (failed.length === 0) return;
  const first = failed[0];
  const line = describeFailure(`${options.verb} pod sandbox ${first.podSandboxId}`, asError(first.error));
  const more = failed.length > 1 ? `; ${failed.length - 1} more of ${outcomes.length} pod sandboxes failed too (see the summary)` : "";
  throw new CliError(line + more);
}

/** A progress bar on stderr, only on a terminal, for table output, for more than one sandbox. */
export function progressBar(total: number, options: SandboxBatchOptions): SingleBar | undefined {
  return total > 1 && options.output === "table" && process.stderr.isTTY ? startBar(total, options.verb) : undefined;
}

function startBar(total: number, verb: SandboxBatchOptions["verb"]): SingleBar {
  const bar = new SingleBar({
    format: `${labels[verb][0]} pod sandboxes [{bar}] {value}/{total} {phase}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
    barsize: 30,
  });
  bar.start(total, 0, { phase: "" });
  return bar;
}

function withCode(error: { code?: string; message: string }): string {
  return error.code === undefined ? error.message : `${error.message} (${error.code})`;
}

function asError(error: SandboxOutcome["error"]): Error {
  if (error?.code === undefined) return new CliError(error?.message ?? "unknown failure");
  return new ApiError(error.message, { code: error.code });
}
