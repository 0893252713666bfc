import { JSONRPCServer } from "json-rpc-2.0";
import type { JSONRPCResponse } from "json-rpc-2.0";
import type { RequestContext } from "./api-method.ts";
import { toRpcError } from "./api-errors.ts";
import { apiMethods } from "./methods.ts";

/** Per connection: where notifications go. */
export interface ConnectionContext {
  context: Omit<RequestContext, "requestId">;
}

/**
 * Parses one line of JSON-RPC 2.0 (a request, a notification, or a batch), runs the methods it
 * names, and answers: garbage gets a parse error, an unknown method "method not found", bad params
 * an INVALID_ARGUMENT error. Nothing a client sends can throw out of here.
 */
export class RpcDispatcher {
  // Errors are logged once, where they are mapped (api-errors.ts), not by the library too.
  #server = new JSONRPCServer<RequestContext>({ errorListener: () => {} });

  constructor() {
    this.#server.mapErrorToJSONRPCErrorResponse = (id, error) => ({ jsonrpc: "2.0", id, error: toRpcError(error) });
    for (const method of apiMethods) {
      this.#server.addMethodAdvanced(method.name, async (request, context) => {
        const result = await method.handle(request.params, { ...context, requestId: request.id });
        return request.id === undefined ? null : { jsonrpc: "2.0", id: request.id, result };
      });
    }
  }

  async dispatch(line: string, context: Omit<RequestContext, "requestId">): Promise<JSONRPCResponse | JSONRPCResponse[] | null> {
    const response = await this.#server.receiveJSON(line, { ...context, requestId: undefined });
    if (response === null) return null;
    return Array.isArray(response) ? response.map(withDataCode) : withDataCode(response);
  }
}

/** The library's own errors (parse error, invalid request, unknown method) get a `data.code` too. */
function withDataCode(response: JSONRPCResponse): JSONRPCResponse {
  if (response.error === undefined || response.error.data?.code !== undefined) return response;
  const code = response.error.code === -32601 ? "UNIMPLEMENTED" : "INVALID_ARGUMENT";
  return { ...response, error: { ...response.error, data: { ...response.error.data, code } } };
}
