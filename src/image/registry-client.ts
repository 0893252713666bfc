/**
 * A client of the OCI distribution API over the runtime's global `fetch` (the same on Node and
 * Deno; no HTTP library needed): manifests and blobs, with the registry's auth challenge answered
 * (registry-auth.ts). HTTPS everywhere except loopback (127.0.0.0/8, ::1, localhost) and the
 * registries the operator names as insecure, as Docker does.
 */
import { CodedError } from "../errors/coded-error.ts";
import { digestOf } from "./digest.ts";
import { manifestAccept } from "./image-manifest.ts";
import { registryHost } from "./image-reference.ts";
import type { ImageReference } from "./image-reference.ts";
import { basicCredentials, basicHeader, fetchBearerToken, parseChallenge } from "./registry-auth.ts";
import type { RegistryCredentials } from "./registry-auth.ts";

const maxManifestBytes = 4 * 1024 * 1024;

export interface RegistryClientOptions {
  /** Registries (`host` or `host:port`) reached over plain HTTP. */
  insecureRegistries?: string[];
}

/** Options of a request: the pull's credentials and signal, and a scheme that overrides {@link RegistryClient.scheme} (a mirror's URL names its own). */
export interface RequestOptions {
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
  scheme?: "http:" | "https:";
}

/** A manifest or index as fetched: its bytes, their digest and media type. */
export interface FetchedManifest {
  data: Uint8Array;
  digest: string;
  mediaType: string | undefined;
}

/** Whether `host` (a hostname, maybe with a port) is this machine's loopback. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return name === "localhost" || name === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export class RegistryClient {
  readonly #insecure: Set<string>;
  /** Authorization headers that worked, per registry and repository. */
  readonly #authorizations = new Map<string, string>();

  constructor(options: RegistryClientOptions = {}) {
    this.#insecure = new Set(options.insecureRegistries ?? []);
  }

  /** `https:` or `http:` for a registry. */
  scheme(registry: string): "https:" | "http:" {
    const host = registryHost(registry);
    return isLoopback(host) || this.#insecure.has(host) || this.#insecure.has(host.replace(/:\d+$/, "")) ? "http:" : "https:";
  }

  /** Fetches the manifest (or index) a reference names; by digest, its bytes must hash to it. */
  async manifest(reference: ImageReference, target: string, options: RequestOptions = {}): Promise<FetchedManifest> {
    const response = await this.#get(reference, `manifests/${target}`, { accept: manifestAccept, ...options });
    const length = Number(response.headers.get("content-length") ?? 0);
    if (length > maxManifestBytes) {
      await response.body?.cancel();
      throw new CodedError("INVALID_ARGUMENT", `Cannot pull ${reference.name}: its manifest is larger than ${maxManifestBytes} bytes`);
    }
    const data = new Uint8Array(await response.arrayBuffer());
    if (data.byteLength > maxManifestBytes) throw new CodedError("INVALID_ARGUMENT", `Cannot pull ${reference.name}: its manifest is larger than ${maxManifestBytes} bytes`);
    const digest = digestOf(data);
    const claimed = target.startsWith("sha256:") ? target : response.headers.get("docker-content-digest");
    if (claimed !== null && claimed !== digest) {
      throw new CodedError("DATA_LOSS", `Cannot pull ${reference.name}: the manifest hashes to ${digest}, not to ${claimed}`, { details: { expected: claimed, actual: digest } });
    }
    return { data, digest, mediaType: response.headers.get("content-type")?.split(";")[0]?.trim() };
  }

  /** A blob's bytes as they arrive (the caller verifies them while storing). */
  async blob(reference: ImageReference, digest: string, options: RequestOptions = {}): Promise<AsyncIterable<Uint8Array>> {
    const response = await this.#get(reference, `blobs/${digest}`, { accept: "*/*", ...options });
    if (response.body === null) throw new CodedError("DATA_LOSS", `Cannot pull blob ${digest}: the registry sent no body`);
    return response.body as unknown as AsyncIterable<Uint8Array>;
  }

  async #get(reference: ImageReference, path: string, options: RequestOptions & { accept: string }): Promise<Response> {
    const host = registryHost(reference.registry);
    const url = new URL(`${options.scheme ?? this.scheme(reference.registry)}//${host}/v2/${reference.repository}/${path}`);
    const key = `${host}/${reference.repository}`;
    const request = (authorization: string | undefined) =>
      fetch(url, { headers: { accept: options.accept, ...(authorization === undefined ? {} : { authorization }) }, signal: options.signal }).catch((error: unknown) => {
        options.signal?.throwIfAborted();
        throw new CodedError("UNAVAILABLE", `Cannot reach registry ${host}: ${describeFetchError(error)}`, { cause: error });
      });
    let response = await request(this.#authorizations.get(key));
    if (response.status === 401) {
      const challenge = parseChallenge(response.headers.get("www-authenticate"));
      await response.body?.cancel();
      const authorization = await this.#answer(challenge, reference, options);
      response = await request(authorization);
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        throw new CodedError("UNAUTHENTICATED", `Cannot pull ${reference.name}: the registry refused the credentials (HTTP ${response.status})`);
      }
      this.#authorizations.set(key, authorization);
    }
    if (response.ok) return response;
    await response.body?.cancel();
    if (response.status === 404) throw new CodedError("NOT_FOUND", `Cannot pull ${reference.name}: the registry has no ${path.replace(/s\//, " ")}`);
    if (response.status === 403) throw new CodedError("PERMISSION_DENIED", `Cannot pull ${reference.name}: the registry denies access (HTTP 403)`);
    throw new CodedError("UNAVAILABLE", `Cannot pull ${reference.name}: the registry answered HTTP ${response.status} for ${path}`);
  }

  async #answer(challenge: ReturnType<typeof parseChallenge>, reference: ImageReference, options: { credentials?: RegistryCredentials; signal?: AbortSignal }): Promise<string> {
    const credentials = options.credentials;
    if (challenge?.scheme === "basic") {
      const userPass = basicCredentials(credentials);
      if (userPass === undefined) throw new CodedError("UNAUTHENTICATED", `Cannot pull ${reference.name}: the registry requires credentials`);
      return basicHeader(userPass);
    }
    if (challenge?.scheme === "bearer") {
      if (credentials?.registryToken !== undefined && credentials.registryToken !== "") return `Bearer ${credentials.registryToken}`;
      const token = await fetchBearerToken({
        challenge,
        scope: `repository:${reference.repository}:pull`,
        credentials,
        checkUrl: (url) => {
          if (url.protocol === "https:" || (url.protocol === "http:" && this.scheme(url.host) === "http:")) return;
          throw new CodedError("PERMISSION_DENIED", `Cannot authenticate: the token realm ${url.origin} is neither HTTPS nor an allowed plain-HTTP registry`);
        },
        signal: options.signal,
      });
      return `Bearer ${token}`;
    }
    throw new CodedError("UNAUTHENTICATED", `Cannot pull ${reference.name}: the registry requires authentication${challenge === undefined ? "" : ` by ${challenge.scheme}, which is not supported`}`);
  }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
