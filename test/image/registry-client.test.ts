import { describe, expect, test } from "vitest";
import { parseChallenge } from "../../src/image/registry-auth.ts";
import { isLoopback, RegistryClient } from "../../src/image/registry-client.ts";
import { ociArchitecture, selectPlatform } from "../../src/image/image-manifest.ts";

describe("RegistryClient.scheme()", () => {
  test("plain HTTP only for loopback and the registries the operator allows", () => {
    const client = new RegistryClient({ insecureRegistries: ["registry.lan:5000", "plain.example"] });
    expect(client.scheme("docker.io")).toBe("https:");
    expect(client.scheme("quay.io")).toBe("https:");
    expect(client.scheme("registry.lan")).toBe("https:");
    expect(client.scheme("registry.lan:5000")).toBe("http:");
    expect(client.scheme("plain.example:443")).toBe("http:");
    for (const host of ["127.0.0.1:5000", "127.9.8.7", "localhost:5000", "[::1]:5000"]) expect(client.scheme(host), host).toBe("http:");
    expect(isLoopback("128.0.0.1")).toBe(false);
    expect(isLoopback("127.0.0.1.example")).toBe(false);
  });
});

describe("parseChallenge()", () => {
  test("reads Bearer and Basic challenges", () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull" },
    });
    expect(parseChallenge('Basic realm="pvtest"')).toEqual({ scheme: "basic", params: { realm: "pvtest" } });
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe("selectPlatform()", () => {
  const entry = (architecture: string, variant?: string) => ({ digest: `sha256:${architecture.padEnd(64, "0").slice(0, 64).replace(/[^0-9a-f]/g, "a")}`, size: 1, platform: { os: "linux", architecture, ...(variant ? { variant } : {}) } });
  test("picks linux/<arch>, arm64's v8 first, and says what an index offers when it has none", () => {
    expect(ociArchitecture("x64")).toBe("amd64");
    expect(ociArchitecture("arm64")).toBe("arm64");
    const index = { schemaVersion: 2 as const, manifests: [entry("amd64"), entry("arm64", "v9"), entry("arm64", "v8")] };
    expect(selectPlatform(index, "amd64").platform?.architecture).toBe("amd64");
    expect(selectPlatform(index, "arm64").platform?.variant).toBe("v8");
    expect(() => selectPlatform(index, "s390x")).toThrow(expect.objectContaining({ code: "NOT_FOUND", message: expect.stringContaining("linux/amd64, linux/arm64") }));
  });
});
