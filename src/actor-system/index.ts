/** The generic actor runtime: worker pool, mailboxes, ask/tell, deadlines, broadcast, supervision. */
export { ActorSystem } from "./actor-system.ts";
export type { ActorsLost, ActorSystemOptions, LossReason, SpawnRequest } from "./actor-system.ts";
export { behaviorRef } from "./behavior.ts";
export type { ActorContext, Behavior, BehaviorRef, MessageContext, SpawnSpec } from "./behavior.ts";
export { broadcastAndGather } from "./broadcast.ts";
export type { BroadcastOptions, BroadcastOutcome } from "./broadcast.ts";
export { ManualClock, systemClock } from "../async/clock.ts";
export type { Clock } from "../async/clock.ts";
export { ActorLostError, ActorNotFoundError, CodedError, DeadlineExceededError, fromErrorData, toErrorData } from "../errors/coded-error.ts";
export type { ErrorData } from "../errors/coded-error.ts";
export { withDeadline } from "../async/race.ts";
export type { SpawnResult } from "./actor-host.ts";
export type { MainThreadService } from "./worker-router.ts";
