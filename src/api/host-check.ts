import { z } from "zod";
import { defineMethod } from "./api-method.ts";

const params = z.object({ repair: z.boolean().optional() }).strict().optional();

/**
 * The leak check (`podvisor check`): compares what is on the host under the daemon's names with
 * its records, kind by kind; with `repair: true` it removes what no record owns. Report only by default.
 */
export const checkHost = defineMethod("CheckHost", params, (p, { service }) => service.checkHost({ repair: p?.repair ?? false }));
