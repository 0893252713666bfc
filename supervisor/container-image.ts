import { isAbsolute } from "node:path";
import { CodedError } from "../src/errors/coded-error.ts";
import type { ImageRecord } from "../src/image/image-index.ts";
import type { ContainerConfig } from "../src/state/records.ts";
import type { SupervisorContext } from "./context.ts";

/** What a container runs, and on which root, once its image (if any) is applied. */
export interface ResolvedContainer {
  command: string[];
  env: Record<string, string>;
  cwd?: string;
  /** The overlay's lower directories, topmost first, joined by `:` (see src/host/rootfs.ts). */
  rootfs?: string;
  /** Releases the hold on the image (RemoveImage is refused until then); call it once the record is saved. */
  release(): void;
}

/**
 * Applies a container's image as CRI does (kubelet's and containerd's rule): `command` replaces the
 * image's entrypoint and then the image's cmd is dropped; `args` replaces the cmd; the image's env
 * comes first and the request's overrides it; its working directory applies when the request names
 * none; its layers from the store are the rootfs. `image` as an absolute path is a directory the
 * client made (the older way, the `rootfs` field): used as the rootfs itself. Without an image the
 * command is `command` + `args`.
 */
export function resolveContainerImage(context: SupervisorContext, config: ContainerConfig & { env: Record<string, string> }): ResolvedContainer {
  const image = config.image === undefined || config.image === "" || isAbsolute(config.image) || config.rootfs !== undefined ? undefined : findImage(context, config.image);
  if (image === undefined) {
    const command = [...(config.command ?? []), ...(config.args ?? [])];
    if (command.length === 0) throw new TypeError("Cannot create container: command: is required without an image");
    const rootfs = config.rootfs ?? (config.image !== undefined && isAbsolute(config.image) ? config.image : undefined);
    // One directory of the client's: a ":" would stack several as overlay layers (only the store's images do).
    if (rootfs?.includes(":")) throw new TypeError(`Cannot create container: rootfs "${rootfs}" must not contain ":" (it would be read as several overlay layers)`);
    return { command, env: config.env, cwd: config.cwd, rootfs, release: () => {} };
  }
  const settings = image.config.config ?? {};
  const entrypoint = config.command ?? settings.Entrypoint ?? [];
  const cmd = config.args ?? (config.command === undefined ? (settings.Cmd ?? []) : []);
  const command = [...entrypoint, ...cmd];
  if (command.length === 0) throw new TypeError(`Cannot create container: image ${config.image} has no entrypoint or cmd, and the request names no command`);
  const env: Record<string, string> = {};
  for (const entry of settings.Env ?? []) {
    const equals = entry.indexOf("=");
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  const store = context.images as NonNullable<SupervisorContext["images"]>;
  return {
    command,
    env: { ...env, ...config.env },
    cwd: config.cwd ?? (settings.WorkingDir === undefined || settings.WorkingDir === null || settings.WorkingDir === "" ? undefined : settings.WorkingDir),
    rootfs: store.layerDirs(image).join(":"),
    release: store.hold(image),
  };
}

function findImage(context: SupervisorContext, reference: string): ImageRecord {
  if (context.images === undefined) throw new CodedError("FAILED_PRECONDITION", "Cannot create container from an image: this supervisor has no image store");
  const image = context.images.find(reference);
  if (image === undefined) throw new CodedError("NOT_FOUND", `Cannot create container: image ${reference} is not in the store (pull it first)`, { details: { image: reference } });
  if (image.layers.length === 0) throw new CodedError("FAILED_PRECONDITION", `Cannot create container: image ${reference} has no layers`);
  return image;
}

/** The container whose rootfs is `image`'s layers, if any (RemoveImage is refused while one exists). */
export function imageUser(context: SupervisorContext, image: ImageRecord): string | undefined {
  const lowers = context.images?.layerDirs(image).join(":");
  for (const record of context.store.containers.values()) if (record.rootfs === lowers) return record.id;
  return undefined;
}
