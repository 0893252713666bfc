import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ActorSystem } from "../../src/actor-system/index.ts";
import { refs } from "./fixtures/behaviors.ts";

describe("the mailbox", () => {
  let system: ActorSystem;
  beforeAll(async () => {
    system = await ActorSystem.start({ workers: 2 });
  });
  afterAll(() => system.shutdown());
  const soon = () => ({ deadlineAt: Date.now() + 10_000 });

  test("handles concurrent asks one at a time, in arrival order, even with async handlers", async () => {
    const id = await system.spawn({ behavior: refs.recorder });
    const values = Array.from({ length: 50 }, (_, index) => index);
    // Later messages are quicker: a runtime that interleaved handlers would finish them first.
    const answers = await Promise.all(values.map((value) => system.ask(id, { type: "append", value, delayMs: 50 - value }, soon())));
    expect(answers).toEqual(values.map((value) => value + 1));
    const state = await system.ask<{ log: number[]; maxActive: number }>(id, { type: "read" }, soon());
    expect(state.log).toEqual(values);
    expect(state.maxActive).toBe(1);
  });

  test("keeps the order of tells followed by an ask", async () => {
    const id = await system.spawn({ behavior: refs.recorder });
    for (let value = 0; value < 1_000; value++) system.tell(id, { type: "append", value });
    const state = await system.ask<{ log: number[] }>(id, { type: "read" }, soon());
    expect(state.log).toEqual(Array.from({ length: 1_000 }, (_, index) => index));
  });

  test("ask() carries a failure back as a coded error", async () => {
    const id = await system.spawn({ behavior: refs.thrower });
    const error = await system.ask(id, "anything", soon()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "TEST_FAILURE", details: { why: "test" } });
  });

  test("ask() rejects with NOT_FOUND for an actor that does not exist", async () => {
    await expect(system.ask("no-such-actor", "hi", soon())).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  test("an actor asks another on a different worker and gets its answer", async () => {
    const echo = await system.spawn({ behavior: refs.echo, worker: 0 });
    const relay = await system.spawn({ behavior: refs.relay, worker: 1 });
    expect(system.whereIs(echo)).not.toBe(system.whereIs(relay));
    const answer = await system.ask(relay, { to: echo, message: { hello: "there" }, deadlineAt: Date.now() + 5_000 }, soon());
    expect(answer).toEqual({ hello: "there" });
  });

  test("an actor asks a main-thread service by name, and gets its answer or its error", async () => {
    system.serve("test:double", (message) => {
      if (typeof message !== "number") throw new RangeError("Cannot double: not a number");
      return message * 2;
    });
    const relay = await system.spawn({ behavior: refs.relay });
    const deadlineAt = Date.now() + 5_000;
    expect(await system.ask(relay, { to: "test:double", message: 21, deadlineAt }, soon())).toBe(42);
    await expect(system.ask(relay, { to: "test:double", message: "x", deadlineAt }, soon())).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  test("an actor spawns children on its own worker and asks them", async () => {
    const witness = await system.spawn({ behavior: refs.recorder });
    const parent = await system.spawn({ behavior: refs.parent, init: { witness, count: 3 } });
    const children = await system.ask<string[]>(parent, { type: "children" }, soon());
    expect(children).toHaveLength(3);
    for (const child of children) expect(system.whereIs(child)).toBe(system.whereIs(parent));
    expect(await system.ask(parent, { type: "ask-child", index: 2 }, soon())).toBe("child2:done");
    // The main thread can address a child directly too.
    expect(await system.ask(children[0], { type: "slow", ms: 1 }, soon())).toBe("child0:done");
  });

  test("spawn() refuses an id that is already taken", async () => {
    const id = await system.spawn({ behavior: refs.echo });
    await expect(system.spawn({ behavior: refs.echo, id })).rejects.toMatchObject({ code: "ALREADY_EXISTS" });
  });

  test("spawn() fails clearly for a module export that is not a behaviour", async () => {
    await expect(system.spawn({ behavior: { module: refs.echo.module, export: "refs" } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
