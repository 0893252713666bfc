/**
 * The stop journal (`<root>/stops/`): stops asked for in the same moment share one file, an entry
 * each with its own deadline, and the file goes only with the last of them; files of the older
 * one-stop form are still read; a file that cannot be read is named and kept.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { StateStore } from "../../src/state/state-store.ts";

let root = "";
let store: StateStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pvtest-intents-"));
  store = new StateStore(root);
});

afterEach(async () => {
  store.close();
  await rm(root, { recursive: true, force: true });
});

const files = async () => (await readdir(join(root, "stops"))).sort();

describe("the stop journal", () => {
  test("stops asked for together share one file, an entry each, which goes with the last one's release", async () => {
    const [first, second] = await Promise.all([store.journalStopIntent(["a", "b"], 1_000), store.journalStopIntent(["c"], 2_000)]);
    const [file] = await files();
    expect(await files()).toHaveLength(1);
    expect(JSON.parse(await readFile(join(root, "stops", file as string), "utf8")).stops).toHaveLength(2);
    const { intents, unreadable } = await store.readStopIntents();
    expect(unreadable).toEqual([]);
    expect(intents.map(({ podSandboxIds, deadlineAt }) => ({ podSandboxIds, deadlineAt })).sort((x, y) => x.deadlineAt - y.deadlineAt)).toEqual([
      { podSandboxIds: ["a", "b"], deadlineAt: 1_000 },
      { podSandboxIds: ["c"], deadlineAt: 2_000 },
    ]);
    expect(new Set(intents.map((intent) => intent.path))).toEqual(new Set([join(root, "stops", file as string)]));
    await first();
    await first(); // a second release of the same entry changes nothing
    expect(await files()).toEqual([file]);
    await second();
    expect(await files()).toEqual([]);
  });

  test("a stop asked for after the previous file was written gets a file of its own", async () => {
    const release = await store.journalStopIntent(["a"], 1_000);
    await store.journalStopIntent(["b"], 1_000);
    expect(await files()).toHaveLength(2);
    await release();
    expect((await store.readStopIntents()).intents.map((intent) => intent.podSandboxIds)).toEqual([["b"]]);
  });

  test("a file of the older one-stop form is read; one that cannot be read is named and kept", async () => {
    await mkdir(join(root, "stops"));
    await writeFile(join(root, "stops", "1-old.json"), JSON.stringify({ podSandboxIds: ["x"], deadlineAt: 5, requestedAt: 1 }));
    await writeFile(join(root, "stops", "2-bad.json"), JSON.stringify({ stops: [{ podSandboxIds: ["y"], deadlineAt: 5 }, { deadlineAt: "soon" }] }));
    await writeFile(join(root, "stops", "3-torn.json"), "{\"stops\": [");
    const { intents, unreadable } = await store.readStopIntents();
    expect(intents).toEqual([{ path: join(root, "stops", "1-old.json"), podSandboxIds: ["x"], deadlineAt: 5, requestedAt: 1 }]);
    expect(unreadable.sort()).toEqual([join(root, "stops", "2-bad.json"), join(root, "stops", "3-torn.json")]);
    expect(await files()).toEqual(["1-old.json", "2-bad.json", "3-torn.json"]);
  });
});
