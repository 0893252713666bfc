import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ActorSystem } from "../../src/actor-system/index.ts";
import { refs } from "./fixtures/behaviors.ts";

describe("stop through the mailbox", () => {
  let system: ActorSystem;
  beforeAll(async () => {
    system = await ActorSystem.start({ workers: 2 });
  });
  afterAll(() => system.shutdown());
  const soon = () => ({ deadlineAt: Date.now() + 10_000 });
  const read = (witness: string) => system.ask<{ log: string[] }>(witness, { type: "read" }, soon());

  test("stop() waits for the message in progress, and later messages are refused", async () => {
    const witness = await system.spawn({ behavior: refs.recorder });
    const id = await system.spawn({ behavior: refs.witnessed, init: { witness, label: "a" } });
    const order: string[] = [];
    const slow = system.ask(id, { type: "slow", ms: 200 }, soon()).then((value) => order.push(`answer:${value}`));
    const stopped = system.stop(id, soon()).then(() => order.push("stopped"));
    await Promise.all([slow, stopped]);
    expect(order).toEqual(["answer:a:done", "stopped"]);
    await expect(system.ask(id, { type: "slow", ms: 1 }, soon())).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await read(witness)).log).toEqual(["stopped:a"]);
  });

  test("a second stop is a no-op: both resolve, the stop handler runs once", async () => {
    const witness = await system.spawn({ behavior: refs.recorder });
    const id = await system.spawn({ behavior: refs.witnessed, init: { witness, label: "b" } });
    void system.ask(id, { type: "slow", ms: 100 }, soon());
    await Promise.all([system.stop(id, soon()), system.stop(id, soon())]);
    await system.stop(id, soon()); // and once more, after it is gone
    expect((await read(witness)).log).toEqual(["stopped:b"]);
  });

  test("stop() of an unknown actor succeeds", async () => {
    await expect(system.stop("never-existed", soon())).resolves.toBeUndefined();
  });

  test("stopping a parent stops its children first, each through its own mailbox", async () => {
    const witness = await system.spawn({ behavior: refs.recorder });
    const parent = await system.spawn({ behavior: refs.parent, init: { witness, count: 3 } });
    const children = await system.ask<string[]>(parent, { type: "children" }, soon());
    await system.stop(parent, soon());
    expect((await read(witness)).log.sort()).toEqual(["stopped:child0", "stopped:child1", "stopped:child2"]);
    for (const child of children) await expect(system.ask(child, { type: "slow", ms: 1 }, soon())).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(system.whereIs(children[0])).toBeUndefined();
  });
});
