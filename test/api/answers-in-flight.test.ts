import { expect, test } from "vitest";
import { AnswersInFlight } from "../../src/api/answers-in-flight.ts";

class Service {
  readonly #made: string[] = [];
  #finish: (() => void) | undefined;
  runPodSandbox(name: string): Promise<string> {
    return new Promise((resolve) => (this.#finish = () => resolve(name)));
  }
  finish(): void {
    this.#finish?.();
  }
  made(): string[] {
    return this.#made;
  }
}

test("settled() waits for a tracked call to answer, and untracked methods work as before (on the service itself)", async () => {
  const answers = new AnswersInFlight();
  const service = new Service();
  const tracked = answers.track(service, ["runPodSandbox"]);
  expect(tracked.made()).toEqual([]); // a #private field: the method ran on the service itself
  const answer = tracked.runPodSandbox("web");
  let settled = false;
  const done = answers.settled({ timeoutMs: 60_000 }).then(() => (settled = true));
  await Promise.resolve();
  expect(settled).toBe(false);
  tracked.finish();
  await done;
  expect(await answer).toBe("web");
  await answers.settled({ timeoutMs: 60_000 }); // nothing tracked: at once
});

test("settled() gives up after its timeout", async () => {
  const answers = new AnswersInFlight();
  void answers.track(new Service(), ["runPodSandbox"]).runPodSandbox("never");
  const startedAt = performance.now();
  await answers.settled({ timeoutMs: 50 });
  expect(performance.now() - startedAt).toBeGreaterThanOrEqual(40);
});
