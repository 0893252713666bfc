import { Logger } from "tslog";
import type { TLogLevelName } from "tslog";

/** The levels a user may choose, lowest first. */
export const logLevels = ["silly", "trace", "debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogFormat = "json" | "pretty";

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
let format: LogFormat = process.env.PODVISOR_LOG_FORMAT === "json" || process.env.PODVISOR_LOG_FORMAT === "pretty"
  ? process.env.PODVISOR_LOG_FORMAT
  : process.stderr.isTTY ? "pretty" : "json";
root.attachTransport({
  name: "stderr",
  format: "json",
  write(record, line) {
    // Logs go to stderr so that a command's own output on stdout stays machine-readable.
    process.stderr.write(format === "json" ? `${line}\n` : `${prettyLine(record)}\n`);
  },
});

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
 * Sets the level and format of every logger; the daemon calls it once from its flags. They go into
 * the environment too: a worker thread (the actors', the API's) starts with a copy of it, and has
 * loggers of its own that read it.
 */
export function configureLogging(options: { level?: LogLevel; format?: LogFormat }): void {
  if (options.level !== undefined) {
    const level = levelName(options.level);
    root.setMinLevel(level);
    for (const logger of rooms.values()) logger.setMinLevel(level);
    process.env.PODVISOR_LOG_LEVEL = options.level;
  }
  if (options.format !== undefined) {
    format = options.format;
    process.env.PODVISOR_LOG_FORMAT = options.format;
  }
}

function levelName(level: string): TLogLevelName {
  const normalized = level.toLowerCase();
  if (!(logLevels as readonly string[]).includes(normalized)) {
    throw new RangeError(`Cannot set log level: "${level}" is not one of ${logLevels.join(", ")}`);
  }
  return normalized.toUpperCase() as TLogLevelName;
}

function prettyLine(record: Record<string, unknown>): string {
  const meta = record._logMeta as { date?: Date; logLevelName?: string; name?: string } | undefined;
  const time = (meta?.date instanceof Date ? meta.date : new Date()).toISOString();
  const fields = Object.entries(record)
    .filter(([key]) => key !== "_logMeta" && !/^\d+$/.test(key))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  const words = Object.entries(record)
    .filter(([key]) => /^\d+$/.test(key))
    .map(([, value]) => (typeof value === "string" ? value : JSON.stringify(value)));
  return [time, meta?.logLevelName ?? "", `[${meta?.name ?? "podvisor"}]`, ...words, ...fields].join(" ");
}
