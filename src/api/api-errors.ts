import type { JSONRPCError } from "json-rpc-2.0";
import { z } from "zod";
import { getLogger } from "../log/logger.ts";

/**
 * The error codes a client may see in `error.data.code`, a small set shaped like gRPC's (the CRI
 * speaks gRPC). Match on these, never on messages. An internal error's own code, when it has
 * one, is kept in `error.data.reason`.
 */
export const apiErrorCodes = {
  INVALID_ARGUMENT: -32602,
  NOT_FOUND: -32001,
  ALREADY_EXISTS: -32002,
  FAILED_PRECONDITION: -32003,
  DEADLINE_EXCEEDED: -32004,
  PERMISSION_DENIED: -32005,
  /** A stop that did not finish; the sandbox stays not-stopped: retry the stop. */
  STOP_INCOMPLETE: -32006,
  UNAVAILABLE: -32007,
  RESOURCE_EXHAUSTED: -32008,
  /** No such method (JSON-RPC's "method not found"). */
  UNIMPLEMENTED: -32601,
  INTERNAL: -32603,
} as const;
export type ApiErrorCode = keyof typeof apiErrorCodes;

/** Internal codes with a documented meaning; the internal code stays in `data.reason`. */
const aliases: Record<string, ApiErrorCode> = {
  ACTOR_LOST: "UNAVAILABLE",
  // Not even the wrapper could be spawned (its cwd does not exist, …): the container stays created.
  START_FAILED: "FAILED_PRECONDITION",
};
const log = getLogger("api");

/** Turns anything a handler threw into a JSON-RPC error with a documented `data.code`. */
export function toRpcError(error: unknown): JSONRPCError {
  if (error instanceof z.ZodError) {
    const issues = error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
    const first = issues[0];
    return rpcError("INVALID_ARGUMENT", `Invalid params: ${first.path === "" ? "" : `${first.path}: `}${first.message}`, { issues });
  }
  if (error instanceof TypeError || error instanceof RangeError) return rpcError("INVALID_ARGUMENT", error.message);
  const { code, details } = (error ?? {}) as { code?: unknown; details?: unknown };
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === "string" && code in apiErrorCodes) return rpcError(code as ApiErrorCode, message, details);
  if (typeof code === "string" && code in aliases) return rpcError(aliases[code], message, details, code);
  log.error("Request failed with an internal error", { error: error instanceof Error ? error : String(error) });
  return rpcError("INTERNAL", message, details, typeof code === "string" ? code : undefined);
}

export function rpcError(code: ApiErrorCode, message: string, details?: unknown, reason?: string): JSONRPCError {
  return {
    code: apiErrorCodes[code],
    message,
    data: { code, ...(reason === undefined ? {} : { reason }), ...(details === undefined ? {} : { details }) },
  };
}
