/**
 * A signal that aborts after `ms`, and the function that releases its timer. Unlike
 * `AbortSignal.timeout`, it leaves nothing behind once released — on Deno 2.9 a pending
 * `AbortSignal.timeout` with a listener keeps the process alive until it fires.
 *
 * @example
 * const { signal, release } = timeoutSignal(2_000);
 * try { await work({ signal }); } finally { release(); }
 */
export function timeoutSignal(ms: number, reason: () => Error = () => new Error(`Timed out after ${ms} ms`)): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason()), Math.max(0, ms));
  return { signal: controller.signal, release: () => clearTimeout(timer) };
}
