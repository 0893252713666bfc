/**
 * Property-based tests: malformed params thrown at every method of a real daemon, over its socket.
 * Each input is built invalid on purpose (a valid template with one field broken, an unknown key
 * added, a required one dropped, or the params replaced whole), so the only right answer is
 * INVALID_ARGUMENT; on top, fully random params, whose answer may be anything documented but
 * INTERNAL. Never a dropped connection, never a sandbox or container made from garbage.
 */
import fc from "fast-check";
import type { Arbitrary } from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { apiMethods } from "../../src/api/methods.ts";
import { startDaemonProcess } from "../support/daemon-process.ts";
import type { DaemonProcess } from "../support/daemon-process.ts";
import { PipeClient } from "../support/pipe-client.ts";
import type { RpcAnswer } from "../support/pipe-client.ts";
import { runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";

/** Runs per method: invalid-by-construction inputs, and fully random params. */
const brokenRuns = 160;
const randomRuns = 50;

// ── Values ──────────────────────────────────────────────────────────────────────────────────────

/**
 * JSON written into the request text as is: numbers a double cannot hold (`1e999` parses to
 * Infinity), and nesting too deep for fast-check to print (it reports values by recursion).
 */
class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  toJSON(): string {
    return `\u0001raw:${this.text}\u0001`;
  }
}

/** JSON text of a request; RawJson goes in unquoted, own `__proto__` keys stay as keys. */
function requestLine(id: number, method: string, params: unknown): string {
  const text = JSON.stringify({ jsonrpc: "2.0", id, method, params });
  return text.replace(/"\\u0001raw:([^"\\]*)\\u0001"/g, "$1");
}

/** An object with an own enumerable key, `__proto__` included (a literal would set the prototype). */
function withKey(target: object, key: string, value: unknown): Record<string, unknown> {
  return Object.defineProperty({ ...target }, key, { value, enumerable: true, configurable: true, writable: true });
}

const anyString = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }));
const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", " ", "\u0000", "😀", "a".repeat(1_000)),
  anyString,
);
const deep = (open: string, close: string, depth: number) => new RawJson(`${open.repeat(depth)}${close.repeat(depth)}`);
const rawNumber = fc.constantFrom("1e999", "-1e999", "1E400", "-0", "0e-400", "9007199254740993", "1.0000000000000001").map((text) => new RawJson(text));
const junk: Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: rawNumber },
  { weight: 1, arbitrary: fc.constantFrom(deep("[", "]", 5_000), deep('{"a":', "}", 5_000), "x".repeat(200_000)) },
  { weight: 1, arbitrary: fc.tuple(hostileKey, fc.jsonValue({ maxDepth: 1 })).map(([key, value]) => withKey({}, key, value)) },
);
const junkArray = fc.array(junk, { maxLength: 3 });
const junkObject = fc.tuple(fc.dictionary(hostileKey, junk, { maxKeys: 3 }), hostileKey, junk).map(([object, key, value]) => withKey(object, key, value));
const notString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), junkArray, junkObject, rawNumber);
const notNumber = fc.oneof(anyString, fc.boolean(), fc.constant(null), junkArray, junkObject, fc.constantFrom("1000", "1e3", ""));
const notBoolean = fc.oneof(anyString, fc.integer(), fc.double(), fc.constant(null), junkArray, junkObject, fc.constantFrom("true", "false", 0, 1));
/** What no object-typed field accepts (JSON has no undefined: a dropped field is another mutation). */
const notObject = fc.oneof(anyString, fc.double(), fc.boolean(), fc.constant(null), junkArray, rawNumber);
const badChar = fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((char) => !/[0-9a-z]/.test(char));
const longString = (min: number, max: number) => fc.integer({ min, max }).map((length) => "n".repeat(length));
const isId = (value: unknown) => typeof value === "string" && /^[0-9a-z]{1,64}$/.test(value);
const badId = fc.oneof(
  notString,
  fc.constant(""),
  fc.stringMatching(/^[0-9a-z]{65,80}$/),
  fc.tuple(fc.stringMatching(/^[0-9a-z]{0,8}$/), badChar, anyString).map((parts) => parts.join("")),
  fc.constantFrom("../../etc", "/etc/passwd", "ABC", "a b", "a\u0000b", "ａｂｃ", "a\nb", "-rf", "*", ".", ".."),
);
/** Numbers JSON can write but a double cannot hold: they parse to ±Infinity. */
const infinite = fc.constantFrom("1e999", "-1e999", "1E400").map((text) => new RawJson(text));

