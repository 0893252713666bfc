/**
 * A fake in front of the real registry, for what the registry cannot be made to do on demand: it
 * forwards every request (on 127.0.0.1), but sends only the first half of the blob `stallDigest`
 * and then holds the connection open, so that a pull is caught mid-blob.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface StallingProxy {
  address: string;
  /** Resolves once the half blob was sent. */
  stalled: Promise<void>;
  close(): Promise<void>;
}

export async function startStallingProxy(upstream: string, stallDigest: string): Promise<StallingProxy> {
  const { promise: stalled, resolve } = Promise.withResolvers<void>();
  const held = new Set<http.ServerResponse>();
  const server = http.createServer(async (request, response) => {
    const upstreamResponse = await fetch(`http://${upstream}${request.url}`, { method: request.method, headers: { accept: request.headers.accept ?? "*/*" } });
    const body = Buffer.from(await upstreamResponse.arrayBuffer());
    const headers: Record<string, string> = {};
    upstreamResponse.headers.forEach((value, key) => {
      if (key !== "content-encoding" && key !== "transfer-encoding") headers[key] = value;
    });
    response.writeHead(upstreamResponse.status, headers);
    if (request.url?.endsWith(`/blobs/${stallDigest}`)) {
      held.add(response);
      response.write(body.subarray(0, Math.floor(body.length / 2)), () => resolve());
      return;
    }
    response.end(body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stalled,
    async close() {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}
