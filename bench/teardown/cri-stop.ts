/**
 * The teardown benchmark's stop through the CRI, as kubelet stops pods: over one gRPC connection,
 * `StopContainer` of every container at once (its `timeout` the stop timeout), then, once all have
 * answered, `StopPodSandbox` of every pod at once (no gRPC deadline: kubelet sets none, so the
 * daemon's default budget applies; only the infra containers are left by then).
 */
import * as grpc from "@grpc/grpc-js";
import { loadCriPackage } from "../../src/cri/cri-server.ts";

/** What the CRI stop took. */
export interface CriStop {
  /** From the first StopContainer sent to the last StopPodSandbox answered. */
  stopWallMs: number;
  /** From the first StopContainer sent to the last one answered. */
  stopContainersMs: number;
  /** From the first StopPodSandbox sent to the last one answered. */
  stopPodSandboxesMs: number;
  containers: number;
  /** Per pod, its StopPodSandbox call's own time. */
  latencyMs: number[];
  /** Per pod, from the first StopContainer sent to its StopPodSandbox answered. */
  latencyFromRequestMs: number[];
  /** The calls that failed, as `<call> <id>: <message>`. */
  errors: string[];
  /** The pods with a failed call (their own StopPodSandbox, or a container's StopContainer). */
  failedPods: string[];
}

type Reply = Record<string, any>;

/**
 * Lists the pods and containers through the CRI (untimed), then stops them kubelet's way.
 *
 * @example
 * const stop = await stopThroughCri(join(root, "cri.sock"), { timeoutMs: 10_000 });
 */
export async function stopThroughCri(socket: string, options: { timeoutMs: number }): Promise<CriStop> {
  const { RuntimeService } = loadCriPackage();
  // One client, one channel: one HTTP/2 connection that every call below shares.
  const client = new RuntimeService(`unix://${socket}`, grpc.credentials.createInsecure());
  const call = (method: string, request: Reply) =>
    new Promise<Reply>((resolve, reject) => {
      (client as unknown as Record<string, Function>)[method](request, (error: grpc.ServiceError | null, reply: Reply) => (error === null ? resolve(reply) : reject(error)));
    });
  const errors: string[] = [];
  const failedPods = new Set<string>();
  const failedAs = (what: string, pod: string) => (error: unknown) => {
    errors.push(`${what}: ${(error as grpc.ServiceError).details ?? String(error)}`);
    failedPods.add(pod);
  };
  try {
    const pods = ((await call("ListPodSandbox", { filter: { state: { state: "SANDBOX_READY" } } })).items as Reply[]).map((pod) => pod.id as string);
    const containers = (await call("ListContainers", { filter: { state: { state: "CONTAINER_RUNNING" } } })).containers as Reply[];
    // The CRI's timeout is whole seconds.
    const timeout = Math.ceil(options.timeoutMs / 1_000);
    const startedAt = performance.now();
    await Promise.all(containers.map(({ id, pod_sandbox_id: pod }) => call("StopContainer", { container_id: id, timeout }).catch(failedAs(`StopContainer ${id}`, pod))));
    const containersDoneAt = performance.now();
    const latencyMs: number[] = [];
    const latencyFromRequestMs: number[] = [];
    await Promise.all(pods.map(async (id) => {
      const sentAt = performance.now();
      await call("StopPodSandbox", { pod_sandbox_id: id }).catch(failedAs(`StopPodSandbox ${id}`, id));
      latencyMs.push(performance.now() - sentAt);
      latencyFromRequestMs.push(performance.now() - startedAt);
    }));
    const endedAt = performance.now();
    return {
      stopWallMs: endedAt - startedAt,
      stopContainersMs: containersDoneAt - startedAt,
      stopPodSandboxesMs: endedAt - containersDoneAt,
      containers: containers.length,
      latencyMs,
      latencyFromRequestMs,
      errors,
      failedPods: [...failedPods],
    };
  } finally {
    client.close();
  }
}
