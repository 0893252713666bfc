/** RuntimeService's calls about the runtime itself, and the streaming calls it does not serve yet. */
import { getLogger } from "../log/logger.ts";
import { describeVersion } from "../version.ts";
import { CriError } from "./cri-errors.ts";
import type { Handler } from "./cri-service.ts";

const log = getLogger("cri");

const version: Handler = () => ({
  version: "0.1.0",
  runtime_name: "podvisor",
  runtime_version: describeVersion().version,
  runtime_api_version: "v1",
});

/** RuntimeReady while the daemon answers; NetworkReady as the supervisor says (no CNI network: false, with why). */
const status: Handler = async ({ service }, request) => {
  const network = (await service.networkStatus?.()) ?? { ready: false, reason: "NetworkPluginNotReady", message: "this daemon cannot say whether pods get a network" };
  return {
    status: {
      conditions: [
        { type: "RuntimeReady", status: true, reason: "", message: "" },
        { type: "NetworkReady", status: network.ready, reason: network.ready ? "" : (network.reason ?? "NetworkPluginNotReady"), message: network.message ?? "" },
      ],
    },
    info: request.verbose === true ? { config: JSON.stringify({ runtime: describeVersion() }) } : {},
  };
};

const runtimeConfig: Handler = () => ({ linux: { cgroup_driver: "CGROUPFS" } });

/** kubelet sends the node's pod CIDR; podvisor has no network plugin to give it to yet: accepted, logged, unused. */
const updateRuntimeConfig: Handler = (_context, request) => {
  const cidr = request.runtime_config?.network_config?.pod_cidr ?? "";
  if (cidr !== "") log.info("Pod CIDR received; it is not used (no CNI network is configured)", { podCidr: cidr });
  return {};
};

const notStreaming = (call: string): Handler => () => {
  throw new CriError("UNIMPLEMENTED", `Cannot ${call}: streaming is not implemented yet`);
};

export const runtimeInfoHandlers: Record<string, Handler> = {
  Version: version,
  Status: status,
  RuntimeConfig: runtimeConfig,
  UpdateRuntimeConfig: updateRuntimeConfig,
  Exec: notStreaming("exec (streaming)"),
  Attach: notStreaming("attach"),
  PortForward: notStreaming("port-forward"),
};
