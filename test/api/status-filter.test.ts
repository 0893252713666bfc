import { describe, expect, test } from "vitest";
import * as schemas from "../../src/api/schemas.ts";
import { containerMatches, sandboxMatches } from "../../src/api/status-filter.ts";
import type { ContainerStatus, PodSandboxStatus } from "../../src/api/api-types.ts";

const sandbox = { id: "abc123", name: "web", state: "ready", labels: { app: "web", tier: "front" } } as unknown as PodSandboxStatus;
const container = { id: "def456", name: "app", state: "running", podSandboxId: "abc123" } as unknown as ContainerStatus;

describe("the one status filter", () => {
  test("sandboxMatches() filters by id or id prefix, state, name and every label of the selector", () => {
    expect(sandboxMatches(sandbox)).toBe(true);
    expect(sandboxMatches(sandbox, { id: "abc" })).toBe(true);
    expect(sandboxMatches(sandbox, { id: "abd" })).toBe(false);
    expect(sandboxMatches(sandbox, { state: "stopped" })).toBe(false);
    expect(sandboxMatches(sandbox, { name: "web" })).toBe(true);
    expect(sandboxMatches(sandbox, { labelSelector: { app: "web" } })).toBe(true);
    expect(sandboxMatches(sandbox, { labelSelector: { app: "web", tier: "back" } })).toBe(false);
  });

  test("containerMatches() also filters by sandbox; a container without labels matches only an empty selector", () => {
    expect(containerMatches(container, { podSandboxId: "abc123", state: "running" })).toBe(true);
    expect(containerMatches(container, { podSandboxId: "other" })).toBe(false);
    expect(containerMatches(container, { labelSelector: {} })).toBe(true);
    expect(containerMatches(container, { labelSelector: { app: "x" } })).toBe(false);
  });

  test("the API's list schemas take the same filter, and refuse a malformed id", () => {
    expect(schemas.listPodSandbox.parse({ filter: { id: "abc", labelSelector: { app: "web" } } })).toEqual({ filter: { id: "abc", labelSelector: { app: "web" } } });
    expect(schemas.listContainers.parse({ filter: { podSandboxId: "abc123", id: "def" } })).toMatchObject({ filter: { id: "def" } });
    expect(() => schemas.listPodSandbox.parse({ filter: { id: "../x" } })).toThrow(/not a well-formed id/);
  });
});
