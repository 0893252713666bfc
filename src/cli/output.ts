import Table from "cli-table3";

/** How a client command prints its result: a table for people, JSON for scripts. */
export type OutputFormat = "table" | "json";
export const outputFormats: OutputFormat[] = ["table", "json"];

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
  const table = new Table({ head, chars: borderless, style: { head: [], border: [], "padding-left": 0, "padding-right": 0 } });
  table.push(...rows.map((row) => row.map((cell) => (cell === undefined ? "" : String(cell)))));
  return table.toString().split("\n").map((line) => line.trimEnd()).join("\n");
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
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

/** A duration for a summary: "850ms", "1.2s". */
export function formatDuration(ms: number): string {
  return ms < 1_000 ? `${Math.round(ms)}ms` : `${(ms / 1_000).toFixed(1)}s`;
}