/** Invalid values of each kind of field. */
const invalid = {
  id: badId,
  name: fc.oneof(
    notString,
    fc.constantFrom("", " ", "\t", " \n ", "x\u0000y", "x\ny", "\u0000"),
    longString(254, 10_000),
    fc.tuple(anyString, fc.constantFrom("\u0000", "\n"), anyString).map((parts) => parts.join("")),
  ),
  stringMap: fc.oneof(
    notObject,
    fc.tuple(fc.string({ minLength: 1 }).filter((key) => key !== "__proto__"), notString).map(([key, value]) => ({ [key]: value })),
    fc.constant({ ["k".repeat(254)]: "v" }),
    fc.constant({ k: "v".repeat(4_097) }),
    fc.jsonValue().map((value) => withKey({}, "__proto__", value)),
  ),
  boolean: notBoolean,
  timeoutMs: fc.oneof(notNumber, infinite, fc.integer({ max: -1 }), fc.double({ min: 0.001, max: 1e6, noInteger: true }), fc.integer({ min: 86_400_001 }), fc.constantFrom(1e308, -1e308)),
  deadlineAt: fc.oneof(
    notNumber,
    infinite,
    fc.integer({ max: 0 }),
    fc.double({ min: 1.5, max: 1e12, noInteger: true }),
    fc.integer({ min: 2, max: 365 }).map((days) => Date.now() + days * 86_400_000),
    fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 1e308),
  ),
  command: fc.oneof(
    notObject.filter((value) => !Array.isArray(value) || value.length === 0 || value.some((arg) => typeof arg !== "string")),
    fc.constant([]),
    fc.tuple(fc.array(fc.string(), { maxLength: 2 }), notString).map(([args, bad]) => [...args, bad]),
    fc.constantFrom(["tr\u0000ue"], ["sh", "-c", "\u0000"], Array.from({ length: 4_097 }, () => "x"), ["x".repeat(131_073)]),
  ),
  env: fc.oneof(
    notObject,
    fc.constantFrom({ "": "x" }, { "A=B": "x" }, { "A\u0000": "x" }, { A: "x\u0000y" }, { A: 1 }, { A: null }, { ["K".repeat(4_097)]: "v" }),
    fc.jsonValue().map((value) => withKey({}, "__proto__", value)),
  ),
  path: fc.oneof(
    notString,
    fc.constantFrom("", "etc", "../../etc", "./x", "~/x", "\u0000/etc", "/tmp\u0000/x", " /etc"),
    longString(4_097, 6_000).map((tail) => `/${tail}`),
    anyString.filter((text) => !text.startsWith("/")),
  ),
  stopSignal: fc.oneof(notString, fc.constantFrom("", "TERM", "sigterm", "SIG", "SIGFOO", "SIGTERM ", "SIG_TERM", "9", "SIGKILL\u0000")),
  sandboxState: fc.oneof(notString, fc.constantFrom("", "READY", "running", "exited", "created"), anyString.filter((text) => text !== "ready" && text !== "stopped")),
  containerState: fc.oneof(notString, fc.constantFrom("", "RUNNING", "ready", "stopped"), anyString.filter((text) => !["created", "running", "exited"].includes(text))),
  ids: fc.oneof(
    notObject.filter((value) => !Array.isArray(value) || !value.every(isId)),
    fc.tuple(fc.array(fc.stringMatching(/^[0-9a-z]{1,8}$/), { maxLength: 2 }), badId).map(([ids, bad]) => [...ids, bad]),
  ),
  all: fc.oneof(fc.constantFrom(false, "true", 1, 0, null, "yes"), junkObject, junkArray),
  object: notObject,
  // Malformed image references only: a well-formed one could send a pull anywhere.
  reference: fc.oneof(notString, fc.constantFrom("", " ", "Busybox", "a//b", "x:", "x@sha256:1", "host:0/x", "x\u0000", "-x.y/z", "n".repeat(4_097))),
} satisfies Record<string, Arbitrary<unknown>>;

