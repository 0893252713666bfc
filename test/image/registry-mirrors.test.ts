/**
 * Registry mirrors (`--registry-mirror REGISTRY=URL`): the flag's parsing, and pulls through real
 * registries (Debian's docker-registry on 127.0.0.1) standing in for the mirrors. The images are
 * named `registry.k8s.io/…`, which this machine cannot reach: a pull that succeeds came from a
 * mirror. A mirror that is "down" is a free port nobody listens on.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { ImageStore } from "../../src/image/image-store.ts";
import { parseRegistryMirror, registryMirrors } from "../../src/image/registry-mirrors.ts";
import { failureLine, runCli } from "../cli/cli-harness.ts";
import { RawClient, startDaemonProcess } from "../support/daemon-process.ts";
import { buildTestImage, freePort, pushImage, startRegistry } from "../support/registry.ts";
import type { TestRegistry } from "../support/registry.ts";
import { noLeftovers } from "../support/supervisor.ts";

const runtime = "Deno" in globalThis ? "deno" : "node";

describe("parseRegistryMirror() and registryMirrors()", () => {
  test("REGISTRY=URL: a scheme kept as written, a bare host left to the registry rule, a path as a repository prefix", () => {
    expect(parseRegistryMirror("registry.k8s.io=http://127.0.0.1:5555")).toEqual({ registry: "registry.k8s.io", mirror: { host: "127.0.0.1:5555", scheme: "http:", prefix: "", url: "http://127.0.0.1:5555" } });
    expect(parseRegistryMirror("docker.io=https://mirror.example/hub")).toEqual({ registry: "docker.io", mirror: { host: "mirror.example", scheme: "https:", prefix: "hub/", url: "https://mirror.example/hub" } });
    // index.docker.io is docker.io, as in image references; a bare host has no scheme of its own.
    expect(parseRegistryMirror("index.docker.io=mirror.example:5000/a/b/")).toEqual({ registry: "docker.io", mirror: { host: "mirror.example:5000", prefix: "a/b/", url: "mirror.example:5000/a/b/" } });
    expect(parseRegistryMirror("localhost:5000=127.0.0.1:6000").registry).toBe("localhost:5000");
    expect(parseRegistryMirror("quay.io=http://[::1]:5000").mirror.host).toBe("[::1]:5000");
    // Host names are case-insensitive; HTTPS's own port is no part of the host.
    expect(parseRegistryMirror("Registry.K8s.io=https://Mirror.Example:443")).toMatchObject({ registry: "registry.k8s.io", mirror: { host: "mirror.example", scheme: "https:" } });
  });

  test("malformed values are RangeErrors that name the value and say what is wrong", () => {
    const refused: [string, string][] = [
      ["bad", "it must be REGISTRY=URL, e.g. registry.k8s.io=http://127.0.0.1:5000"],
      ["=http://127.0.0.1:5000", "it must be REGISTRY=URL"],
      ["docker.io=", "it must be REGISTRY=URL"],
      ["busybox=http://m.example", '"busybox" is not a registry'],
      ["registry.k8s.io/e2e-test-images=http://m.example", '"registry.k8s.io/e2e-test-images" is not a registry'],
      ["docker.io=ftp://m.example", "the mirror's scheme must be http or https, not ftp"],
      ["docker.io=http://user:pw@m.example", "the URL must not carry credentials"],
      ["docker.io=http://m.example/?x=1", "the URL must not have a query or a fragment"],
      ["docker.io=http://m.example/#x", "the URL must not have a query or a fragment"],
      ["docker.io=http://m.example/v2/hub", "leave /v2 out: the URL is the mirror's root, then the path its repositories sit under (podvisor adds /v2 before that path)"],
      ["docker.io=http://m.example/Hub", '"Hub" is not a valid repository path component'],
      ["docker.io=http://", '"http://" is not a URL'],
      ["docker.io=http://bad host", '"http://bad host" is not a URL'],
      ["docker.io=http://m.example:99999", '"http://m.example:99999" is not a URL'],
      ["docker.io=http://m.example:0", '"m.example:0" is not a valid registry host'],
      ["docker.io=m_x.example", '"m_x.example" is not a valid registry host'],
    ];
    for (const [value, why] of refused) {
      expect(() => parseRegistryMirror(value), value).toThrow(RangeError);
      expect(() => parseRegistryMirror(value), value).toThrow(`Cannot use --registry-mirror "${value}": ${why}`);
    }
  });

  test("each registry's mirrors in the order given; one mirror twice is refused", () => {
    const mirrors = registryMirrors(["docker.io=http://b.example", "quay.io=q.example", "docker.io=a.example/hub"]);
    expect([...mirrors.keys()]).toEqual(["docker.io", "quay.io"]);
    expect(mirrors.get("docker.io")?.map((mirror) => mirror.url)).toEqual(["http://b.example", "a.example/hub"]);
    expect(registryMirrors([]).size).toBe(0);
    expect(() => registryMirrors(["docker.io=a.example/hub", "index.docker.io=a.example/hub/"])).toThrow('Cannot use --registry-mirror "index.docker.io=a.example/hub/": docker.io has that mirror already (a.example/hub)');
    // The same host over another scheme, or under another path, is another mirror.
    expect(registryMirrors(["docker.io=a.example", "docker.io=http://a.example", "docker.io=a.example/other"]).get("docker.io")).toHaveLength(3);
  });
});

describe("pulls through mirrors", () => {
  const user = { username: "pvtest", password: "s3cret" };
  let dir: string;
  let layerDigest: string;
  /** Has e2e-test-images/busybox, e2e-test-images/only-first, and k8s/e2e-test-images/prefixed. */
  let first: TestRegistry;
  /** Has e2e-test-images/busybox and e2e-test-images/only-second. */
  let second: TestRegistry;
  /** Requires basic auth (`user`); has e2e-test-images/busybox. */
  let guarded: TestRegistry;
  /** Has e2e-test-images/busybox with its layer's bytes damaged. */
  let corrupt: TestRegistry;
  /** Nobody listens there. */
  let down: string;
  const roots: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pvtest-image-mirrors-"));
    const layout = await buildTestImage(dir);
    [first, second, guarded, corrupt] = await Promise.all([startRegistry(), startRegistry(), startRegistry({ basic: user }), startRegistry()]);
    for (const repository of ["e2e-test-images/busybox:1.0", "e2e-test-images/only-first:1.0", "k8s/e2e-test-images/prefixed:1.0"]) await pushImage(layout, first, repository);
    for (const repository of ["e2e-test-images/busybox:1.0", "e2e-test-images/only-second:1.0"]) await pushImage(layout, second, repository);
    await pushImage(layout, guarded, "e2e-test-images/busybox:1.0", user);
    await pushImage(layout, corrupt, "e2e-test-images/busybox:1.0");
    down = `127.0.0.1:${await freePort()}`;
    const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(join(layout, "blobs", "sha256", (index.manifests[0] as { digest: string }).digest.slice(7)), "utf8")) as { layers: { digest: string }[] };
    layerDigest = (manifest.layers[0] as { digest: string }).digest;
    const data = join(corrupt.dataDir, "blobs", "sha256", layerDigest.slice(7, 9), layerDigest.slice(7), "data");
    const bytes = await readFile(data);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(data, bytes);
  }, 120_000);

  afterEach(async () => {
    for (const root of roots.splice(0)) await rm(root, { recursive: true, force: true });
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop(), guarded?.stop(), corrupt?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  async function storeWith(values: string[]): Promise<ImageStore> {
    const root = await mkdtemp(join(tmpdir(), "pvtest-images-"));
    roots.push(root);
    return ImageStore.open({ root, registryMirrors: registryMirrors(values) });
  }

  /** How many times each registry served the image's layer during `pull`. */
  async function layerServed(pull: () => Promise<unknown>): Promise<{ first: number; second: number; guarded: number }> {
    const before = { first: first.blobGets(layerDigest), second: second.blobGets(layerDigest), guarded: guarded.blobGets(layerDigest) };
    await pull();
    return { first: first.blobGets(layerDigest) - before.first, second: second.blobGets(layerDigest) - before.second, guarded: guarded.blobGets(layerDigest) - before.guarded };
  }

  test("a registry.k8s.io image (unreachable from here) pulls from its mirror on 127.0.0.1, and keeps its own name", async () => {
    const store = await storeWith([`registry.k8s.io=http://${first.address}`]);
    let image: Awaited<ReturnType<ImageStore["pull"]>> | undefined;
    expect(await layerServed(async () => (image = await store.pull("registry.k8s.io/e2e-test-images/busybox:1.0")))).toEqual({ first: 1, second: 0, guarded: 0 });
    expect(image?.repoTags).toEqual(["registry.k8s.io/e2e-test-images/busybox:1.0"]);
    expect(image?.repoDigests).toEqual([expect.stringMatching(/^registry\.k8s\.io\/e2e-test-images\/busybox@sha256:[0-9a-f]{64}$/)]);
    expect(store.find("registry.k8s.io/e2e-test-images/busybox:1.0")?.id).toBe(image?.id);
    // A bare host[:port] works too: loopback is plain HTTP, as for a registry.
    const bare = await storeWith([`registry.k8s.io=${second.address}`]);
    expect(await layerServed(() => bare.pull("registry.k8s.io/e2e-test-images/busybox:1.0"))).toEqual({ first: 0, second: 1, guarded: 0 });
  });

  test("mirrors are asked in the order given: the first that has the image serves it", async () => {
    const reference = "registry.k8s.io/e2e-test-images/busybox:1.0";
    expect(await layerServed(async () => (await storeWith([`registry.k8s.io=http://${first.address}`, `registry.k8s.io=http://${second.address}`])).pull(reference))).toEqual({ first: 1, second: 0, guarded: 0 });
    expect(await layerServed(async () => (await storeWith([`registry.k8s.io=http://${second.address}`, `registry.k8s.io=http://${first.address}`])).pull(reference))).toEqual({ first: 0, second: 1, guarded: 0 });
  });

  test("a mirror that lacks the image, or is down, is passed over for the next", async () => {
    const lacking = await storeWith([`registry.k8s.io=http://${second.address}`, `registry.k8s.io=http://${first.address}`]);
    expect(await layerServed(() => lacking.pull("registry.k8s.io/e2e-test-images/only-first:1.0"))).toEqual({ first: 1, second: 0, guarded: 0 });
    const unreachable = await storeWith([`registry.k8s.io=http://${down}`, `registry.k8s.io=http://${second.address}`]);
    expect(await layerServed(() => unreachable.pull("registry.k8s.io/e2e-test-images/only-second:1.0"))).toEqual({ first: 0, second: 1, guarded: 0 });
  });

  test("the registry itself is asked last; when nothing has the image, the error says what was tried", async () => {
    // The second registry stands for the mirrored one here (registry.k8s.io cannot be reached from this machine).
    const store = await storeWith([`${second.address}=http://${down}`, `${second.address}=http://${first.address}`]);
    const image = await store.pull(`${second.address}/e2e-test-images/only-second:1.0`);
    expect(image.repoTags).toEqual([`${second.address}/e2e-test-images/only-second:1.0`]);
    const failed = store.pull(`${second.address}/e2e-test-images/absent:1.0`);
    await expect(failed).rejects.toMatchObject({ code: "NOT_FOUND" });
    const { message } = (await failed.catch((error: Error) => error)) as Error;
    expect(message).toMatch(new RegExp(`^Cannot pull ${second.address}/e2e-test-images/absent: the registry has no manifest 1\\.0 \\(tried first: `));
    expect(message).toContain(`mirror http://${down}: Cannot reach registry ${down}: `);
    expect(message).toContain(`mirror http://${first.address}: Cannot pull ${first.address}/e2e-test-images/absent: the registry has no manifest 1.0`);
    expect(store.list().map((one) => one.repoTags)).toEqual([[`${second.address}/e2e-test-images/only-second:1.0`]]);
  });

  test("a mirror URL's path is where the registry's repositories sit on the mirror", async () => {
    const store = await storeWith([`registry.k8s.io=http://${first.address}/k8s`]);
    const image = await store.pull("registry.k8s.io/e2e-test-images/prefixed:1.0");
    expect(image.repoTags).toEqual(["registry.k8s.io/e2e-test-images/prefixed:1.0"]);
    // Without the prefix the mirror has no such repository (and the registry is out of reach).
    await expect((await storeWith([`registry.k8s.io=http://${first.address}`])).pull("registry.k8s.io/e2e-test-images/prefixed:1.0")).rejects.toMatchObject({
      message: expect.stringContaining(`mirror http://${first.address}: Cannot pull ${first.address}/e2e-test-images/prefixed: the registry has no manifest 1.0`),
    });
  });

  test("the pull's credentials go to the registry only, never to a mirror", async () => {
    // The guarded mirror would serve the image to these credentials: it serves nothing, so it never got them.
    const store = await storeWith([`${first.address}=http://${guarded.address}`]);
    const served = await layerServed(() => store.pull(`${first.address}/e2e-test-images/busybox:1.0`, { auth: user }));
    expect(served).toEqual({ first: 1, second: 0, guarded: 0 });
    // The same credentials do open the guarded registry, pulled by its own name.
    const direct = await storeWith([]);
    expect(await layerServed(() => direct.pull(`${guarded.address}/e2e-test-images/busybox:1.0`, { auth: user }))).toEqual({ first: 0, second: 0, guarded: 1 });
  });

  test("a mirror that sends a blob's bytes wrong fails the pull (DATA_LOSS, nothing stored): a blob is not passed over once its bytes flow", async () => {
    const store = await storeWith([`registry.k8s.io=http://${corrupt.address}`, `registry.k8s.io=http://${first.address}`]);
    await expect(store.pull("registry.k8s.io/e2e-test-images/busybox:1.0")).rejects.toMatchObject({ code: "DATA_LOSS", message: expect.stringContaining(layerDigest) });
    expect(store.list()).toEqual([]);
    expect(await store.blobs.list()).toEqual([]);
  });

  test(`a daemon on ${runtime} takes --registry-mirror to its image store, and refuses a bad one at start in one line`, async () => {
    const root = await mkdtemp(join(tmpdir(), "pvtest-mirror-refused-"));
    roots.push(root);
    const socket = join(root, "api.sock");
    const refused = await runCli(runtime, ["daemon", "--root", join(root, "state"), "--socket", socket, "--registry-mirror", "bad"]);
    expect(failureLine(refused)).toBe('podvisor: cannot use --registry-mirror "bad": it must be REGISTRY=URL, e.g. registry.k8s.io=http://127.0.0.1:5000');
    expect(existsSync(socket)).toBe(false);
    const daemon = await startDaemonProcess(runtime, ["--registry-mirror", `registry.k8s.io=http://${down}`, "--registry-mirror", `registry.k8s.io=http://${first.address}`]);
    const api = await RawClient.connect(daemon.socket);
    try {
      const reference = "registry.k8s.io/e2e-test-images/busybox:1.0";
      const pulled = await api.call("PullImage", { image: { image: reference } });
      expect(pulled.error).toBeUndefined();
      const status = await api.call("ImageStatus", { image: { image: reference } });
      expect(status.result?.image).toMatchObject({ id: pulled.result?.imageRef, repoTags: [reference] });
      await api.call("RemoveImage", { image: { image: reference } });
    } finally {
      api.close();
      expect(await daemon.stop()).toEqual(noLeftovers);
    }
  });
});
