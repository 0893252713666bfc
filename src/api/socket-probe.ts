import net from "node:net";

/** Whether something answers on the unix socket at `path` (a daemon is serving there). */
export function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

/** Waits until a daemon serves `path`, polling; rejects after `timeoutMs` or when `gaveUp()` says so. */
export async function waitForSocket(path: string, options: { timeoutMs: number; gaveUp?: () => string | undefined }): Promise<void> {
  const deadlineAt = Date.now() + options.timeoutMs;
  for (;;) {
    const reason = options.gaveUp?.();
    if (reason !== undefined) throw new Error(reason);
    if (await canConnect(path)) return;
    if (Date.now() > deadlineAt) throw new Error(`Cannot reach ${path}: nothing served it within ${options.timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