// ── Methods ─────────────────────────────────────────────────────────────────────────────────────

type Kind = keyof typeof invalid;

interface Field {
  path: string[];
  kind: Kind;
  required?: boolean;
}

interface MethodSpec {
  /** Valid params (with ids harmless to act on), or undefined for a method without params. */
  template(ids: KnownIds): Record<string, unknown> | undefined;
  fields: Field[];
  /** Strict objects, where any unknown key is an error ([] is the params object itself). */
  objects: string[][];
  /** Codes random params may get besides INVALID_ARGUMENT (a result is allowed when listed too). */
  randomOutcomes: string[];
}

interface KnownIds {
  sandbox: string;
  container: string;
}

const unknown = { sandbox: "nosuchsandbox0", container: "nosuchcontainer0" };
const timeoutFields: Field[] = [{ path: ["timeoutMs"], kind: "timeoutMs" }, { path: ["deadlineAt"], kind: "deadlineAt" }];

/**
 * Every method, with a valid template. Methods that change things (stop, remove, run) target
 * unknown ids, so that a mutation that wrongly passed would be harmless; create and start target
 * the real ones, so that a validation gap would show as a container that should not exist.
 */
const methods: Record<string, MethodSpec> = {
  Version: { template: () => undefined, fields: [], objects: [[]], randomOutcomes: ["result"] },
  Metrics: { template: () => undefined, fields: [], objects: [[]], randomOutcomes: ["result"] },
  // A report (repair: false) is harmless; repair stays false in every template.
  CheckHost: { template: () => ({ repair: false }), fields: [{ path: ["repair"], kind: "boolean" }], objects: [[]], randomOutcomes: ["result"] },
  RunPodSandbox: {
    template: () => ({ config: { name: "fuzz", labels: { a: "b" }, annotations: { c: "d" }, hostNetwork: false, hostIpc: false } }),
    fields: [
      { path: ["config"], kind: "object", required: true },
      { path: ["config", "name"], kind: "name", required: true },
      { path: ["config", "labels"], kind: "stringMap" },
      { path: ["config", "annotations"], kind: "stringMap" },
      { path: ["config", "hostNetwork"], kind: "boolean" },
      { path: ["config", "hostIpc"], kind: "boolean" },
    ],
    objects: [[], ["config"]],
    randomOutcomes: [],
  },
  StopPodSandbox: {
    template: () => ({ podSandboxId: unknown.sandbox, timeoutMs: 1_000, deadlineAt: Date.now() + 5_000 }),
    fields: [{ path: ["podSandboxId"], kind: "id", required: true }, ...timeoutFields],
    objects: [[]],
    randomOutcomes: [],
  },
  StopPodSandboxes: {
    template: () => ({ podSandboxIds: [unknown.sandbox], timeoutMs: 1_000 }),
    fields: [{ path: ["podSandboxIds"], kind: "ids", required: true }, { path: ["all"], kind: "all" }, ...timeoutFields],
    objects: [[]],
    randomOutcomes: [],
  },
  RemovePodSandbox: {
    template: () => ({ podSandboxId: unknown.sandbox }),
    fields: [{ path: ["podSandboxId"], kind: "id", required: true }],
    objects: [[]],
    randomOutcomes: [],
  },
  PodSandboxStatus: {
    template: (ids) => ({ podSandboxId: ids.sandbox }),
    fields: [{ path: ["podSandboxId"], kind: "id", required: true }],
    objects: [[]],
    randomOutcomes: ["NOT_FOUND"],
  },
  ListPodSandbox: {
    template: () => ({ filter: { state: "ready" } }),
    fields: [{ path: ["filter"], kind: "object" }, { path: ["filter", "state"], kind: "sandboxState" }],
    objects: [[], ["filter"]],
    randomOutcomes: ["result"],
  },
  CreateContainer: {
    template: (ids) => ({ podSandboxId: ids.sandbox, config: { name: "fuzz", command: ["true"], env: { A: "b" }, cwd: "/", stopSignal: "SIGTERM" } }),
    fields: [
      { path: ["podSandboxId"], kind: "id", required: true },
      { path: ["config"], kind: "object", required: true },
      { path: ["config", "name"], kind: "name", required: true },
      { path: ["config", "command"], kind: "command", required: true },
      { path: ["config", "env"], kind: "env" },
      { path: ["config", "cwd"], kind: "path" },
      { path: ["config", "stopSignal"], kind: "stopSignal" },
      { path: ["config", "rootfs"], kind: "path" },
    ],
    objects: [[], ["config"]],
    randomOutcomes: ["NOT_FOUND"],
  },
  StartContainer: {
    template: (ids) => ({ containerId: ids.container }),
    fields: [{ path: ["containerId"], kind: "id", required: true }],
    objects: [[]],
    randomOutcomes: ["NOT_FOUND"],
  },
  StopContainer: {
    template: () => ({ containerId: unknown.container, timeoutMs: 1_000 }),
    fields: [{ path: ["containerId"], kind: "id", required: true }, ...timeoutFields],
    objects: [[]],
    randomOutcomes: ["NOT_FOUND"],
  },
  RemoveContainer: {
    template: () => ({ containerId: unknown.container }),
    fields: [{ path: ["containerId"], kind: "id", required: true }],
    objects: [[]],
    randomOutcomes: [],
  },
  ContainerStatus: {
    template: (ids) => ({ containerId: ids.container }),
    fields: [{ path: ["containerId"], kind: "id", required: true }],
    objects: [[]],
    randomOutcomes: ["NOT_FOUND"],
  },
  // Image methods target 127.0.0.1:1 (nothing listens): a mutation that wrongly passed reaches no registry.
  PullImage: {
    template: () => ({ image: { image: "127.0.0.1:1/fuzz:latest" }, auth: { username: "u", password: "p" } }),
    fields: [{ path: ["image"], kind: "object", required: true }, { path: ["image", "image"], kind: "reference", required: true }, { path: ["auth"], kind: "object" }],
    objects: [[], ["image"], ["auth"]],
    randomOutcomes: [],
  },
  ListImages: {
    template: () => ({ filter: { image: { image: "127.0.0.1:1/fuzz:latest" } } }),
    fields: [{ path: ["filter"], kind: "object" }, { path: ["filter", "image"], kind: "object" }, { path: ["filter", "image", "image"], kind: "reference", required: true }],
    objects: [[], ["filter"], ["filter", "image"]],
    randomOutcomes: ["result"],
  },
  ImageStatus: {
    template: () => ({ image: { image: "127.0.0.1:1/fuzz:latest" } }),
    fields: [{ path: ["image"], kind: "object", required: true }, { path: ["image", "image"], kind: "reference", required: true }],
    objects: [[], ["image"]],
    randomOutcomes: [],
  },
  RemoveImage: {
    template: () => ({ image: { image: "127.0.0.1:1/fuzz:latest" } }),
    fields: [{ path: ["image"], kind: "object", required: true }, { path: ["image", "image"], kind: "reference", required: true }],
    objects: [[], ["image"]],
    randomOutcomes: [],
  },
  ImageFsInfo: { template: () => undefined, fields: [], objects: [[]], randomOutcomes: ["result"] },
  LoadImage: {
    template: () => ({ path: "/nonexistent-fuzz-layout", name: "localhost/fuzz" }),
    fields: [{ path: ["path"], kind: "path", required: true }, { path: ["name"], kind: "reference" }],
    objects: [[]],
    randomOutcomes: [],
  },
  ListContainers: {
    template: (ids) => ({ filter: { podSandboxId: ids.sandbox, state: "created" } }),
    fields: [{ path: ["filter"], kind: "object" }, { path: ["filter", "podSandboxId"], kind: "id" }, { path: ["filter", "state"], kind: "containerState" }],
    objects: [[], ["filter"]],
    randomOutcomes: ["result"],
  },
};

