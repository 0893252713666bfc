/**
 * The CRI v1 endpoint: `runtime.v1.RuntimeService` and `runtime.v1.ImageService` over gRPC on a
 * unix socket (mode 0600), served with @grpc/grpc-js on the daemon's main thread, beside the
 * supervisor: its calls reach the supervisor directly (status and list read the main thread's
 * records; a stop of thousands keeps them waiting, which the JSON-RPC API on its own thread does not).
 * docs/CRI.md says what is served and how each field is honoured.
 */
import { chmod, mkdir, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { canConnect } from "../api/socket-probe.ts";
import { getLogger } from "../log/logger.ts";
import { containerHandlers } from "./container-handlers.ts";
import { toServiceError } from "./cri-errors.ts";
import { CriLogs } from "./cri-log.ts";
import { execHandlers } from "./exec-handler.ts";
import type { Message } from "./cri-message.ts";
import type { CriContext, CriPodService, Handler } from "./cri-service.ts";
import { imageHandlers } from "./image-handlers.ts";
import { runtimeInfoHandlers } from "./runtime-info-handlers.ts";
import { sandboxHandlers } from "./sandbox-handlers.ts";
import { statsHandlers } from "./stats-handlers.ts";

const log = getLogger("cri");
const protoPath = new URL("./api.proto", import.meta.url).pathname;

export interface CriServer {
  path: string;
  close(): Promise<void>;
}

/** How the proto's messages are decoded: field names as in the proto, enums as names, int64 as numbers, defaults filled in. */
export const protoOptions: protoLoader.Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

/** The loaded services (also for tests' clients). */
export function loadCriPackage(): { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } {
  const definition = protoLoader.loadSync(protoPath, protoOptions);
  const runtime = (grpc.loadPackageDefinition(definition).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return { RuntimeService: runtime.RuntimeService as grpc.ServiceClientConstructor, ImageService: runtime.ImageService as grpc.ServiceClientConstructor };
}

export async function startCriServer(options: { path: string; service: CriPodService; root: string }): Promise<CriServer> {
  const { RuntimeService, ImageService } = loadCriPackage();
  const logs = new CriLogs((id) => {
    try {
      return options.service.containerStatus(id);
    } catch {
      return undefined;
    }
  }, { rawOutput: (options.service.backendName ?? "process").includes("process") });
  const context: CriContext = { service: options.service, root: options.root, logs };
  const server = new grpc.Server({ "grpc.max_receive_message_length": 16 * 1024 * 1024 });
  server.addService(RuntimeService.service, implementation(RuntimeService.service, { ...runtimeInfoHandlers, ...sandboxHandlers, ...containerHandlers, ...execHandlers, ...statsHandlers }, context));
  server.addService(ImageService.service, implementation(ImageService.service, imageHandlers, context));
  await mkdir(dirname(options.path), { recursive: true, mode: 0o755 });
  if (await canConnect(options.path)) throw new Error(`Cannot serve the CRI on ${options.path}: another daemon is answering there`);
  await unlink(options.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${options.path}`, grpc.ServerCredentials.createInsecure(), (error) => (error === null ? resolve() : reject(error)));
  });
  await chmod(options.path, 0o600);
  // A daemon restarted while containers ran: their CRI logs are followed again (from now on).
  for (const status of options.service.listContainers({ state: "running" })) logs.follow(status, { fromEnd: true });
  log.info("Serving the CRI", { path: options.path });
  return {
    path: options.path,
    async close() {
      logs.close();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await unlink(options.path).catch(() => {});
    },
  };
}

/** Every method of a service: its handler, or UNIMPLEMENTED for a method this daemon does not serve. */
function implementation(service: grpc.ServiceDefinition, handlers: Record<string, Handler>, context: CriContext): grpc.UntypedServiceImplementation {
  const methods: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(service)) {
    const handler = handlers[name];
    methods[name] = (call: grpc.ServerUnaryCall<Message, Message>, callback: grpc.sendUnaryData<Message>) => {
      if (handler === undefined) {
        callback(toServiceError(Object.assign(new Error(`Cannot ${name}: not implemented`), { code: "UNIMPLEMENTED" })));
        return;
      }
      Promise.resolve()
        .then(() => handler(context, call.request, call))
        .then((response) => callback(null, response), (error: unknown) => callback(toServiceError(error)));
    };
  }
  return methods;
}
