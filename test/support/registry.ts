/**
 * A real registry for the image tests: Debian's `docker-registry` (distribution 2.8) on
 * 127.0.0.1:<free port>, storage in a temporary folder, optionally behind htpasswd basic auth or
 * bearer-token auth (a token server of the test's own, on 127.0.0.1). Its access log tells the
 * tests which requests reached it. And a test image, made from busybox-static with umoci and
 * pushed with skopeo.
 */
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { ResultPromise } from "execa";

export interface TestRegistry {
  /** `127.0.0.1:<port>`. */
  address: string;
  /** The registry's storage (`docker/registry/v2/…`), for tests that corrupt a blob. */
  dataDir: string;
  /** How many times the registry served `GET …/blobs/<digest>` (any digest when none given). */
  blobGets(digest?: string): number;
  stop(): Promise<void>;
}

export interface RegistryAuth {
  /** htpasswd basic auth with this user. */
  basic?: { username: string; password: string };
  /** Bearer tokens from this realm (see token-server.ts). */
  token?: { realm: string; service: string; issuer: string; certPath: string };
}

/** A free TCP port on 127.0.0.1 (the OS's pick; released before it is used). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a registry; resolves once it listens. */
export async function startRegistry(auth: RegistryAuth = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "pvtest-registry-"));
  const dataDir = join(dir, "data");
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  let authConfig = "";
  if (auth.basic !== undefined) {
    const { stdout } = await execa("htpasswd", ["-nbB", auth.basic.username, auth.basic.password]);
    await writeFile(join(dir, "htpasswd"), `${stdout.trim()}\n`);
    authConfig = `auth:\n  htpasswd:\n    realm: pvtest\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (auth.token !== undefined) {
    const { realm, service, issuer, certPath } = auth.token;
    authConfig = `auth:\n  token:\n    realm: ${realm}\n    service: ${service}\n    issuer: ${issuer}\n    rootcertbundle: ${certPath}\n`;
  }
  const config = [
    "version: 0.1",
    "log:\n  level: info\n  accesslog:\n    disabled: false",
    `storage:\n  filesystem:\n    rootdirectory: ${dataDir}\n  delete:\n    enabled: true`,
    `http:\n  addr: ${address}`,
    authConfig,
  ].join("\n");
  await writeFile(join(dir, "config.yml"), config);
  const child: ResultPromise = execa("docker-registry", ["serve", join(dir, "config.yml")], { reject: false, stdin: "ignore", all: true, buffer: false });
  const lines: string[] = [];
  let exited = false;
  void child.then(() => (exited = true));
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`Cannot start docker-registry: not listening after 30 s\n${lines.join("\n")}`)), 30_000);
    child.all?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line !== "") lines.push(line);
        if (line.includes("listening on")) {
          clearTimeout(deadline);
          resolve();
        }
      }
    });
    void child.then(() => {
      clearTimeout(deadline);
      reject(new Error(`Cannot start docker-registry: it exited\n${lines.join("\n")}`));
    });
  });
  return {
    address,
    dataDir: join(dataDir, "docker", "registry", "v2"),
    blobGets: (digest) => lines.filter((line) => new RegExp(`"GET /v2/[^ ]+/blobs/${digest ?? "sha256:[0-9a-f]{64}"} HTTP/1\\.1" 200`).test(line)).length,
    async stop() {
      if (!exited) child.kill("SIGKILL");
      await child;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The applets the test image links to busybox, relative (absolute links would dangle inside a container). */
const applets = ["sh", "sleep", "echo", "cat", "ls", "true", "false", "env", "pwd", "id", "mkdir", "rm", "touch", "stat", "test"];

/**
 * An OCI layout (`<dir>/layout`, tag `latest`) of a one-layer image: /bin/busybox with applet
 * links, Cmd `sh`, Env PATH, WorkingDir /. Made with umoci, as root (files owned by root).
 */
export async function buildTestImage(dir: string, options: { extraFiles?: Record<string, string>; configArgs?: string[] } = {}): Promise<string> {
  const layout = join(dir, "layout");
  const bundle = join(dir, "bundle");
  await execa("umoci", ["init", "--layout", layout]);
  await execa("umoci", ["new", "--image", `${layout}:latest`]);
  await execa("umoci", ["unpack", "--image", `${layout}:latest`, bundle]);
  const rootfs = join(bundle, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin", "busybox"));
  await chmod(join(rootfs, "bin", "busybox"), 0o755);
  for (const applet of applets) await symlink("busybox", join(rootfs, "bin", applet));
  for (const [path, text] of Object.entries(options.extraFiles ?? {})) {
    await mkdir(join(rootfs, path, ".."), { recursive: true });
    await writeFile(join(rootfs, path), text);
  }
  await execa("umoci", ["repack", "--image", `${layout}:latest`, bundle]);
  await execa("umoci", ["config", "--image", `${layout}:latest`, ...(options.configArgs ?? ["--config.cmd", "sh", "--config.env", "PATH=/bin", "--config.workingdir", "/"])]);
  await execa("umoci", ["gc", "--layout", layout]);
  await rm(bundle, { recursive: true, force: true });
  return layout;
}

/** Adds a layer to `<layout>:latest` that deletes `remove` (a whiteout) and writes `files`. */
export async function addTestLayer(layout: string, dir: string, change: { remove: string[]; files: Record<string, string> }): Promise<void> {
  const bundle = join(dir, "bundle-next");
  await execa("umoci", ["unpack", "--image", `${layout}:latest`, bundle]);
  for (const path of change.remove) await rm(join(bundle, "rootfs", path), { recursive: true });
  for (const [path, text] of Object.entries(change.files)) {
    await mkdir(join(bundle, "rootfs", path, ".."), { recursive: true });
    await writeFile(join(bundle, "rootfs", path), text);
  }
  await execa("umoci", ["repack", "--image", `${layout}:latest`, bundle]);
  await execa("umoci", ["gc", "--layout", layout]);
  await rm(bundle, { recursive: true, force: true });
}

/** Pushes `<layout>:latest` to `docker://<address>/<repository>`. */
export async function pushImage(layout: string, registry: TestRegistry, repository: string, credentials?: { username: string; password: string }): Promise<void> {
  const creds = credentials === undefined ? [] : ["--dest-creds", `${credentials.username}:${credentials.password}`];
  await execa("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", ...creds, `oci:${layout}:latest`, `docker://${registry.address}/${repository}`]);
}