type Mutation =
  | { type: "replace"; field: Field; value: unknown }
  | { type: "drop"; field: Field }
  | { type: "extra-key"; object: string[]; key: string; value: unknown }
  | { type: "whole"; value: unknown }
  | { type: "both-targets" };

/** Invalid-by-construction mutations of a method's template. */
function mutations(name: string, spec: MethodSpec): Arbitrary<Mutation> {
  const fieldNames = (object: string[]) => new Set(spec.fields.filter((field) => field.path.length === object.length + 1 && field.path.slice(0, -1).join(".") === object.join(".")).map((field) => field.path.at(-1)));
  const options: Arbitrary<Mutation>[] = [
    fc.constantFrom(...spec.objects).chain((object) =>
      fc.record({ type: fc.constant("extra-key" as const), object: fc.constant(object), key: hostileKey.filter((key) => !fieldNames(object).has(key)), value: junk })),
    // Whole params that are not an object (a method without params takes [] too, so not that).
    fc.record({ type: fc.constant("whole" as const), value: spec.template(unknown) === undefined ? notObject.filter((value) => !(Array.isArray(value) && value.length === 0)) : notObject }),
  ];
  if (spec.fields.length > 0) {
    options.push(fc.constantFrom(...spec.fields).chain((field) => fc.record({ type: fc.constant("replace" as const), field: fc.constant(field), value: invalid[field.kind] })));
  }
  const required = spec.fields.filter((field) => field.required === true);
  if (required.length > 0) options.push(fc.constantFrom(...required).map((field) => ({ type: "drop" as const, field })));
  if (name === "StopPodSandboxes") options.push(fc.constant({ type: "both-targets" as const }));
  return fc.oneof(...options);
}

