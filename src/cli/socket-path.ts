import { join } from "node:path";

/** The API socket: `PODVISOR_SOCKET`, else `/run/podvisor/podvisor.sock` as root, else the XDG runtime directory. */
export function defaultSocketPath(): string {
  if (process.env.PODVISOR_SOCKET) return process.env.PODVISOR_SOCKET;
  if (process.getuid?.() === 0) return "/run/podvisor/podvisor.sock";
  return join(process.env.XDG_RUNTIME_DIR ?? `/tmp/podvisor-${process.getuid?.() ?? "user"}`, "podvisor", "podvisor.sock");
}
