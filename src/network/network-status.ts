/** What status shows of a pod's network: its addresses, read from the ADD's result. */
import type { CniResult } from "./cni-types.ts";

/**
 * The addresses of a result (not loopback's), without prefix length, and the first IPv4 one as `ip` (the first of
 * any family if there is no IPv4), as CRI's PodSandboxNetworkStatus has them.
 *
 * @example
 * networkAddresses({ cniVersion: "1.0.0", ips: [{ address: "10.244.0.5/24" }] }); // { ip: "10.244.0.5", ips: ["10.244.0.5"] }
 */
export function networkAddresses(result: Pick<CniResult, "ips">): { ip?: string; ips: string[] } {
  // Loopback's own addresses (a loopback plugin's result) are nobody's way into the pod.
  const ips = (result.ips ?? []).map((entry) => entry.address.slice(0, entry.address.lastIndexOf("/"))).filter((address) => !address.startsWith("127.") && address !== "::1");
  const ip = ips.find((address) => address.includes(".")) ?? ips[0];
  return ip === undefined ? { ips } : { ip, ips };
}
