import { z } from "zod";
import { parseImageReference } from "../image/image-reference.ts";

/** The request schemas of the image methods (CRI's shapes). Strict: an unknown field is an error. */
const reference = z.string().min(1, "must not be empty").max(4_096).regex(/^[^\0\s]*$/, "must not contain spaces or NUL bytes");
const imageSpec = z.object({ image: reference }).strict();

/** CRI's AuthConfig. */
const auth = z.object({
  username: z.string().max(4_096).optional(),
  password: z.string().max(4_096).optional(),
  auth: z.string().max(8_192).regex(/^[A-Za-z0-9+/=]*$/, "must be base64").optional(),
  serverAddress: z.string().max(4_096).optional(),
  identityToken: z.string().max(65_536).optional(),
  registryToken: z.string().max(65_536).optional(),
}).strict();

export const pullImage = z.object({ image: imageSpec, auth: auth.optional() }).strict();
export const imageTarget = z.object({ image: imageSpec }).strict();
export const listImages = z.object({ filter: z.object({ image: imageSpec.optional() }).strict().optional() }).strict().optional();
/** A repository without tag or digest (`localhost/app`): a bare tag in a layout is joined to it. */
const repository = reference.refine((name) => {
  try {
    const parsed = parseImageReference(`${name}:latest`);
    return parsed.tag === "latest" && parsed.digest === undefined;
  } catch {
    return false;
  }
}, "is not an image repository name");

export const loadImage = z.object({ path: z.string().min(1).max(4_096).startsWith("/", "must be an absolute path").regex(/^[^\0]*$/), name: repository.optional() }).strict();
