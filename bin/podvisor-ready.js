#!/usr/bin/env node
// Waits until the podvisor daemon serves its API socket: exit 0 once a connection is accepted, 1 if
// none is within the timeout. For a service manager's readiness check (contrib/podvisor.service's
// ExecStartPost) and scripts. Plain JavaScript: any Node runs it.
//   podvisor-ready.js [SOCKET] [TIMEOUT_SECONDS]   (defaults: /run/podvisor/podvisor.sock, 120)
import net from "node:net";

const socketPath = process.argv[2] ?? process.env.PODVISOR_SOCKET ?? "/run/podvisor/podvisor.sock";
const timeoutSeconds = Number(process.argv[3] ?? "120");
if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) {
  console.error(`podvisor-ready: the timeout must be a number of seconds, got "${process.argv[3]}"`);
  process.exit(2);
}
const deadlineAt = Date.now() + timeoutSeconds * 1_000;

/** Whether something accepts a connection on the socket (a stale socket file refuses it). */
function accepts(path) {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}

while (!(await accepts(socketPath))) {
  if (Date.now() > deadlineAt) {
    console.error(`podvisor-ready: nothing served ${socketPath} within ${timeoutSeconds} s`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}
