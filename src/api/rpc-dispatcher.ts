import { JSONRPCServer } from "json-rpc-2.0";
import type { JSONRPCError, JSONRPCID, JSONRPCRequest, JSONRPCResponse } from "json-rpc-2.0";
import type { RequestContext } from "./api-method.ts";
import { getLogger } from "../log/logger.ts";
import { rpcError, toRpcError } from "./api-errors.ts";
import { apiMethods } from "./methods.ts";

const log = getLogger("api");

/** Per connection: where notifications go. */
export interface ConnectionContext {
  context: Omit<RequestContext, "requestId">;
}

export interface RpcDispatcherOptions {
  /** The most requests one batch may hold; a longer batch is refused whole. Default 64. */
  maxBatchLength?: number;
}

/** A line, parsed: how many requests it holds, and how to run them. */
export interface ParsedLine {
  /** 1 for anything but a batch; a batch's length (what it costs a connection's in-flight budget). */
  requests: number;
  run(context: Omit<RequestContext, "requestId">): Promise<JSONRPCResponse | JSONRPCResponse[] | null>;
}

/**
 * Parses one line of JSON-RPC 2.0 (a request, a notification, or a batch), runs the methods it
 * names, and answers: garbage gets a parse error, anything but a request object (a wrong-typed
 * `id` or `method` included) "invalid request", an unknown method "method not found", bad params
 * an INVALID_ARGUMENT error. Nothing a client sends can throw out of here, and nothing it sent is
 * echoed but a well-formed id.
 */
export class RpcDispatcher {
  // Errors are logged once, where they are mapped (api-errors.ts), not by the library too.
  #server = new JSONRPCServer<RequestContext>({ errorListener: () => {} });
  #maxBatchLength: number;

  constructor(options: RpcDispatcherOptions = {}) {
    this.#maxBatchLength = options.maxBatchLength ?? 64;
    this.#server.mapErrorToJSONRPCErrorResponse = (id, error) => ({ jsonrpc: "2.0", id, error: toRpcError(error) });
    for (const method of apiMethods) {
      this.#server.addMethodAdvanced(method.name, async (request, context) => {
        const result = await method.handle(request.params, { ...context, requestId: request.id });
        return request.id === undefined ? null : { jsonrpc: "2.0", id: request.id, result };
      });
    }
  }

  /** Parses `line`; nothing runs until `run` is called. */
  parse(line: string): ParsedLine {
    let payload: unknown;
    try {
      payload = JSON.parse(line);
    } catch {
      return answered(errorResponse(null, { code: -32700, message: "Parse error", data: { code: "INVALID_ARGUMENT" } }));
    }
    if (!Array.isArray(payload)) return { requests: 1, run: (context) => this.#receive(payload, context) };
    if (payload.length === 0) return answered(invalidRequest(null));
    if (payload.length > this.#maxBatchLength) {
      return answered(errorResponse(null, rpcError("RESOURCE_EXHAUSTED", `Batch of ${payload.length} requests, over the limit of ${this.#maxBatchLength}`)));
    }
    return {
      requests: payload.length,
      run: async (context) => {
        const responses = await Promise.all(payload.map((request) => this.#receive(request, context)));
        const answers = responses.filter((response) => response !== null);
        return answers.length === 0 ? null : answers;
      },
    };
  }

  /** Parses and runs `line` at once. */
  dispatch(line: string, context: Omit<RequestContext, "requestId">): Promise<JSONRPCResponse | JSONRPCResponse[] | null> {
    return this.parse(line).run(context);
  }

  async #receive(request: unknown, context: Omit<RequestContext, "requestId">): Promise<JSONRPCResponse | null> {
    if (!isRequest(request)) return invalidRequest(idOf(request));
    try {
      const response = await this.#server.receive(request, { ...context, requestId: undefined });
      return response === null ? null : withDataCode(response);
    } catch (error) {
      // The library threw (it should not): still an answer, never a dropped request.
      log.error("Dispatch failed", { error: error instanceof Error ? error : String(error) });
      return request.id === undefined ? null : errorResponse(request.id, toRpcError(error));
    }
  }
}

function answered(response: JSONRPCResponse): ParsedLine {
  return { requests: 1, run: async () => response };
}

/** A request object whose `id`, when present, is one JSON-RPC allows, and whose `method` is a string. */
function isRequest(value: unknown): value is JSONRPCRequest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const request = value as Record<string, unknown>;
  return typeof request.method === "string" && (!("id" in request) || isId(request.id));
}

function isId(value: unknown): value is JSONRPCID {
  return typeof value === "string" || typeof value === "number" || value === null;
}

function idOf(value: unknown): JSONRPCID {
  const id = typeof value === "object" && value !== null ? (value as { id?: unknown }).id : null;
  return isId(id) ? id : null;
}

function invalidRequest(id: JSONRPCID): JSONRPCResponse {
  return errorResponse(id, { code: -32600, message: "Invalid Request", data: { code: "INVALID_ARGUMENT" } });
}

function errorResponse(id: JSONRPCID, error: JSONRPCError): JSONRPCResponse {
  return { jsonrpc: "2.0", id, error };
}

/** The library's own errors (invalid request, unknown method) get a `data.code` too. */
function withDataCode(response: JSONRPCResponse): JSONRPCResponse {
  if (response.error === undefined || response.error.data?.code !== undefined) return response;
  const code = response.error.code === -32601 ? "UNIMPLEMENTED" : "INVALID_ARGUMENT";
  return { ...response, error: { ...response.error, data: { ...response.error.data, code } } };
}
