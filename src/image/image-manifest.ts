/**
 * The JSON documents of an image, checked with zod where they come in: manifests (OCI and Docker
 * v2 schema 2), indexes / manifest lists, and the image config. Only the fields the store uses are
 * read; the rest is kept as it came, in the stored blob.
 */
import { z } from "zod";
import { CodedError } from "../errors/coded-error.ts";

export const mediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

/** What a manifest request accepts, most wanted first. */
export const manifestAccept = [mediaTypes.ociIndex, mediaTypes.ociManifest, mediaTypes.dockerList, mediaTypes.dockerManifest].join(", ");

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, "is not a sha256 digest");
const descriptor = z.object({
  mediaType: z.string().max(255).optional(),
  digest,
  size: z.number().int().nonnegative(),
  platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).loose().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
}).loose();
export type Descriptor = z.infer<typeof descriptor>;

const manifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor).max(1_000),
}).loose();
export type ImageManifest = z.infer<typeof manifest>;

const index = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptor).max(10_000),
}).loose();
export type ImageIndex = z.infer<typeof index>;

const config = z.object({
  architecture: z.string().optional(),
  os: z.string().optional(),
  config: z.object({
    Entrypoint: z.array(z.string()).nullish(),
    Cmd: z.array(z.string()).nullish(),
    Env: z.array(z.string()).nullish(),
    WorkingDir: z.string().nullish(),
    User: z.string().nullish(),
    StopSignal: z.string().nullish(),
  }).loose().nullish(),
  rootfs: z.object({ type: z.literal("layers"), diff_ids: z.array(digest).max(1_000) }),
}).loose();
export type ImageConfigFile = z.infer<typeof config>;

function parse<T>(schema: z.ZodType<T>, what: string, data: Uint8Array): T {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(data));
  } catch (error) {
    throw new CodedError("INVALID_ARGUMENT", `Cannot read ${what}: it is not JSON`, { cause: error });
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new CodedError("INVALID_ARGUMENT", `Cannot read ${what}: ${z.prettifyError(result.error).replace(/\s*\n\s*/g, "; ")}`);
  return result.data;
}

/** Whether a document (by its media type, or its shape when it has none) is an index. */
export function isIndex(mediaType: string | undefined, data: Uint8Array): boolean {
  if (mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerList) return true;
  if (mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest) return false;
  try {
    return Array.isArray((JSON.parse(new TextDecoder().decode(data)) as { manifests?: unknown }).manifests);
  } catch {
    return false;
  }
}

export const parseManifest = (data: Uint8Array): ImageManifest => parse(manifest, "image manifest", data);
export const parseIndex = (data: Uint8Array): ImageIndex => parse(index, "image index", data);
export const parseConfig = (data: Uint8Array): ImageConfigFile => parse(config, "image config", data);

/** This machine's architecture as OCI names it. */
export function ociArchitecture(arch: string = process.arch): string {
  const names: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return names[arch] ?? arch;
}

/** The manifest of an index for linux/<this architecture>; NOT_FOUND if it has none. */
export function selectPlatform(indexDoc: ImageIndex, arch: string = ociArchitecture()): Descriptor {
  const candidates = indexDoc.manifests.filter((entry) => entry.platform?.os === "linux" && entry.platform.architecture === arch);
  const preferred = arch === "arm64" ? candidates.find((entry) => entry.platform?.variant === "v8") : undefined;
  const chosen = preferred ?? candidates[0];
  if (chosen === undefined) {
    const offered = indexDoc.manifests.map((entry) => `${entry.platform?.os ?? "?"}/${entry.platform?.architecture ?? "?"}`).join(", ");
    throw new CodedError("NOT_FOUND", `Cannot pick a manifest for linux/${arch}: the index offers ${offered || "none"}`);
  }
  return chosen;
}
