import Table from "cli-table3";
import { stringify } from "yaml";

/** How a client command prints its result: a table for people, JSON or YAML for scripts. */
export type OutputFormat = "table" | "json" | "yaml";
export const outputFormats: OutputFormat[] = ["table", "json", "yaml"];

/** Whether the format is data for a script (JSON, YAML) rather than a table for people. */
export function isStructured(output: OutputFormat): output is "json" | "yaml" {
  return output !== "table";
}

/**
 * Whether a stream may carry ANSI colours: a terminal, no `NO_COLOR` (https://no-color.org), and
 * not TERM=dumb. Piped to a file or another program, output is plain text.
 */
export function colorEnabled(stream: { isTTY?: boolean } = process.stdout): boolean {
  const noColor = process.env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === "") && process.env.TERM !== "dumb";
}

/** How many characters of an id a table shows, as crictl does. */
export const shortIdLength = 13;

const borderless = {
  top: "", "top-mid": "", "top-left": "", "top-right": "",
  bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
  left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "",
  middle: "   ",
};

/**
 * Columns aligned with three spaces between them and no borders, like crictl's tables.
 *
 * @example
 * formatTable(["POD ID", "STATE"], [["59gh7s3g5bhnw", "ready"]]);
 * // "POD ID          STATE\n59gh7s3g5bhnw   ready"
 */
export function formatTable(head: string[], rows: (string | number | undefined)[][]): string {
  // The head is bold on a terminal that takes colour, else plain. The bold is written here, not by
  // cli-table3's style: its colour library decides on its own (it turns itself off wherever CI is set).
  const bold = colorEnabled();
  const style = { head: [], border: [], "padding-left": 0, "padding-right": 0 };
  const table = new Table({ head: bold ? head.map((cell) => `\x1b[1m${cell}\x1b[22m`) : head, chars: borderless, style });
  table.push(...rows.map((row) => row.map((cell) => (cell === undefined ? "" : String(cell)))));
  return table.toString().split("\n").map((line) => line.trimEnd()).join("\n");
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Prints a value on stdout as `-o` says: YAML for `yaml`, else indented JSON. */
export function printData(value: unknown, output: OutputFormat): void {
  if (output === "yaml") process.stdout.write(stringify(value ?? null));
  else printJson(value);
}

export function shortId(id: string): string {
  return id.slice(0, shortIdLength);
}

/**
 * How long ago `time` was, in words, as `docker ps` and crictl say it.
 *
 * @example
 * formatAge(Date.now() - 5_000); // "5 seconds ago"
 */
export function formatAge(time: number, now: number = Date.now()): string {
  return `${humanDuration(Math.max(0, now - time))} ago`;
}

function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1_000);
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (days < 14) return `${days} days`;
  if (days < 60) return `${Math.floor(days / 7)} weeks`;
  if (days < 730) return `${Math.floor(days / 30)} months`;
  return `${Math.floor(days / 365)} years`;
}

/**
 * The one line after a batch, for people.
 *
 * @example
 * formatBatchSummary({ verb: "Stopped", noun: "pod sandboxes", done: 998, total: 1000, elapsedMs: 2_140 });
 * // "Stopped 998 of 1000 pod sandboxes in 2.1 s; 2 failed"
 */
export function formatBatchSummary(batch: { verb: string; noun: string; done: number; total: number; elapsedMs: number }): string {
  const failed = batch.total - batch.done;
  const line = `${batch.verb} ${batch.done} of ${batch.total} ${batch.noun} in ${(batch.elapsedMs / 1_000).toFixed(1)} s`;
  return failed === 0 ? line : `${line}; ${failed} failed`;
}

/** A duration for a summary: "850ms", "1.2s". */
export function formatDuration(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)}ms` : `${(ms / 1_000).toFixed(1)}s`;
}
