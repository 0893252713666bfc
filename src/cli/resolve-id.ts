import type { PodSandboxStatus, ContainerStatus } from "../api/api-types.ts";
import { CliError } from "./cli-error.ts";
import type { ApiClient } from "./client.ts";
import { shortId } from "./output.ts";

type Kind = "pod sandbox" | "container";
const plural: Record<Kind, string> = { "pod sandbox": "pod sandboxes", container: "containers" };
const listed = 3;

/**
 * The full ids of the pod sandboxes named by `prefixes`, in order, without repeats. Each may be a
 * whole id or any unique prefix of one, as with crictl.
 *
 * @example
 * await resolveSandboxIds(client, ["59gh"]); // ["59gh7s3g5bhnw59m76qx"]
 */
export async function resolveSandboxIds(client: ApiClient, prefixes: string[]): Promise<string[]> {
  if (prefixes.length === 0) return [];
  const { items } = await client.call<{ items: PodSandboxStatus[] }>("ListPodSandbox");
  return resolveIds("pod sandbox", prefixes, items.map((item) => item.id));
}

/** The full ids of the containers named by `prefixes` (whole ids or unique prefixes). */
export async function resolveContainerIds(client: ApiClient, prefixes: string[]): Promise<string[]> {
  if (prefixes.length === 0) return [];
  const { items } = await client.call<{ items: ContainerStatus[] }>("ListContainers");
  return resolveIds("container", prefixes, items.map((item) => item.id));
}

/** Matches each prefix against `ids`: an exact id wins; otherwise exactly one id must start with it. */
export function resolveIds(kind: Kind, prefixes: string[], ids: string[]): string[] {
  const resolved = prefixes.map((prefix) => {
    const match = matchPrefix(kind, prefix, ids);
    if (match === undefined) throw new CliError(`Cannot find ${kind} "${prefix}": no ${kind} id starts with it`);
    return match;
  });
  return [...new Set(resolved)];
}

/**
 * As {@link resolveIds}, but a prefix that matches nothing is set aside in `unknown` rather than an
 * error (an empty or ambiguous one still is): for a verb the API takes as done when the target is
 * gone, such as a stop.
 */
export function resolveKnownIds(kind: Kind, prefixes: string[], ids: string[]): { ids: string[]; unknown: string[] } {
  const found = new Set<string>();
  const unknown: string[] = [];
  for (const prefix of prefixes) {
    const match = matchPrefix(kind, prefix, ids);
    if (match === undefined) unknown.push(prefix);
    else found.add(match);
  }
  return { ids: [...found], unknown };
}

/** The one id `prefix` names, undefined if none; throws if it is empty or names several. */
function matchPrefix(kind: Kind, prefix: string, ids: string[]): string | undefined {
  if (prefix === "") throw new CliError(`Cannot find ${kind} "": an id must not be empty`);
  if (ids.includes(prefix)) return prefix;
  const matches = ids.filter((id) => id.startsWith(prefix));
  if (matches.length <= 1) return matches[0];
  const shown = matches.slice(0, listed).map(shortId).join(", ") + (matches.length > listed ? ", …" : "");
  throw new CliError(`Cannot tell which ${kind} "${prefix}" means: it starts ${matches.length} ${plural[kind]} (${shown}); give more of the id`);
}

/**
 * The pod sandboxes named by `prefixes`, or every one with `all` (validate beforehand that exactly
 * one of the two was given: {@link validateIdsOrAll}).
 */
export async function selectSandboxes(client: ApiClient, prefixes: string[], all: boolean): Promise<PodSandboxStatus[]> {
  const { items } = await client.call<{ items: PodSandboxStatus[] }>("ListPodSandbox");
  if (all) return items;
  const byId = new Map(items.map((item) => [item.id, item]));
  return resolveIds("pod sandbox", prefixes, [...byId.keys()]).map((id) => byId.get(id) as PodSandboxStatus);
}

/** Throws unless ids or `--all` were given, but not both. */
export function validateIdsOrAll(verb: string, prefixes: string[], all: boolean | undefined, kind: Kind = "pod sandbox"): void {
  if (all && prefixes.length > 0) throw new CliError(`Cannot ${verb} ${plural[kind]}: give ids or --all, not both`);
  if (!all && prefixes.length === 0) throw new CliError(`Cannot ${verb} ${plural[kind]}: give one or more ids, or --all`);
}
