import * as Comlink from "comlink/dist/esm/comlink.mjs";
import { CodedError, fromErrorData, toErrorData } from "../errors/coded-error.ts";
import type { ErrorData } from "../errors/coded-error.ts";

export { Comlink };
export { default as nodeEndpoint } from "comlink/dist/esm/node-adapter.mjs";

let installed = false;

/**
 * Comlink drops an error's `code`, `cause` and class when it crosses a thread. This handler sends
 * errors as {@link ErrorData} and rebuilds a {@link CodedError}. It must be installed on both sides
 * of a call, so it is installed when this module loads: every thread that speaks comlink imports
 * comlink from here. (Installed only on the workers, a control call's error reached the main
 * thread as `undefined`.) Idempotent.
 */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const original = Comlink.transferHandlers.get("throw");
  Comlink.transferHandlers.set("throw", {
    canHandle: (value: unknown): value is { value: unknown } => original?.canHandle(value) ?? false,
    serialize: ({ value }: { value: unknown }) => [{ data: toErrorData(value) }, []],
    deserialize: (serialized: { data?: ErrorData }): never => {
      throw serialized.data === undefined ? new CodedError("INTERNAL", "Unknown error") : fromErrorData(serialized.data);
    },
  } as Comlink.TransferHandler<{ value: unknown }, { data?: ErrorData }>);
}

installErrorTransfer();
