import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { CliError } from "../cli-error.ts";
import { clientCommand, withClient } from "../client-command.ts";
import { isStructured, printData } from "../output.ts";
import { formatSize } from "./image-list.ts";

interface PullFlags {
  creds?: string;
  auth?: string;
  registryToken?: string;
}

/**
 * `podvisor pull [--creds USER[:PASS]] REF`: pulls an image, with a progress bar of its blobs' bytes
 * on a terminal; prints the image's id (crictl's line: "Image is up to date for sha256:…").
 */
export function addImagePullCommand(program: Command): void {
  clientCommand(program, "pull", "pull an image from a registry")
    .argument("<image>", "an image reference: busybox, registry:5000/app:tag, name@sha256:…")
    .option("--creds <user[:password]>", "credentials for the registry")
    .option("--auth <base64>", "credentials as base64 of user:password (CRI's auth field)")
    .option("--registry-token <token>", "a bearer token for the registry, sent as is")
    .action((reference: string, flags: PullFlags, command: Command) =>
      withClient(command, async ({ client, output }) => {
        const auth = authOf(flags);
        const bar = process.stderr.isTTY && !isStructured(output)
          ? new SingleBar({ format: "Pulling {bar} {doneSize}/{totalSize}", hideCursor: true, stream: process.stderr, clearOnComplete: true }, undefined)
          : undefined;
        let started = false;
        try {
          const result = await client.call<{ imageRef: string }>("PullImage", { image: { image: reference }, ...(auth === undefined ? {} : { auth }) }, {
            onNotification: ({ method, params }) => {
              if (method !== "progress" || bar === undefined) return;
              const doneBytes = Number(params.doneBytes);
              const totalBytes = Number(params.totalBytes);
              const payload = { doneSize: formatSize(doneBytes), totalSize: formatSize(totalBytes) };
              if (!started) bar.start(totalBytes, doneBytes, payload);
              else bar.update(doneBytes, payload);
              started = true;
            },
          });
          bar?.stop();
          if (isStructured(output)) printData(result, output);
          else console.log(`Image is up to date for ${result.imageRef}`);
        } finally {
          bar?.stop();
        }
      }));
}

function authOf(flags: PullFlags): Record<string, string> | undefined {
  if (flags.creds !== undefined) {
    const colon = flags.creds.indexOf(":");
    if (colon === 0 || flags.creds === "") throw new CliError("--creds must be USER[:PASSWORD]");
    return colon < 0 ? { username: flags.creds, password: "" } : { username: flags.creds.slice(0, colon), password: flags.creds.slice(colon + 1) };
  }
  if (flags.auth !== undefined) return { auth: flags.auth };
  if (flags.registryToken !== undefined) return { registryToken: flags.registryToken };
  return undefined;
}
