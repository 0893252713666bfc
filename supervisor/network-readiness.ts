import type { NetworkStatus } from "../src/api/pod-service.ts";
import type { SupervisorContext } from "./context.ts";

const notReady = (message: string): NetworkStatus => ({ ready: false, reason: "NetworkPluginNotReady", message });

/** Whether pods get a network (CRI `Status`'s NetworkReady): a CNI network is configured and loads. */
export async function networkReadiness(context: SupervisorContext): Promise<NetworkStatus> {
  if (context.network === undefined) return notReady("CNI is off: pods get network \"none\" (loopback only)");
  try {
    const loaded = await context.network.current();
    return loaded === undefined ? notReady("no CNI network is configured: pods get network \"none\" (loopback only)") : { ready: true };
  } catch (error) {
    return notReady(`cannot load the CNI network configuration: ${(error as Error).message}`);
  }
}
