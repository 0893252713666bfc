/**
 * A CNI network of the test's own: a conf dir in a temp folder, a bridge (`pv<run><n>`, ≤ 15
 * characters), a subnet in 10.244.0.0/16 no other network of this run uses, host-local's data dir
 * in the temp folder, and a bin dir with the real plugins (/usr/lib/cni, Debian's
 * containernetworking-plugins) behind one of test plugins. Cleanup removes the bridge and the folder.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { testName, testRunId } from "../support/test-run.ts";

export const realBinDir = "/usr/lib/cni";

/**
 * `pvtoggle`, a test plugin: passes the previous result on at ADD; fails (with a CNI error) or
 * hangs when a file beside it says so (`pvtoggle.fail-add`, `.fail-del`, `.hang-add`, `.hang-del`),
 * or takes 200 ms and logs when it ran (`.slow-del`: into `pvtoggle.calls`).
 * A fake, because the real plugins cannot be made to fail or hang on demand; it sits in a list
 * after the real bridge, so the addresses and veths are real.
 */
const toggleScript = `#!/bin/sh
config=$(cat)
verb=$(echo "$CNI_COMMAND" | tr A-Z a-z)
if [ -e "$0.hang-$verb" ]; then echo $$ >> "$0.hung"; exec sleep 1000; fi
if [ -e "$0.slow-$verb" ]; then echo "start $(date +%s%N)" >> "$0.calls"; sleep 0.2; echo "end $(date +%s%N)" >> "$0.calls"; fi
if [ -e "$0.fail-$verb" ]; then echo '{"cniVersion":"1.0.0","code":999,"msg":"pvtoggle told to fail '"$CNI_COMMAND"'"}'; exit 1; fi
if [ "$CNI_COMMAND" = ADD ]; then printf '%s' "$config" | jq -c .prevResult; fi
`;

export interface TestNetwork {
  name: string;
  bridge: string;
  subnet: string;
  dir: string;
  confDir: string;
  testBinDir: string;
  dataDir: string;
  binDirs: string[];
  /** Writes the conf dir's one file (replacing any): the bridge network, optionally with pvtoggle after it. */
  writeConfig(options?: { toggle?: boolean; loopback?: boolean; rangeStart?: string; rangeEnd?: string; file?: string; name?: string; bridge?: string; subnet?: string }): Promise<void>;
  /** Makes pvtoggle fail or hang at ADD or DEL, or behave again. */
  toggle(mode: "fail-add" | "fail-del" | "hang-add" | "hang-del" | "slow-del", on: boolean): Promise<void>;
  /** host-local's reservations: address → the container id in the file. */
  reservations(network?: string): Promise<Map<string, string>>;
  /** The interfaces attached to the bridge (the host ends of the veths). */
  veths(bridge?: string): Promise<string[]>;
  close(): Promise<void>;
}

let made = 0;

export async function makeTestNetwork(label: string): Promise<TestNetwork> {
  const n = made++;
  const dir = await mkdtemp(join(tmpdir(), `pvtest-${label}-`));
  const confDir = join(dir, "net.d");
  const testBinDir = join(dir, "bin");
  const dataDir = join(dir, "host-local");
  await mkdir(confDir);
  await mkdir(testBinDir);
  await writeFile(join(testBinDir, "pvtoggle"), toggleScript);
  await chmod(join(testBinDir, "pvtoggle"), 0o755);
  const name = testName(`net${n}`);
  const bridge = `pv${testRunId.slice(0, 8)}${n}`.slice(0, 15);
  const subnet = `10.244.${16 + Math.floor(Math.random() * 200)}.0/24`;
  const bridges = new Set([bridge]);
  const network: TestNetwork = {
    name,
    bridge,
    subnet,
    dir,
    confDir,
    testBinDir,
    dataDir,
    binDirs: [testBinDir, realBinDir],
    async writeConfig(options = {}) {
      for (const file of await readdir(confDir)) await rm(join(confDir, file));
      bridges.add(options.bridge ?? bridge);
      const range: Record<string, string> = { subnet: options.subnet ?? subnet };
      if (options.rangeStart !== undefined) range.rangeStart = options.rangeStart;
      if (options.rangeEnd !== undefined) range.rangeEnd = options.rangeEnd;
      const plugins: unknown[] = [
        { type: "bridge", bridge: options.bridge ?? bridge, isGateway: true, ipMasq: false, ipam: { type: "host-local", dataDir, ranges: [[range]] } },
      ];
      if (options.loopback) plugins.push({ type: "loopback" });
      if (options.toggle) plugins.push({ type: "pvtoggle" });
      const conf = { cniVersion: "1.0.0", name: options.name ?? name, plugins };
      await writeFile(join(confDir, options.file ?? "10-pvtest.conflist"), JSON.stringify(conf, null, 2));
    },
    async toggle(mode, on) {
      const flag = join(testBinDir, `pvtoggle.${mode}`);
      if (on) await writeFile(flag, "");
      else await rm(flag, { force: true });
    },
    async reservations(networkName = name) {
      const found = new Map<string, string>();
      const folder = join(dataDir, networkName);
      const files = await readdir(folder).catch(() => [] as string[]);
      for (const file of files.filter((f) => /^[0-9a-f.:]+$/.test(f))) found.set(file, (await readFile(join(folder, file), "utf8")).split(/\r?\n/)[0]);
      return found;
    },
    async veths(bridgeName = bridge) {
      return await readdir(`/sys/class/net/${bridgeName}/brif`).catch(() => [] as string[]);
    },
    async close() {
      // Plugins a test left hanging: their pids are in pvtoggle.hung.
      const hung = await readFile(join(testBinDir, "pvtoggle.hung"), "utf8").catch(() => "");
      for (const pid of hung.split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
      for (const name of bridges) await execa("ip", ["link", "del", name], { reject: false });
      await rm(dir, { recursive: true, force: true });
    },
  };
  await network.writeConfig();
  return network;
}
