import type { JSONRPCID } from "json-rpc-2.0";
import type { z } from "zod";
import type { PodService } from "./pod-service.ts";

/** What a handler gets besides its params: the daemon's verbs, and a way to stream notifications. */
export interface RequestContext {
  service: PodService;
  requestId: JSONRPCID | undefined;
  /** Sends a JSON-RPC notification on the request's connection. */
  notify(method: string, params: unknown): void;
}

export interface ApiMethod {
  name: string;
  handle(params: unknown, context: RequestContext): Promise<unknown>;
}

/**
 * A method of the API: its params are validated against `schema` before `handle` sees them; a
 * mismatch is an INVALID_ARGUMENT error.
 *
 * @example
 * export const removeContainer = defineMethod("RemoveContainer", schemas.containerTarget, async (p, { service }) => {
 *   await service.removeContainer(p.containerId);
 *   return {};
 * });
 */
export function defineMethod<S extends z.ZodType>(
  name: string,
  schema: S,
  handle: (params: z.output<S>, context: RequestContext) => unknown,
): ApiMethod {
  return {
    name,
    handle: async (params, context) => handle(schema.parse(params), context),
  };
}
