/**
 * The shapes of the CNI protocol (spec 1.0, and the 0.3/0.4 results the same plugins give): a
 * network configuration list, a plugin's result, a plugin's error. Validated with zod, loosely:
 * fields podvisor does not read are kept as they are, since a plugin's result goes on verbatim
 * to the next plugin as `prevResult`.
 */
import { z } from "zod";

/** The CNI versions podvisor speaks: results with `interfaces`/`ips` (0.2.0's `ip4` is not read). */
export const supportedCniVersions = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"] as const;

/** A network's name: it names host-local's folder (`/var/lib/cni/networks/<name>`), so no `/` or `..`. */
export const networkNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** A plugin's type: the name of its binary in one of the bin dirs. */
export const pluginTypePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const pluginConfig = z.looseObject({
  type: z.string().regex(pluginTypePattern, "a plugin type is a binary's name: letters, digits, _ . -"),
});

/** A network configuration list (`.conflist`), as the runtime hands it to the plugins. */
export const cniConfigListSchema = z.looseObject({
  cniVersion: z.enum(supportedCniVersions),
  name: z.string().regex(networkNamePattern, "a network name is letters, digits, _ . - (starting with a letter or digit)"),
  disableCheck: z.boolean().optional(),
  plugins: z.array(pluginConfig).min(1),
});
export type CniConfigList = z.infer<typeof cniConfigListSchema>;
export type CniPluginConfig = z.infer<typeof pluginConfig>;

/** A single network configuration (`.conf`/`.json`): one plugin, with the network's name and version. */
export const cniSingleConfigSchema = pluginConfig.extend({
  cniVersion: z.enum(supportedCniVersions),
  name: z.string().regex(networkNamePattern),
});

/** A plugin's result on stdout (ADD). */
export const cniResultSchema = z.looseObject({
  cniVersion: z.string(),
  interfaces: z.array(z.looseObject({ name: z.string(), mac: z.string().optional(), sandbox: z.string().optional() })).optional(),
  ips: z.array(z.looseObject({
    address: z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, "an address in CIDR form"),
    interface: z.number().int().nonnegative().optional(),
    gateway: z.string().optional(),
  })).optional(),
});
export type CniResult = z.infer<typeof cniResultSchema>;

/** A plugin's error on stdout (with a non-zero exit). */
export const cniErrorSchema = z.looseObject({
  code: z.number().int(),
  msg: z.string(),
  details: z.string().optional(),
});
export type CniErrorOutput = z.infer<typeof cniErrorSchema>;

export type CniCommand = "ADD" | "DEL" | "CHECK" | "VERSION";
