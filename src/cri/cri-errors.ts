/**
 * podvisor's error codes as gRPC status codes. The message is the one the JSON-RPC API gives; the
 * code is the same `code` the supervisor threw (the JSON-RPC API's `error.data.code`), so a client
 * of either sees one story.
 */
import { status as grpcStatus, Metadata } from "@grpc/grpc-js";
import type { ServiceError } from "@grpc/grpc-js";
import { z } from "zod";
import { toErrorData } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";

const log = getLogger("cri");

const codes: Record<string, grpcStatus> = {
  INVALID_ARGUMENT: grpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: grpcStatus.NOT_FOUND,
  ALREADY_EXISTS: grpcStatus.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpcStatus.FAILED_PRECONDITION,
  DEADLINE_EXCEEDED: grpcStatus.DEADLINE_EXCEEDED,
  PERMISSION_DENIED: grpcStatus.PERMISSION_DENIED,
  // A stop that did not finish: the sandbox stays not-stopped, and the stop may be retried.
  STOP_INCOMPLETE: grpcStatus.ABORTED,
  UNAVAILABLE: grpcStatus.UNAVAILABLE,
  RESOURCE_EXHAUSTED: grpcStatus.RESOURCE_EXHAUSTED,
  UNIMPLEMENTED: grpcStatus.UNIMPLEMENTED,
  INTERNAL: grpcStatus.INTERNAL,
  // The JSON-RPC API's aliases (src/api/api-errors.ts), the same here.
  ACTOR_LOST: grpcStatus.UNAVAILABLE,
  START_FAILED: grpcStatus.FAILED_PRECONDITION,
};

/** An error with a gRPC status: what a handler throws for what only the CRI refuses. */
export class CriError extends Error {
  readonly code: keyof typeof codes;

  constructor(code: keyof typeof codes, message: string) {
    super(message);
    this.name = "CriError";
    this.code = code;
  }
}

/** Anything a handler threw, as the gRPC error the client sees; podvisor's `code` travels in the `podvisor-code` trailer. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  if (error instanceof z.ZodError) {
    const first = error.issues[0];
    const path = first.path.join(".");
    return serviceError("INVALID_ARGUMENT", `Invalid request: ${path === "" ? "" : `${path}: `}${first.message}`);
  }
  const { code, message } = error instanceof CriError ? { code: error.code, message: error.message } : toErrorData(error);
  if (!(code in codes) || code === "INTERNAL") log.error("CRI request failed with an internal error", { error: error instanceof Error ? error : String(error) });
  return serviceError(code in codes ? code : "INTERNAL", message, code);
}

/** Whether an error is podvisor's NOT_FOUND (for the CRI's idempotent stops and removes). */
export function isNotFound(error: unknown): boolean {
  return (error instanceof CriError ? error.code : toErrorData(error).code) === "NOT_FOUND";
}

function serviceError(code: string, message: string, reason: string = code): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set("podvisor-code", reason);
  return { code: codes[code] ?? grpcStatus.INTERNAL, details: message, message, metadata };
}
