/**
 * The pod network's configuration: the first network in the conf dir, in lexical order of file
 * names, as kubelet's runtimes pick it — a `.conflist`, or a single `.conf`/`.json` taken as a list
 * of one. Read again at every ADD, so a changed conf dir applies to the next sandbox (a DEL always
 * uses the configuration its ADD used, kept in the sandbox's record).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CodedError } from "../errors/coded-error.ts";
import { cniConfigListSchema, cniSingleConfigSchema } from "./cni-types.ts";
import type { CniConfigList } from "./cni-types.ts";

/** The network list in use, and the file it came from. */
export interface LoadedNetworkConfig {
  configList: CniConfigList;
  source: string;
}

const extensions = [".conflist", ".conf", ".json"];

/**
 * The pod network of `confDir`, or undefined when it holds none (no such folder, or no file with
 * a CNI extension): network "none". A file that is not a valid network configuration is an error
 * naming the file, never skipped silently for the next one.
 *
 * @example
 * const network = await loadNetworkConfig("/etc/cni/net.d");
 * network?.configList.name; // "podvisor"
 */
export async function loadNetworkConfig(confDir: string): Promise<LoadedNetworkConfig | undefined> {
  let names: string[];
  try {
    // Folders are never configurations (as libcni has it), whatever their names end with.
    names = (await readdir(confDir, { withFileTypes: true })).filter((entry) => !entry.isDirectory()).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CodedError("FAILED_PRECONDITION", `Cannot read the CNI conf dir ${confDir}: ${(error as Error).message}`, { cause: error });
  }
  const first = names.filter((name) => extensions.some((ext) => name.endsWith(ext))).sort()[0];
  if (first === undefined) return undefined;
  const source = join(confDir, first);
  return { configList: parseNetworkConfig(await readFile(source, "utf8"), source), source };
}

/** Parses and validates one conf file's text; a single-plugin configuration becomes a list of one. */
export function parseNetworkConfig(text: string, source: string): CniConfigList {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CodedError("FAILED_PRECONDITION", `Cannot use CNI configuration ${source}: not JSON (${(error as Error).message})`);
  }
  const isList = source.endsWith(".conflist") || (typeof json === "object" && json !== null && "plugins" in json);
  if (isList) {
    const parsed = cniConfigListSchema.safeParse(json);
    if (!parsed.success) throw invalid(source, parsed.error);
    return parsed.data;
  }
  const parsed = cniSingleConfigSchema.safeParse(json);
  if (!parsed.success) throw invalid(source, parsed.error);
  const { name, cniVersion, ...plugin } = parsed.data;
  return { name, cniVersion, plugins: [plugin] };
}

function invalid(source: string, error: { issues: { path: PropertyKey[]; message: string }[] }): CodedError {
  const issue = error.issues[0];
  const where = issue?.path.length ? issue.path.map(String).join(".") : "(top)";
  return new CodedError("FAILED_PRECONDITION", `Cannot use CNI configuration ${source}: ${where}: ${issue?.message ?? "invalid"}`, {
    details: { source, issues: error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
  });
}
