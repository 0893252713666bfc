import { fstatSync } from "node:fs";
import { Logger } from "tslog";
import type { TLogLevelName } from "tslog";

/** The levels a user may choose, lowest first. */
export const logLevels = ["silly", "trace", "debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof logLevels)[number];
/**
 * json: one JSON object a line; pretty: a line of text for people; journal: the pretty line without
 * its time (the journal keeps one), prefixed with the syslog level `<N>` that journald reads
 * (sd-daemon(3)), so that `journalctl -p warning` finds the warnings.
 */
export const logFormats = ["json", "pretty", "journal"] as const;
export type LogFormat = (typeof logFormats)[number];

/** The one root logger; every room and actor takes a sub-logger of it with {@link getLogger}. */
const root = new Logger<Record<string, unknown>>({
  name: "podvisor",
  type: "hidden",
  minLevel: levelName(process.env.PODVISOR_LOG_LEVEL ?? "info"),
  stack: { capture: "off" },
});

// A nested Error would otherwise be serialised as `{}`: keep what a reader needs of it.
root.use((context) => {
  context.args = context.args.map((argument) => {
    if (argument === null || typeof argument !== "object" || argument instanceof Error) return argument;
    const entries = Object.entries(argument).map(([key, value]) => [key, value instanceof Error ? describeError(value) : value]);
    return Object.fromEntries(entries);
  });
  return context;
});

/** The parts of an error worth a log line: name, code, message, and the cause's message. */
export function describeError(error: Error): Record<string, unknown> {
  const { code } = error as { code?: unknown };
  const cause = error.cause instanceof Error ? error.cause.message : error.cause;
  return { name: error.name, message: error.message, ...(code === undefined ? {} : { code }), ...(cause === undefined ? {} : { cause }) };
}

const rooms = new Map<string, Logger<Record<string, unknown>>>();
// A worker thread (the actors', the API's) finds the format its daemon chose in the environment
// (configureLogging puts it there): its own stderr is a pipe to the main thread's, never a terminal.
let format: LogFormat = defaultLogFormat();
root.attachTransport({
  name: "stderr",
  format: "json",
  write(record, line) {
    // Logs go to stderr so that a command's own output on stdout stays machine-readable.
    const text = format === "json" ? line : format === "pretty" ? prettyLine(record) : journalLine(record);
    process.stderr.write(`${text}\n`);
  },
});

/**
 * The format when none is given: $PODVISOR_LOG_FORMAT; else journal when stderr is the journal
 * ($JOURNAL_STREAM names stderr's device and inode, as systemd sets it); else pretty on a terminal;
 * else json.
 */
export function defaultLogFormat(): LogFormat {
  const chosen = process.env.PODVISOR_LOG_FORMAT;
  if ((logFormats as readonly string[]).includes(chosen ?? "")) return chosen as LogFormat;
  if (stderrIsJournal()) return "journal";
  return process.stderr.isTTY ? "pretty" : "json";
}

function stderrIsJournal(): boolean {
  const stream = process.env.JOURNAL_STREAM;
  if (stream === undefined || !/^\d+:\d+$/.test(stream)) return false;
  try {
    const { dev, ino } = fstatSync(2);
    return stream === `${dev}:${ino}`;
  } catch {
    return true; // stderr cannot be examined: trust the variable
  }
}

/**
 * A sub-logger for one room (`host:netns`) or one actor (`sandbox:<id>`).
 *
 * @example
 * const log = getLogger("host:netns");
 * log.info("Removed network namespace", { name });
 */
export function getLogger(name: string): Logger<Record<string, unknown>> {
  let logger = rooms.get(name);
  if (logger === undefined) {
    logger = root.getSubLogger({ name });
    rooms.set(name, logger);
  }
  return logger;
}

/**
 * A short-lived sub-logger (one per actor, say) that is not kept: it takes the level in force
 * when it is made.
 */
export function getTransientLogger(name: string): Logger<Record<string, unknown>> {
  return root.getSubLogger({ name });
}

/**
 * Sets the level and format of every logger; the daemon calls it once from its flags, before it
 * starts any thread. Both go into the environment, the format even when it was not given (its
 * default read here, on the main thread, where stderr is what the user sees): a worker thread (the
 * actors', the API's, the record writer's) starts with a copy of the environment, and has loggers of
 * its own that read it, so that every thread writes the same format.
 */
export function configureLogging(options: { level?: LogLevel; format?: LogFormat }): void {
  if (options.level !== undefined) {
    const level = levelName(options.level);
    root.setMinLevel(level);
    for (const logger of rooms.values()) logger.setMinLevel(level);
    process.env.PODVISOR_LOG_LEVEL = options.level;
  }
  format = options.format ?? defaultLogFormat();
  process.env.PODVISOR_LOG_FORMAT = format;
}

function levelName(level: string): TLogLevelName {
  const normalized = level.toLowerCase();
  if (!(logLevels as readonly string[]).includes(normalized)) {
    throw new RangeError(`Cannot set log level: "${level}" is not one of ${logLevels.join(", ")}`);
  }
  return normalized.toUpperCase() as TLogLevelName;
}

/** sd-daemon(3)'s prefixes: `<3>` error, `<4>` warning, `<6>` info, `<7>` debug (fatal is `<2>`, critical). */
const syslogLevels: Record<string, number> = { SILLY: 7, TRACE: 7, DEBUG: 7, INFO: 6, WARN: 4, ERROR: 3, FATAL: 2 };

function journalLine(record: Record<string, unknown>): string {
  const meta = record._logMeta as { logLevelName?: string } | undefined;
  return `<${syslogLevels[meta?.logLevelName ?? ""] ?? 6}>${prettyLine(record, false)}`;
}

function prettyLine(record: Record<string, unknown>, withTime = true): string {
  const meta = record._logMeta as { date?: Date; logLevelName?: string; name?: string } | undefined;
  const time = withTime ? (meta?.date instanceof Date ? meta.date : new Date()).toISOString() : undefined;
  const fields = Object.entries(record)
    .filter(([key]) => key !== "_logMeta" && !/^\d+$/.test(key))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  const words = Object.entries(record)
    .filter(([key]) => /^\d+$/.test(key))
    .map(([, value]) => (typeof value === "string" ? value : JSON.stringify(value)));
  // A value with a newline (a stack, say) stays on the line: JSON.stringify escapes it in fields, words are escaped here.
  const line = [...(time === undefined ? [] : [time]), meta?.logLevelName ?? "", `[${meta?.name ?? "podvisor"}]`, ...words, ...fields].join(" ");
  return line.replaceAll("\n", "\\n");
}
