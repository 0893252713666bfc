import http from "node:http";
import { getLogger } from "../log/logger.ts";

const log = getLogger("metrics");

/**
 * Serves `GET /metrics` (Prometheus text) on `host:port`; loopback addresses only, since the
 * metrics name every sandbox operation. Port 0 picks a free one.
 */
export async function startMetricsServer(address: string, metrics: { text(): Promise<string>; contentType: string }): Promise<{ port: number; close(): Promise<void> }> {
  const match = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):(\d{1,5})$/.exec(address);
  if (match === null) throw new RangeError(`Cannot serve metrics on "${address}": give a loopback address and a port, like 127.0.0.1:9090`);
  const server = http.createServer((request, response) => {
    if (request.method !== "GET" || request.url !== "/metrics") {
      response.writeHead(404).end("Not found: try GET /metrics\n");
      return;
    }
    metrics.text().then(
      (text) => response.writeHead(200, { "content-type": metrics.contentType }).end(text),
      (error: unknown) => response.writeHead(500).end(`${(error as Error).message}\n`),
    );
  });
  const host = match[1] === "[::1]" ? "::1" : match[1];
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(match[2]), host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  log.info("Serving metrics", { address: `${match[1]}:${port}` });
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
