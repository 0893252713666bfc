/**
 * The errors of the actor runtime. Across a thread an error travels as {@link ErrorData}
 * (`{ code, message, details }`) and is matched on `code`, never on its text.
 */
export interface ErrorData {
  code: string;
  message: string;
  details?: unknown;
}

/** An error that carries a stable `code`; the base of every error the runtime makes. */
export class CodedError extends Error {
  readonly code: string;
  readonly details?: unknown;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CodedError";
    this.code = code;
    this.details = options?.details;
  }
}

/** An ask's deadline passed before its answer came. */
export class DeadlineExceededError extends CodedError {
  constructor(message: string, options?: { details?: unknown }) {
    super("DEADLINE_EXCEEDED", message, options);
    this.name = "DeadlineExceededError";
  }
}

/** The actor's worker died or hung, so the actor is gone and its owner must rebuild it. */
export class ActorLostError extends CodedError {
  constructor(message: string, options?: { cause?: unknown; details?: unknown }) {
    super("ACTOR_LOST", message, options);
    this.name = "ActorLostError";
  }
}

/** No actor has this address (never spawned, or stopped already). */
export class ActorNotFoundError extends CodedError {
  constructor(actorId: string) {
    super("NOT_FOUND", `Cannot deliver message: no actor "${actorId}"`, { details: { actorId } });
    this.name = "ActorNotFoundError";
  }
}

/** Turns anything thrown into data that can cross a thread or a socket. */
export function toErrorData(error: unknown): ErrorData {
  if (error instanceof CodedError) {
    return { code: error.code, message: error.message, details: error.details };
  }
  if (error instanceof TypeError || error instanceof RangeError) {
    return { code: "INVALID_ARGUMENT", message: error.message };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === "string" ? code : "INTERNAL", message: error.message };
  }
  return { code: "INTERNAL", message: String(error) };
}

/** Rebuilds an error from {@link ErrorData}, keeping its code and details. */
export function fromErrorData(data: ErrorData): CodedError {
  switch (data.code) {
    case "DEADLINE_EXCEEDED":
      return new DeadlineExceededError(data.message, { details: data.details });
    case "ACTOR_LOST":
      return new ActorLostError(data.message, { details: data.details });
    default:
      return new CodedError(data.code, data.message, { details: data.details });
  }
}
