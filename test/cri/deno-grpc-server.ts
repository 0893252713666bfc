/**
 * A grpc-js server of the CRI's Version call on a unix socket, for `deno-grpc-bug.test.ts` to run
 * on Deno: it says "listening" on stdout once it serves, and runs until it is killed (or crashes).
 */
import * as grpc from "@grpc/grpc-js";
import { loadCriPackage } from "../../src/cri/cri-server.ts";

const socket = process.argv[2];
const { RuntimeService } = loadCriPackage();
const server = new grpc.Server();
server.addService(RuntimeService.service, {
  Version: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => callback(null, { version: "0.1.0", runtime_name: "deno-grpc-bug" }),
});
server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (error) => {
  if (error !== null) throw error;
  console.log("listening");
});
