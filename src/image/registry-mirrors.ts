/**
 * Registry mirrors, as containerd's `hosts.toml` and CRI-O's `[[registry.mirror]]` give them: the
 * daemon's `--registry-mirror REGISTRY=URL` (repeatable, tried in the order given) sends the pulls
 * of REGISTRY's images to URL first, and to the registry itself last (mirrored-source.ts). The
 * image keeps its own name. A URL is `http://` or `https://` (that scheme is used as written) or a
 * bare `host[:port]` (HTTPS, or plain HTTP for loopback and `--insecure-registry`, as for a
 * registry), with an optional path that the registry's repositories sit under on the mirror (CRI-O's
 * `location = "host/prefix"`): `docker.io=https://mirror.example/hub` pulls `docker.io/library/busybox`
 * as `mirror.example/hub/library/busybox`.
 */
import { CodedError } from "../errors/coded-error.ts";
import { parseImageReference } from "./image-reference.ts";

export interface RegistryMirror {
  /** Its host and port, as a registry's: `127.0.0.1:5555`. */
  host: string;
  /** The scheme written in the URL; absent: the registry's rule (RegistryClient.scheme). */
  scheme?: "http:" | "https:";
  /** The path the registry's repositories sit under on the mirror, with a final `/`; `""` for none. */
  prefix: string;
  /** The URL as given, for messages. */
  url: string;
}

/** Each mirrored registry (lowercase, as image references name it: `docker.io`, `registry.k8s.io`) and its mirrors, in order. */
export type RegistryMirrors = ReadonlyMap<string, readonly RegistryMirror[]>;

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * Parses `--registry-mirror` values (`REGISTRY=URL`); a malformed one is a RangeError that names it.
 *
 * @example
 * registryMirrors(["registry.k8s.io=http://127.0.0.1:5555"]).get("registry.k8s.io"); // [{ host: "127.0.0.1:5555", scheme: "http:", prefix: "", … }]
 */
export function registryMirrors(values: readonly string[]): RegistryMirrors {
  const mirrors = new Map<string, RegistryMirror[]>();
  for (const value of values) {
    const { registry, mirror } = parseRegistryMirror(value);
    const listed = mirrors.get(registry) ?? [];
    const twice = listed.find((one) => one.host === mirror.host && one.prefix === mirror.prefix && one.scheme === mirror.scheme);
    if (twice !== undefined) throw new RangeError(`Cannot use --registry-mirror "${value}": ${registry} has that mirror already (${twice.url})`);
    mirrors.set(registry, [...listed, mirror]);
  }
  return mirrors;
}

/** Parses one `--registry-mirror` value: the registry (lowercase, as image references name it) and its mirror. */
export function parseRegistryMirror(value: string): { registry: string; mirror: RegistryMirror } {
  const invalid = (why: string) => new RangeError(`Cannot use --registry-mirror "${value}": ${why}`);
  const equals = value.indexOf("=");
  if (equals <= 0 || equals === value.length - 1) throw invalid("it must be REGISTRY=URL, e.g. registry.k8s.io=http://127.0.0.1:5000");
  // Host names are case-insensitive: the registry is looked up lowercased (image-store.ts).
  const registry = registryName(value.slice(0, equals).toLowerCase(), invalid);
  const url = value.slice(equals + 1);
  const explicit = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url) !== null;
  let parsed: URL;
  try {
    parsed = new URL(explicit ? url : `https://${url}`);
  } catch {
    throw invalid(`"${url}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw invalid(`the mirror's scheme must be http or https, not ${parsed.protocol.replace(/:$/, "")}`);
  if (parsed.username !== "" || parsed.password !== "") throw invalid("the URL must not carry credentials");
  if (parsed.search !== "" || parsed.hash !== "" || url.includes("?") || url.includes("#")) throw invalid("the URL must not have a query or a fragment");
  const parts = parsed.pathname.split("/").filter((part) => part !== "");
  if (parts[0] === "v2") throw invalid("leave /v2 out: the URL is the mirror's root, then the path its repositories sit under (podvisor adds /v2 before that path)");
  for (const part of parts) {
    if (!pathComponent.test(part)) throw invalid(`"${part}" is not a valid repository path component`);
  }
  try {
    // The host as a registry name: the same check as an image reference's.
    parseImageReference(`${parsed.host}/x`);
  } catch {
    throw invalid(`"${parsed.host}" is not a valid registry host`);
  }
  const mirror: RegistryMirror = { host: parsed.host, prefix: parts.map((part) => `${part}/`).join(""), url };
  if (explicit) mirror.scheme = parsed.protocol as "http:" | "https:";
  return { registry, mirror };
}

/** A registry as image references name it: `index.docker.io` is `docker.io`; a bare word is no registry. */
function registryName(text: string, invalid: (why: string) => Error): string {
  const looksLikeHost = text.includes(".") || text.includes(":") || text === "localhost";
  let registry: string | undefined;
  try {
    registry = parseImageReference(`${text}/x`).registry;
  } catch (error) {
    if (!(error instanceof CodedError)) throw error;
  }
  if (!looksLikeHost || registry === undefined || (registry !== text && !(registry === "docker.io" && text === "index.docker.io"))) {
    throw invalid(`"${text}" is not a registry (a host, as image references name it: docker.io, registry.k8s.io, 127.0.0.1:5000)`);
  }
  return registry;
}
