import type { Command } from "commander";
import type { HostCheckReport, HostLeak, HostObjectKind } from "../../api/api-types.ts";
import { CliError } from "../cli-error.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { formatDuration, formatTable, isStructured, printData } from "../output.ts";

const kinds: HostObjectKind[] = ["mounts", "netns", "cgroups", "processes", "addresses", "veths", "conmon", "runtimeStates", "bundles"];

/**
 * `podvisor check [--repair]`: the daemon's leak check. A table of what the records own against
 * what is on the host, kind by kind, then every leak with why it is one (and, with `--repair`,
 * what became of it). `-o json|yaml` prints the whole report. Exit status 1 (and one line on
 * stderr) when leaks remain: found without `--repair`, or not all removed by it; 0 otherwise.
 */
export function addHostCheckCommand(program: Command): void {
  clientCommand(program, "check", "compare what is on the host (mounts, netns, cgroups, processes, CNI addresses and veths; on runc/crun conmon, runtime states and bundles) with the daemon's records; list the leaks")
    .option("--repair", "remove every leak found (what no record owns)")
    .action((flags: { repair?: boolean }, command: Command) => withClient(command, async ({ client, output }) => {
      const report = await client.call<HostCheckReport>("CheckHost", { repair: flags.repair === true });
      if (isStructured(output)) printData(report, output);
      else console.log(formatReport(report));
      const left = report.leaks - report.removed;
      if (left > 0) throw new CliError(report.repair ? `${left} of ${report.leaks} leaks remain after the repair (see the table)` : `the host has ${report.leaks} leak${report.leaks === 1 ? "" : "s"}; podvisor check --repair removes them`);
    }));
}

/** The report for people: the comparison, the leaks, what the records miss, and a one-line summary. */
export function formatReport(report: HostCheckReport): string {
  const head = ["KIND", "OWNED", "ON HOST", "LEAKS", "IN FLIGHT", "MISSING", ...(report.repair ? ["REMOVED", "FAILED"] : [])];
  const rows = kinds.map((kind) => {
    const found = report.kinds[kind];
    if (found.error !== undefined) return [kind, `cannot read: ${found.error.message}`];
    const counts = [found.owned.length, found.onHost.length, found.leaks.length, found.inFlight.length, found.missing.length];
    return [kind, ...counts, ...(report.repair ? [found.removed.length, found.failed.length] : [])];
  });
  const sections = [formatTable(head, rows)];
  const leaks = kinds.flatMap((kind) => report.kinds[kind].leaks.map((leak) => [kind, leak.name, leak.reason, ...(report.repair ? [outcome(report, kind, leak)] : [])]));
  if (leaks.length > 0) sections.push(formatTable(["LEAK", "NAME", "WHY", ...(report.repair ? ["REPAIR"] : [])], leaks));
  const missing = kinds.flatMap((kind) => report.kinds[kind].missing.map((name) => [kind, name]));
  if (missing.length > 0) sections.push(formatTable(["MISSING", "NAME (a record says it exists; the host has none)"], missing));
  sections.push(summary(report));
  return sections.join("\n\n");
}

function outcome(report: HostCheckReport, kind: HostObjectKind, leak: HostLeak): string {
  const found = report.kinds[kind];
  if (found.removed.includes(leak.name)) return "removed";
  const failure = found.failed.find((failed) => failed.name === leak.name);
  if (failure !== undefined) return `failed: ${failure.message}`;
  return `kept: ${leak.notRepaired ?? "not attempted"}`;
}

function summary(report: HostCheckReport): string {
  const took = `(${formatDuration(report.durationMs)})`;
  if (report.leaks === 0) return `No leaks: the host matches the records ${took}`;
  const found = `${report.leaks} leak${report.leaks === 1 ? "" : "s"} found`;
  if (!report.repair) return `${found} ${took}; podvisor check --repair removes them`;
  return `${found}, ${report.removed} removed, ${report.failed} failed ${took}`;
}