function applyMutation(template: Record<string, unknown> | undefined, mutation: Mutation): unknown {
  const params = structuredClone(template ?? {});
  const parentOf = (path: string[]) => path.slice(0, -1).reduce<Record<string, unknown>>((object, key) => object[key] as Record<string, unknown>, params);
  switch (mutation.type) {
    case "whole":
      return mutation.value;
    case "replace":
      parentOf(mutation.field.path)[mutation.field.path.at(-1) as string] = mutation.value;
      return params;
    case "drop":
      delete parentOf(mutation.field.path)[mutation.field.path.at(-1) as string];
      return params;
    case "extra-key": {
      if (mutation.object.length === 0) return withKey(params, mutation.key, mutation.value);
      const parent = parentOf(mutation.object);
      const name = mutation.object.at(-1) as string;
      parent[name] = withKey(parent[name] as object, mutation.key, mutation.value);
      return params;
    }
    case "both-targets":
      return { ...params, all: true };
  }
}

/** What an answer was, for assertions and for the summary: "result", or its `data.code`. */
function outcome(answer: RpcAnswer): string {
  if (answer.error === undefined) return "result";
  return answer.error.data?.code ?? `no data.code (${answer.error.code})`;
}

// ── Tests ───────────────────────────────────────────────────────────────────────────────────────

