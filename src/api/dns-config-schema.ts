/**
 * A pod's DNS config (CRI `DNSConfig`; the JSON-RPC API's `config.dnsConfig`): what its
 * `/etc/resolv.conf` says (src/host/resolv-conf.ts writes it). Checked so that every value is one
 * word of one line of that file:
 *
 * - `servers`: IP addresses (v4 or v6), **at most 3** — glibc's resolver and musl's read no more
 *   (MAXNS), so a fourth would be ignored without a word; kubelet trims to 3 before it sends.
 * - `searches`: domain names (labels of letters, digits, `-` and `_`, an optional final `.`), at most
 *   32 and 2,048 characters in all: kubelet's own limits (glibc ≥ 2.26 has none).
 * - `options`: resolver options as `name` or `name:value` (`ndots:5`, `edns0`), at most 32.
 */
import { z } from "zod";

export const maxDnsServers = 3;
const maxSearches = 32;
const maxSearchChars = 2_048;
const maxOptions = 32;

const label = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";
const domainPattern = new RegExp(`^${label}(?:\\.${label})*\\.?$`);
const optionPattern = /^[A-Za-z][A-Za-z0-9_-]*(?::[A-Za-z0-9_.+-]+)?$/;

const server = z.union([z.ipv4(), z.ipv6()], { error: "is not an IP address" });
const searchDomain = z.string().max(253).regex(domainPattern, "is not a domain name");
const option = z.string().max(64).regex(optionPattern, "is not a resolver option (name or name:value)");

export const dnsConfig = z.object({
  servers: z.array(server).max(maxDnsServers, `must name at most ${maxDnsServers} servers: the resolver reads no more`).optional(),
  searches: z.array(searchDomain).max(maxSearches).optional()
    .refine((list) => (list ?? []).join(" ").length <= maxSearchChars, `must be at most ${maxSearchChars} characters in all`),
  options: z.array(option).max(maxOptions).optional(),
}).strict();
