// comlink's package maps its types to the UMD build; these map the ESM files podvisor imports
// (the main entry is UMD, which neither runtime loads as ESM).
declare module "comlink/dist/esm/comlink.mjs" {
  export * from "comlink";
}

declare module "comlink/dist/esm/node-adapter.mjs" {
  import type { Endpoint } from "comlink";
  import type { MessagePort, Worker } from "node:worker_threads";
  export default function nodeEndpoint(endpoint: MessagePort | Worker): Endpoint;
}
