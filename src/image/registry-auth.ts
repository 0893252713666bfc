/**
 * Registry authentication as the distribution spec and Docker do it: a 401 names a scheme in
 * `WWW-Authenticate`; `Basic` is answered with the credentials, `Bearer realm=…,service=…` with a
 * token fetched from the realm (with the credentials, if any, as basic auth). The credentials are
 * CRI's `AuthConfig`: `username`/`password`, or `auth` (base64 of `user:pass`), or a
 * `registryToken` that is sent as the bearer token itself, or an `identityToken` (an OAuth2 refresh
 * token, as `docker login` keeps for some registries) exchanged at the realm for an access token.
 */
import { CodedError } from "../errors/coded-error.ts";

/** CRI's AuthConfig (the fields podvisor reads). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  auth?: string;
  registryToken?: string;
  identityToken?: string;
}

export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string | null): AuthChallenge | undefined {
  if (header === null) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  for (const [, key, quoted, bare] of (match[2] ?? "").matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    if (key !== undefined) params[key.toLowerCase()] = quoted?.replace(/\\(.)/g, "$1") ?? bare ?? "";
  }
  return { scheme: (match[1] ?? "").toLowerCase(), params };
}

/** `user:pass` from the credentials, if they have any. */
export function basicCredentials(credentials: RegistryCredentials | undefined): string | undefined {
  if (credentials === undefined) return undefined;
  if (credentials.username !== undefined && credentials.username !== "") return `${credentials.username}:${credentials.password ?? ""}`;
  if (credentials.auth !== undefined && credentials.auth !== "") {
    const decoded = Buffer.from(credentials.auth, "base64").toString("utf8");
    if (!decoded.includes(":")) throw new CodedError("INVALID_ARGUMENT", "Cannot use auth: it is not base64 of user:password");
    return decoded;
  }
  return undefined;
}

export function basicHeader(userPass: string): string {
  return `Basic ${Buffer.from(userPass, "utf8").toString("base64")}`;
}

/** Options of {@link fetchBearerToken}. */
export interface TokenRequest {
  challenge: AuthChallenge;
  scope: string;
  credentials?: RegistryCredentials;
  /** Checks the realm's URL as the registry's own (plain HTTP only where allowed). */
  checkUrl(url: URL): void;
  signal?: AbortSignal;
}

/** A bearer token from the challenge's realm (the token server of the distribution spec). */
export async function fetchBearerToken(request: TokenRequest): Promise<string> {
  const realm = request.challenge.params.realm;
  if (realm === undefined) throw new CodedError("UNAUTHENTICATED", "Cannot authenticate: the registry's bearer challenge names no realm");
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new CodedError("UNAUTHENTICATED", `Cannot authenticate: the token realm "${realm}" is not a URL`);
  }
  request.checkUrl(url);
  if (request.challenge.params.service !== undefined) url.searchParams.set("service", request.challenge.params.service);
  url.searchParams.set("scope", request.scope);
  const response = await requestToken(url, request);
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new CodedError("UNAUTHENTICATED", `Cannot authenticate to ${url.host}: the token server refused the credentials (HTTP ${response.status})`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CodedError("UNAVAILABLE", `Cannot authenticate to ${url.host}: the token server answered HTTP ${response.status}`);
  }
  const body = (await response.json()) as { token?: unknown; access_token?: unknown };
  const token = typeof body.token === "string" ? body.token : body.access_token;
  if (typeof token !== "string" || token === "") throw new CodedError("UNAUTHENTICATED", `Cannot authenticate to ${url.host}: the token server gave no token`);
  return token;
}

/**
 * GET with basic credentials (the distribution spec's token flow), or, with an identity token, the
 * OAuth2 form POST (`grant_type=refresh_token`) that Docker sends in its place.
 */
async function requestToken(url: URL, request: TokenRequest): Promise<Response> {
  const identityToken = request.credentials?.identityToken;
  if (identityToken !== undefined && identityToken !== "") {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: identityToken, client_id: "podvisor", scope: request.scope });
    if (request.challenge.params.service !== undefined) form.set("service", request.challenge.params.service);
    const realm = new URL(url);
    realm.search = "";
    return fetch(realm, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString(), signal: request.signal, redirect: "error" });
  }
  const headers: Record<string, string> = {};
  const userPass = basicCredentials(request.credentials);
  if (userPass !== undefined) headers.authorization = basicHeader(userPass);
  return fetch(url, { headers, signal: request.signal, redirect: "error" });
}
