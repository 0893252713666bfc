/**
 * What `pods`, `ps`, `inspect` and `inspectp` print: the --name and --label filters, `-o yaml`,
 * several ids at once, and no ANSI codes unless stdout is a terminal that takes colour.
 */
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { commandFor, runtimes } from "../support/runtimes.ts";
import { noLeftovers } from "../support/supervisor.ts";
import { call, failureLine, output, machineEnv, runCli, startCliFixture } from "./cli-harness.ts";
import type { CliFixture } from "./cli-harness.ts";

const cliPath = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const binDir = new URL("../../node_modules/.bin/", import.meta.url).pathname;
const escape = "\u001b";

describe.each(runtimes)("podvisor's lists and output on %s", (runtime) => {
  let fixture: CliFixture;
  const pods: Record<"web" | "db" | "bare", string> = { web: "", db: "", bare: "" };
  const containers: Record<"front" | "back", string> = { front: "", back: "" };
  beforeAll(async () => {
    fixture = await startCliFixture(runtime);
    const labels = { web: { app: "web", tier: "front" }, db: { app: "db", tier: "back" }, bare: undefined };
    for (const name of ["web", "db", "bare"] as const) {
      pods[name] = (await call(fixture.api, "RunPodSandbox", { config: { name, labels: labels[name] } })).podSandboxId;
    }
    for (const name of ["front", "back"] as const) {
      containers[name] = (await call(fixture.api, "CreateContainer", { podSandboxId: pods.web, config: { name, command: ["sleep", "1000"] } })).containerId;
      await call(fixture.api, "StartContainer", { containerId: containers[name] });
    }
  });
  afterAll(async () => {
    expect(await fixture.close()).toEqual(noLeftovers);
  });

  const ids = async (...args: string[]) => output(await fixture.podvisor(...args, "-q")).split("\n").filter(Boolean).sort();

  test("pods --label k=v (repeatable: all must match) and --name REGEX filter the list", async () => {
    expect(await ids("pods", "--label", "app=web")).toEqual([pods.web]);
    expect(await ids("pods", "--label", "app=web", "--label", "tier=front")).toEqual([pods.web]);
    expect(await ids("pods", "--label", "app=web", "--label", "tier=back")).toEqual([]);
    expect(await ids("pods", "--label", "tier=")).toEqual([]);
    expect(await ids("pods", "--name", "^(db|bare)$")).toEqual([pods.db, pods.bare].sort());
    expect(await ids("pods", "--name", "e", "--label", "tier=front")).toEqual([pods.web]);
    const table = output(await fixture.podvisor("pods", "--label", "app=db")).trimEnd().split("\n");
    expect(table).toHaveLength(2);
    expect(table[1]).toMatch(/^\w{13}\s+db\s+ready\s/);
    expect(failureLine(await fixture.podvisor("pods", "--name", "("))).toMatch(/^podvisor: cannot filter by --name "\(": /);
    expect(failureLine(await fixture.podvisor("pods", "--label", "app"))).toMatch(/Expected KEY=VALUE/);
  });

  test("ps --name filters containers; ps --label says containers have no labels", async () => {
    expect(await ids("ps", "--name", "^fr")).toEqual([containers.front]);
    expect(await ids("ps", "--name", "o")).toEqual([containers.front]);
    expect(await ids("ps", "--name", "a", "--pod", pods.web)).toEqual([containers.back]);
    expect(failureLine(await fixture.podvisor("ps", "--label", "app=web"))).toBe(
      "podvisor: cannot filter containers by --label: containers have no labels (CreateContainer takes none); filter by --name or --pod",
    );
  });

  test("-o yaml gives what -o json gives, wherever -o json works", async () => {
    for (const args of [["pods"], ["ps", "-a"], ["inspect", containers.front], ["inspectp", pods.db], ["version"], ["check"]]) {
      const json = JSON.parse(output(await fixture.podvisor(...args, "-o", "json")));
      const yaml = parse(output(await fixture.podvisor(...args, "-o", "yaml")));
      // A list's ages and a check's timings differ between two calls; the shape and ids do not.
      if (Array.isArray(json)) expect(yaml.map((item: { id: string }) => item.id)).toEqual(json.map((item: { id: string }) => item.id));
      else expect(Object.keys(yaml).sort()).toEqual(Object.keys(json).sort());
    }
    expect(parse(output(await fixture.podvisor("-o", "yaml", "inspectp", pods.web)))).toMatchObject({ id: pods.web, labels: { app: "web", tier: "front" } });
  });

  test("inspect and inspectp take several ids: a list, in the order given; one id: the object itself", async () => {
    const many = JSON.parse(output(await fixture.podvisor("inspectp", pods.db.slice(0, 8), pods.web)));
    expect(many.map((status: { id: string }) => status.id)).toEqual([pods.db, pods.web]);
    const one = JSON.parse(output(await fixture.podvisor("inspect", containers.back)));
    expect(one).toMatchObject({ id: containers.back, name: "back" });
    const both = parse(output(await fixture.podvisor("inspect", "-o", "yaml", containers.back, containers.front)));
    expect(both.map((status: { name: string }) => status.name)).toEqual(["back", "front"]);
  });

  test("piped, tables carry no ANSI codes; on a terminal heads are bold, unless NO_COLOR", async () => {
    for (const args of [["pods"], ["ps", "-a"], ["check"]]) expect(output(await fixture.podvisor(...args))).not.toContain(escape);
    const onTerminal = async (env: Record<string, string>) => {
      const command = ["exec", ...(([file, args]) => [file, ...args])(commandFor(runtime, cliPath, ["pods"]))].map((word) => `'${word}'`).join(" ");
      // `script` runs the command on a terminal (a pty) and copies what it printed to its stdout.
      const result = await execa("script", ["-qec", command, "/dev/null"], {
        reject: false, stdin: "ignore", extendEnv: false,
        env: { ...machineEnv(), PODVISOR_SOCKET: fixture.daemon.socket, PATH: `${binDir}:${process.env.PATH}`, TERM: "xterm", ...env },
      });
      expect(result.exitCode, String(result.stderr)).toBe(0);
      return String(result.stdout);
    };
    expect(await onTerminal({})).toContain(`${escape}[1mPOD ID`);
    const plain = await onTerminal({ NO_COLOR: "1" });
    expect(plain).toContain("POD ID");
    expect(plain).not.toContain(escape);
    // And a pipe with a terminal's TERM still gets none.
    expect(output(await runCli(runtime, ["pods"], { PODVISOR_SOCKET: fixture.daemon.socket, TERM: "xterm", FORCE_COLOR: "1" }))).not.toContain(escape);
  });
});
