/**
 * Whether and where the daemon serves the CRI. Not on Deno: @grpc/grpc-js's server crashes Deno
 * 2.9 inside its HTTP/2 layer (nghttp2) once a client that made ~120 calls on one connection
 * closes it — an open Deno bug, denoland/deno#36788. `test/cri/deno-grpc-bug.test.ts` shows it is
 * still there, and fails, saying so, the day Deno fixes it.
 */
import { getLogger } from "../log/logger.ts";
import { runtimeName, runtimeVersion } from "../platform/runtime.ts";
import type { CriPodService } from "./cri-service.ts";
import type { CriServer } from "./cri-server.ts";

const log = getLogger("cri");

export const denoGrpcBug = "https://github.com/denoland/deno/issues/36788";

/** Serves the CRI on `path` ("" or absent: off); on Deno, says why it does not, once, and serves nothing. */
export async function startCri(path: string | undefined, supervisor: CriPodService & { root: string }): Promise<CriServer | undefined> {
  if (path === undefined || path === "") return undefined;
  if (runtimeName === "deno") {
    log.warn("Not serving the CRI on Deno: @grpc/grpc-js's server crashes Deno inside nghttp2 once a client that made ~120 calls on one connection closes it (denoland/deno#36788); run the daemon on Node for the CRI", { criSocket: path, deno: runtimeVersion, bug: denoGrpcBug });
    return undefined;
  }
  const { startCriServer } = await import("./cri-server.ts");
  return startCriServer({ path, service: supervisor, root: supervisor.root });
}
