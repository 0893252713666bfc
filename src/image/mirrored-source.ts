/**
 * A registry's images through its mirrors (registry-mirrors.ts), as containerd does with its hosts:
 * each manifest and blob is asked of the mirrors in order, then of the registry itself; any failure
 * but the pull's own abort moves on to the next (a mirror that is down, lacks the image, refuses
 * access or serves something wrong). The one that served the last answer is asked first next time;
 * one that could not be reached is left out for the rest of the pull. The image keeps its own name:
 * only where its bytes come from changes, and the store verifies them as always (a tag is trusted
 * to the mirror as it would be to the registry). The pull's credentials go to the registry only;
 * mirrors are asked anonymously (or with what their own auth challenge gets without credentials).
 */
import { CodedError, toErrorData } from "../errors/coded-error.ts";
import { getLogger } from "../log/logger.ts";
import type { ImageReference } from "./image-reference.ts";
import type { ImageSource } from "./image-source.ts";
import { registrySource } from "./image-sources.ts";
import type { RegistryCredentials } from "./registry-auth.ts";
import type { RegistryClient } from "./registry-client.ts";
import type { RegistryMirror } from "./registry-mirrors.ts";

const log = getLogger("image:mirror");

interface Endpoint {
  label: string;
  source: ImageSource;
}

/** The reference as the mirror names it: its host, its path prefix before the repository. */
export function mirrorReference(reference: ImageReference, mirror: RegistryMirror): ImageReference {
  const repository = `${mirror.prefix}${reference.repository}`;
  return { ...reference, registry: mirror.host, repository, name: `${mirror.host}/${repository}` };
}

/** The registry's source for `reference`, through `mirrors` first when there are any. */
export function mirroredSource(client: RegistryClient, mirrors: readonly RegistryMirror[], reference: ImageReference, credentials?: RegistryCredentials): ImageSource {
  const origin = registrySource(client, reference, credentials);
  if (mirrors.length === 0) return origin;
  const endpoints: Endpoint[] = [
    ...mirrors.map((mirror) => ({ label: `mirror ${mirror.url}`, source: registrySource(client, mirrorReference(reference, mirror), undefined, mirror.scheme) })),
    { label: `registry ${reference.registry}`, source: origin },
  ];
  const unreachable = new Set<number>();
  let preferred = 0;
  const attempt = async <T>(what: string, call: (source: ImageSource) => Promise<T>, signal: AbortSignal | undefined): Promise<T> => {
    const order = [preferred, ...endpoints.keys()].filter((index, position, all) => all.indexOf(index) === position && !unreachable.has(index));
    const failures: string[] = [];
    for (const [position, index] of order.entries()) {
      const endpoint = endpoints[index] as Endpoint;
      try {
        const result = await call(endpoint.source);
        preferred = index;
        return result;
      } catch (error) {
        signal?.throwIfAborted();
        const { code, message } = toErrorData(error);
        // A mirror that cannot be reached is not asked again during this pull; the registry always is.
        if (code === "UNAVAILABLE" && index !== endpoints.length - 1) unreachable.add(index);
        if (position === order.length - 1) {
          const tried = failures.length === 0 ? "" : ` (tried first: ${failures.join("; ")})`;
          throw new CodedError(code, `${message}${tried}`, { cause: error, details: (error as CodedError).details });
        }
        failures.push(`${endpoint.label}: ${message}`);
        log.info("Cannot pull through one of a registry's endpoints; trying the next", { image: reference.name, what, endpoint: endpoint.label, code, reason: message });
      }
    }
    // Never reached: the registry itself is always in the order, last or earlier.
    throw new CodedError("INTERNAL", `Cannot pull ${reference.name}: no endpoint to ask for its ${what}`);
  };
  return {
    name: reference.name,
    manifest: (target, signal) => attempt(`manifest ${target}`, (source) => source.manifest(target, signal), signal),
    blob: (digest, signal) => attempt(`blob ${digest}`, (source) => source.blob(digest, signal), signal),
  };
}
