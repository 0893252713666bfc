/**
 * A bearer-token server for the registry's `auth.token` (the distribution spec's token flow), on
 * 127.0.0.1: it checks basic credentials and answers with a JWT signed by a key of its own (RS256,
 * its certificate in `x5c`; the registry trusts that certificate through `rootcertbundle`).
 */
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { execa } from "execa";

export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** How many tokens it issued. */
  issued(): number;
  /** The OAuth2 refresh token (an identity token) it takes in a form POST. */
  refreshToken: string;
  close(): Promise<void>;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString("base64url");

/** Starts the server; `dir` (the test's temporary folder) holds its key and certificate. */
export async function startTokenServer(dir: string, user: { username: string; password: string }): Promise<TokenServer> {
  const keyPath = join(dir, "token-key.pem");
  const certPath = join(dir, "token-cert.pem");
  await execa("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "1", "-subj", "/CN=pvtest-token"]);
  const key = createPrivateKey(await readFile(keyPath));
  const cert = new X509Certificate(await readFile(certPath));
  const service = "pvtest-registry";
  const issuer = "pvtest-issuer";
  let issued = 0;
  const refreshToken = randomUUID();
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    let params = url.searchParams;
    let allowed: boolean;
    if (request.method === "POST") {
      // OAuth2's refresh-token grant (what Docker sends with an identity token).
      let body = "";
      for await (const chunk of request) body += String(chunk);
      params = new URLSearchParams(body);
      allowed = params.get("grant_type") === "refresh_token" && params.get("refresh_token") === refreshToken;
    } else {
      allowed = request.headers.authorization === `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}`;
    }
    if (!allowed) {
      response.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "bad credentials" }));
      return;
    }
    const access = params.getAll("scope").map((scope) => {
      const [type, name, actions] = scope.split(":") as [string, string, string];
      return { type, name, actions: actions.split(",") };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", x5c: [cert.raw.toString("base64")] }));
    const claims = base64url(JSON.stringify({ iss: issuer, sub: user.username, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    const signature = base64url(sign("sha256", Buffer.from(`${header}.${claims}`), key));
    issued++;
    const token = `${header}.${claims}.${signature}`;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(request.method === "POST" ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    service,
    issuer,
    certPath,
    issued: () => issued,
    refreshToken,
    async close() {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}
