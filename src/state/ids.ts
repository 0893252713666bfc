import { customAlphabet } from "nanoid";

/** Ids are 20 lowercase letters and digits: safe in paths, netns and cgroup names. */
export const newId = customAlphabet("0123456789abcdefghijklmnopqrstuvwxyz", 20);

const wellFormed = /^[0-9a-z]{1,64}$/;

/** Throws a TypeError for an empty or malformed id (an invalid-argument error at the API). */
export function validateId(id: unknown, what: string): asserts id is string {
  if (typeof id !== "string" || id === "") throw new TypeError(`Cannot find ${what}: the id is empty`);
  if (!wellFormed.test(id)) throw new TypeError(`Cannot find ${what}: "${id.slice(0, 80)}" is not a well-formed id`);
}
