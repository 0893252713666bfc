/** A CRI client for tests: @grpc/grpc-js on the daemon's CRI socket, each call a promise. */
import * as grpc from "@grpc/grpc-js";
import { loadCriPackage } from "../../src/cri/cri-server.ts";

export type Reply = Record<string, any>;

export interface CriClient {
  runtime(method: string, request?: Reply, options?: { deadlineMs?: number }): Promise<Reply>;
  image(method: string, request?: Reply): Promise<Reply>;
  close(): void;
}

export function connectCri(socket: string): CriClient {
  const { RuntimeService, ImageService } = loadCriPackage();
  const runtime = new RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure());
  const image = new ImageService(`unix://${socket}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  const call = (client: grpc.Client, method: string, request: Reply = {}, options: { deadlineMs?: number } = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const callOptions: grpc.CallOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
      (client as unknown as Record<string, Function>)[method](request, callOptions, (error: grpc.ServiceError | null, reply: Reply) => (error === null ? resolve(reply) : reject(error)));
    });
  return {
    runtime: (method, request, options) => call(runtime, method, request, options),
    image: (method, request) => call(image, method, request),
    close() {
      runtime.close();
      image.close();
    },
  };
}

/** The gRPC status a call failed with (and its message), for `expect`. */
export async function failure(promise: Promise<unknown>): Promise<{ code: string; details: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, details } = error as grpc.ServiceError;
    return { code: grpc.status[code], details };
  }
  throw new Error("The call succeeded");
}