describe.each(runtimes)("malformed params to every method of a daemon on %s", (runtime) => {
  let daemon: DaemonProcess;
  let client: PipeClient;
  let ids: KnownIds;
  let fuzzed = 0;
  const seen = new Map<string, number>();

  /** Sends params raw; the answer, or a thrown error if the daemon dropped the connection. */
  const ask = async (method: string, params: unknown): Promise<RpcAnswer> => {
    const id = ++fuzzed;
    const answer = await client.send(requestLine(id, method, params), id);
    const key = `${method} → ${outcome(answer)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    return answer;
  };

  beforeAll(async () => {
    daemon = await startDaemonProcess(runtime);
    client = await PipeClient.connect(daemon.socket);
    const { result: sandbox } = await client.call("RunPodSandbox", { config: { name: "fuzz-target" } });
    const { result: container } = await client.call("CreateContainer", { podSandboxId: sandbox.podSandboxId, config: { name: "target", command: ["sleep", "1000"] } });
    ids = { sandbox: sandbox.podSandboxId, container: container.containerId };
  });

  afterAll(async () => {
    client?.close();
    if (daemon !== undefined) expect(await daemon.stop()).toEqual(noLeftovers);
  });

  test("every method is covered", () => {
    expect(apiMethods.map((method) => method.name).sort()).toEqual(Object.keys(methods).sort());
  });

  test.each(Object.keys(methods))("%s answers INVALID_ARGUMENT to params broken on purpose", async (name) => {
    const spec = methods[name];
    await fc.assert(
      fc.asyncProperty(mutations(name, spec), async (mutation) => {
        const answer = await ask(name, applyMutation(spec.template(ids), mutation));
        expect(answer.error, JSON.stringify(answer.result)).toMatchObject({ code: -32602, data: { code: "INVALID_ARGUMENT" } });
      }),
      { numRuns: brokenRuns },
    );
  });

  test.each(Object.keys(methods))("%s answers random params with a documented outcome, never INTERNAL", async (name) => {
    const allowed = new Set(["INVALID_ARGUMENT", ...methods[name].randomOutcomes]);
    await fc.assert(
      fc.asyncProperty(fc.oneof(junk, junkObject, junkArray), async (params) => {
        expect(allowed).toContain(outcome(await ask(name, params)));
      }),
      { numRuns: randomRuns },
    );
  });

  test("afterwards the daemon serves a fresh connection, made nothing from garbage, and runs a sandbox end to end", async () => {
    console.log(`[${runtime}] fuzzed ${fuzzed} requests:`, Object.fromEntries([...seen].sort()));
    expect(fuzzed).toBeGreaterThanOrEqual(Object.keys(methods).length * (brokenRuns + randomRuns));
    const fresh = await PipeClient.connect(daemon.socket);
    try {
      expect((await fresh.call("Version")).result).toMatchObject({ runtime });
      const { result: pods } = await fresh.call("ListPodSandbox", {});
      expect(pods.items.map((pod: { id: string }) => pod.id)).toEqual([ids.sandbox]);
      const { result: containers } = await fresh.call("ListContainers", { filter: { podSandboxId: ids.sandbox } });
      expect(containers.items.map((item: { id: string; infra: boolean }) => (item.infra ? "infra" : item.id)).sort()).toEqual([ids.container, "infra"].sort());
      // The target container was never started by a malformed StartContainer.
      expect((await fresh.call("ContainerStatus", { containerId: ids.container })).result.status.state).toBe("created");

      const { result: run } = await fresh.call("RunPodSandbox", { config: { name: "after-fuzz" } });
      expect(await fresh.call("StopPodSandbox", { podSandboxId: run.podSandboxId, timeoutMs: 2_000 })).toMatchObject({ result: {} });
      expect(await fresh.call("RemovePodSandbox", { podSandboxId: run.podSandboxId })).toMatchObject({ result: {} });
      expect(await fresh.call("RemovePodSandbox", { podSandboxId: ids.sandbox })).toMatchObject({ result: {} });
      expect((await fresh.call("ListPodSandbox")).result.items).toEqual([]);
    } finally {
      fresh.close();
    }
  });
});
