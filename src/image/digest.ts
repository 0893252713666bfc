/**
 * Content digests: `sha256:<64 hex>`, the only algorithm the store accepts (OCI's registered
 * `sha512` is refused with a clear error rather than half supported).
 */
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { CodedError } from "../errors/coded-error.ts";

const sha256Pattern = /^sha256:[0-9a-f]{64}$/;

/** Throws INVALID_ARGUMENT unless `digest` is `sha256:<64 lowercase hex>`. */
export function validateDigest(digest: unknown): asserts digest is string {
  if (typeof digest === "string" && sha256Pattern.test(digest)) return;
  const why = typeof digest === "string" && /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:/.test(digest) && !digest.startsWith("sha256:")
    ? `algorithm ${digest.split(":")[0]} is not supported (only sha256)`
    : "it is not sha256:<64 hex digits>";
  throw new CodedError("INVALID_ARGUMENT", `Cannot use digest "${String(digest).slice(0, 100)}": ${why}`);
}

/** The hex part of a sha256 digest. */
export function digestHex(digest: string): string {
  validateDigest(digest);
  return digest.slice("sha256:".length);
}

/** The digest of bytes in memory. */
export function digestOf(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** A running sha256 over a stream's chunks. */
export function digester(): { hash: Hash; digest(): string } {
  const hash = createHash("sha256");
  return { hash, digest: () => `sha256:${hash.digest("hex")}` };
}

/** Whether `text` names an image by id: `sha256:<hex>` or bare 64 hex digits. */
export function asImageId(text: string): string | undefined {
  if (sha256Pattern.test(text)) return text;
  if (/^[0-9a-f]{64}$/.test(text)) return `sha256:${text}`;
  return undefined;
}
