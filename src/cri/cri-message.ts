/**
 * The decoded shape of a CRI message as @grpc/proto-loader hands it over (`keepCase`, enums as
 * names, int64 as numbers, defaults filled in: an unset message field is null). Handlers read it
 * through these helpers, never trusting a field's presence.
 */
// deno-lint-ignore no-explicit-any
export type Message = Record<string, any>;

/** A nested message, or an empty one when unset. */
export function sub(message: Message | null | undefined, field: string): Message {
  const value = message?.[field];
  return typeof value === "object" && value !== null ? (value as Message) : {};
}

/** A string map field (labels, annotations …), never null. */
export function stringMap(value: unknown): Record<string, string> {
  return typeof value === "object" && value !== null ? { ...(value as Record<string, string>) } : {};
}

/** Epoch milliseconds as CRI's int64 nanoseconds (a string: a number would lose precision past 2^53). */
export function nanos(ms: number | undefined): string {
  return ms === undefined ? "0" : (BigInt(Math.round(ms)) * 1_000_000n).toString();
}

