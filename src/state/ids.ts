import { customAlphabet } from "nanoid";
import { CodedError } from "../errors/coded-error.ts";

/** Ids are 20 lowercase letters and digits: safe in paths, netns and cgroup names. */
export const newId = customAlphabet("0123456789abcdefghijklmnopqrstuvwxyz", 20);

const wellFormed = /^[0-9a-z]{1,64}$/;

/** Whether `id` has the form of an id podvisor makes (it may still name nothing). */
export function isWellFormedId(id: string): boolean {
  return wellFormed.test(id);
}

/** Throws a TypeError for an empty or malformed id (an invalid-argument error at the API). */
export function validateId(id: unknown, what: string): asserts id is string {
  if (typeof id !== "string" || id === "") throw new TypeError(`Cannot find ${what}: the id is empty`);
  if (!wellFormed.test(id)) throw new TypeError(`Cannot find ${what}: "${id.slice(0, 80)}" is not a well-formed id`);
}

/** The NOT_FOUND error for a sandbox id that no record has. */
export function sandboxNotFound(id: string): CodedError {
  return new CodedError("NOT_FOUND", `Cannot find pod sandbox "${id}"`, { details: { podSandboxId: id } });
}

/** The NOT_FOUND error for a container id that no record has. */
export function containerNotFound(id: string): CodedError {
  return new CodedError("NOT_FOUND", `Cannot find container "${id}"`, { details: { containerId: id } });
}
