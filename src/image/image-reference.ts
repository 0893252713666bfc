/**
 * Image references parsed as Docker parses them (distribution/reference): `busybox` is
 * `docker.io/library/busybox:latest`, a first component with a `.` or `:` (or `localhost`) is a
 * registry, a digest pins the content. A malformed reference is an INVALID_ARGUMENT error.
 */
import { CodedError } from "../errors/coded-error.ts";
import { validateDigest } from "./digest.ts";

/** A reference in its normalized parts. */
export interface ImageReference {
  /** The registry's host (and port): `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** The repository within it: `library/busybox`. */
  repository: string;
  /** The tag; `latest` when neither a tag nor a digest was given. */
  tag?: string;
  /** The digest, `sha256:<hex>`, when the reference pins one. */
  digest?: string;
  /** `registry/repository`: the name repoTags and repoDigests start with. */
  name: string;
}

export const defaultRegistry = "docker.io";
const maxNameLength = 255;
const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const domainComponent = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;

/**
 * Parses and normalizes `text`.
 *
 * @example
 * parseImageReference("busybox"); // { registry: "docker.io", repository: "library/busybox", tag: "latest", … }
 */
export function parseImageReference(text: string): ImageReference {
  const invalid = (why: string) => new CodedError("INVALID_ARGUMENT", `Cannot parse image reference "${text}": ${why}`, { details: { reference: text } });
  if (typeof text !== "string" || text === "") throw invalid("it is empty");
  if (text.length > 4_096) throw invalid("it is too long");
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      validateDigest(digest);
    } catch (error) {
      throw invalid((error as Error).message.replace(/^Cannot [^:]*: /, ""));
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw invalid(`"${tag}" is not a valid tag`);
  }
  if (rest === "") throw invalid("it has no repository name");
  const parts = rest.split("/");
  let registry = defaultRegistry;
  const first = parts[0] ?? "";
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    registry = first;
    parts.shift();
    validateRegistry(registry, invalid);
  }
  if (registry === "index.docker.io") registry = defaultRegistry;
  if (registry === defaultRegistry && parts.length === 1) parts.unshift("library");
  for (const part of parts) {
    if (!component.test(part)) throw invalid(`"${part}" is not a valid repository name component (lowercase letters, digits and separators)`);
  }
  const repository = parts.join("/");
  const name = `${registry}/${repository}`;
  if (name.length > maxNameLength) throw invalid(`the name is longer than ${maxNameLength} characters`);
  if (tag === undefined && digest === undefined) tag = "latest";
  return { registry, repository, tag, digest, name };
}

function validateRegistry(registry: string, invalid: (why: string) => Error): void {
  const bracket = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(registry);
  const [host, port] = bracket ? [bracket[1], bracket[2]] : registry.split(":", 3);
  if (!bracket && registry.split(":").length > 2) throw invalid(`"${registry}" is not a valid registry`);
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) > 65_535 || Number(port) === 0)) throw invalid(`"${port}" is not a valid port`);
  if (!bracket && !(host ?? "").split(".").every((label) => domainComponent.test(label))) throw invalid(`"${registry}" is not a valid registry`);
}

/** The reference as text: `name:tag`, `name@digest` or `name:tag@digest`. */
export function formatImageReference(reference: ImageReference): string {
  return `${reference.name}${reference.tag === undefined ? "" : `:${reference.tag}`}${reference.digest === undefined ? "" : `@${reference.digest}`}`;
}

/** The host a registry's API is served from: Docker Hub's name is not its API's host. */
export function registryHost(registry: string): string {
  return registry === defaultRegistry ? "registry-1.docker.io" : registry;
}
