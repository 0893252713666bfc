import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ImageStore } from "../../src/image/image-store.ts";
import { buildTestImage, pushImage, startRegistry } from "../support/registry.ts";
import type { TestRegistry } from "../support/registry.ts";
import { startTokenServer } from "../support/token-server.ts";
import type { TokenServer } from "../support/token-server.ts";

const user = { username: "pvtest", password: "s3cret" };
let dir: string;
let layout: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pvtest-image-auth-"));
  layout = await buildTestImage(dir);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function freshStore(): Promise<{ store: ImageStore; done(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), "pvtest-images-"));
  return { store: await ImageStore.open({ root }), done: () => rm(root, { recursive: true, force: true }) };
}

describe("pulls from a registry that requires basic auth (htpasswd)", () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ basic: user });
    await pushImage(layout, registry, "test/busybox:latest", user);
  }, 60_000);
  afterAll(async () => registry?.stop());

  test("without credentials, or with wrong ones, the pull is refused and nothing stored", async () => {
    const { store, done } = await freshStore();
    try {
      const reference = `${registry.address}/test/busybox:latest`;
      await expect(store.pull(reference)).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: expect.stringContaining("requires credentials") });
      await expect(store.pull(reference, { auth: { username: user.username, password: "wrong" } })).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: expect.stringContaining("refused") });
      expect(store.list()).toEqual([]);
      expect(await store.blobs.list()).toEqual([]);
    } finally {
      await done();
    }
  });

  test("with username and password, or CRI's base64 auth, the pull succeeds", async () => {
    const { store, done } = await freshStore();
    try {
      const reference = `${registry.address}/test/busybox:latest`;
      expect((await store.pull(reference, { auth: user })).repoTags).toEqual([reference]);
      const other = await freshStore();
      try {
        const auth = Buffer.from(`${user.username}:${user.password}`).toString("base64");
        expect((await other.store.pull(reference, { auth: { auth } })).repoTags).toEqual([reference]);
      } finally {
        await other.done();
      }
    } finally {
      await done();
    }
  });
});

describe("pulls from a registry that requires bearer tokens", () => {
  let registry: TestRegistry;
  let tokens: TokenServer;
  beforeAll(async () => {
    tokens = await startTokenServer(dir, user);
    registry = await startRegistry({ token: tokens });
    await pushImage(layout, registry, "test/busybox:latest", user);
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    await tokens?.close();
  });

  test("the challenge is answered with a token from the realm; bad credentials are refused", async () => {
    const { store, done } = await freshStore();
    try {
      const reference = `${registry.address}/test/busybox:latest`;
      await expect(store.pull(reference, { auth: { username: user.username, password: "wrong" } })).rejects.toMatchObject({ code: "UNAUTHENTICATED", message: expect.stringContaining("token server refused") });
      const before = tokens.issued();
      const image = await store.pull(reference, { auth: user });
      expect(image.repoTags).toEqual([reference]);
      expect(tokens.issued()).toBe(before + 1);
    } finally {
      await done();
    }
  });

  test("an identityToken is exchanged for an access token (OAuth2 refresh-token grant); a wrong one is refused", async () => {
    const { store, done } = await freshStore();
    try {
      const reference = `${registry.address}/test/busybox:latest`;
      await expect(store.pull(reference, { auth: { identityToken: "wrong" } })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
      expect((await store.pull(reference, { auth: { identityToken: tokens.refreshToken } })).repoTags).toEqual([reference]);
    } finally {
      await done();
    }
  });

  test("a registryToken is sent as the bearer token itself: a forged one is refused, a real one works", async () => {
    const { store, done } = await freshStore();
    try {
      const reference = `${registry.address}/test/busybox:latest`;
      await expect(store.pull(reference, { auth: { registryToken: "not-a-token" } })).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
      const url = `${tokens.realm}?service=${tokens.service}&scope=repository:test/busybox:pull`;
      const response = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString("base64")}` } });
      const { token } = (await response.json()) as { token: string };
      expect((await store.pull(reference, { auth: { registryToken: token } })).repoTags).toEqual([reference]);
    } finally {
      await done();
    }
  });
});
