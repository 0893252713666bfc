import { readFileSync } from "node:fs";
import { runtimeName, runtimeVersion } from "./platform/runtime.ts";
import type { RuntimeName } from "./platform/runtime.ts";

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

/** The version of podvisor and of the runtime under it. */
export function describeVersion(): { version: string; runtime: RuntimeName; runtimeVersion: string } {
  return { version: packageJson.version, runtime: runtimeName, runtimeVersion };
}
