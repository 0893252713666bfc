/**
 * A strict check of a Prometheus text exposition, standing in for `promtool check metrics` (Debian's
 * `prometheus` package, which holds promtool, is 19 MB to download and 96 MB installed, with a web
 * UI's JavaScript; too much for one check). It parses the text format (every line a HELP, a TYPE, a
 * comment or a well-formed sample) as Prometheus's parser does, refusing a family described twice, a
 * TYPE after the family's samples, a family's samples split by another's, a series given twice and
 * a histogram whose buckets are not cumulative or lack `+Inf`; then applies promtool's lint rules
 * (client_golang's promlint): help text present, `_total` on counters and only on counters,
 * `_bucket`/`_count`/`_sum` and `le`/`quantile` only where they belong, snake_case names and label
 * names, no `:`, no type in a name, base units only, no abbreviated units.
 *
 * @returns every problem found, as "<family>: <problem>"; none means clean.
 */
export function lintExposition(text: string): string[] {
  const problems: string[] = [];
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  let current: Family | undefined;
  const familyOf = (name: string): Family => {
    let family = families.get(name);
    if (family === undefined) {
      family = { name, series: new Map() };
      families.set(name, family);
    }
    if (current !== family) {
      if (current !== undefined) finished.add(current.name);
      if (finished.has(name)) problems.push(`${name}: its lines are split by another family's`);
      current = family;
    }
    return family;
  };
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest = ""] = meta;
      if (!metricName.test(name)) problems.push(`${name}: not a valid metric name`);
      const family = familyOf(name);
      if (kind === "HELP") {
        if (family.help !== undefined) problems.push(`${name}: a second HELP line`);
        family.help = rest;
      } else {
        if (family.type !== undefined) problems.push(`${name}: a second TYPE line`);
        if (family.series.size > 0) problems.push(`${name}: TYPE after its samples`);
        if (!types.has(rest)) problems.push(`${name}: unknown type "${rest}"`);
        family.type = rest;
      }
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = parseSample(line);
    if (typeof sample === "string") {
      problems.push(`line ${index + 1}: ${sample}: ${line}`);
      continue;
    }
    const family = familyOf(familyName(sample.name, families));
    const key = `${sample.name}{${[...sample.labels].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
    if (family.series.has(key)) problems.push(`${family.name}: the series ${key} is given twice`);
    family.series.set(key, sample);
  }
  for (const family of families.values()) problems.push(...lintFamily(family).map((problem) => `${family.name}: ${problem}`));
  return problems;
}

interface Sample {
  name: string;
  labels: Map<string, string>;
  value: number;
}

interface Family {
  name: string;
  help?: string;
  type?: string;
  series: Map<string, Sample>;
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const camelCase = /[a-z][A-Z]/;
const typeNames = ["counter", "gauge", "histogram", "summary"];
const abbreviations = ["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"];
const baseUnits: Record<string, string> = {
  amperes: "amperes", bytes: "bytes", celsius: "celsius", grams: "grams", joules: "joules", kelvin: "kelvin", meters: "meters", metres: "metres", seconds: "seconds", volts: "volts",
  minutes: "seconds", hours: "seconds", days: "seconds", weeks: "seconds", kelvins: "kelvin", fahrenheit: "celsius", rankine: "celsius",
  inches: "meters", yards: "meters", miles: "meters", bits: "bytes", calories: "joules", pounds: "grams", ounces: "grams",
};
const unitPrefixes = ["pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi", "mega", "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi"];

/** A sample's family: itself, or for `_bucket`, `_sum`, `_count` the histogram or summary it belongs to. */
function familyName(name: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = families.get(name.slice(0, -suffix.length));
    if (base?.type === "histogram" || (base?.type === "summary" && suffix !== "_bucket")) return base.name;
  }
  return name;
}

function parseSample(line: string): Sample | string {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (head === null) return "not a sample";
  const name = head[1];
  let at = name.length;
  const labels = new Map<string, string>();
  if (line[at] === "{") {
    at++;
    for (;;) {
      if (line[at] === "}") break;
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
      if (label === null) return "a malformed label";
      at += label[0].length;
      let value = "";
      for (;;) {
        const char = line[at];
        if (char === undefined) return "an unterminated label value";
        if (char === '"') break;
        if (char === "\\") {
          const next = line[at + 1];
          if (next === "n") value += "\n";
          else if (next === "\\" || next === '"') value += next;
          else return "an invalid escape in a label value";
          at += 2;
        } else {
          value += char;
          at++;
        }
      }
      at++;
      if (labels.has(label[1])) return `label ${label[1]} given twice`;
      if (!labelName.test(label[1]) || label[1].startsWith("__")) return `reserved or invalid label name ${label[1]}`;
      labels.set(label[1], value);
      if (line[at] === ",") at++;
      else if (line[at] !== "}") return "a malformed label list";
    }
    at++;
  }
  const rest = /^ +(\S+)(?: +(-?\d+))?$/.exec(line.slice(at));
  if (rest === null) return "a malformed value";
  // As Go's strconv.ParseFloat reads it (Prometheus's parser): NaN and Inf in any case ("Nan" from prom-client).
  const special = /^(?:([+-]?)inf(?:inity)?|(nan))$/i.exec(rest[1]);
  const value = special === null ? Number(rest[1]) : special[2] !== undefined ? NaN : special[1] === "-" ? -Infinity : Infinity;
  if (Number.isNaN(value) && special === null) return `the value ${rest[1]} is not a number`;
  return { name, labels, value };
}

function lintFamily(family: Family): string[] {
  const problems: string[] = [];
  const { name, type = "untyped" } = family;
  const lower = name.toLowerCase();
  if (family.help === undefined) problems.push("no help text");
  if (type === "counter" && !name.endsWith("_total")) problems.push('counter metrics should have "_total" suffix');
  if (type !== "counter" && type !== "untyped" && name.endsWith("_total")) problems.push('non-counter metrics should not have "_total" suffix');
  if (type !== "untyped") {
    if (type !== "histogram" && name.endsWith("_bucket")) problems.push('non-histogram metrics should not have "_bucket" suffix');
    if (type !== "histogram" && type !== "summary" && (name.endsWith("_count") || name.endsWith("_sum"))) problems.push("a _count or _sum suffix on a non-histogram, non-summary metric");
  }
  if (camelCase.test(name)) problems.push("metric names should be written in 'snake_case' not 'camelCase'");
  if (name.includes(":")) problems.push("metric names should not contain ':'");
  for (const typeName of typeNames) if (lower.includes(`_${typeName}_`) || lower.endsWith(`_${typeName}`)) problems.push(`metric name should not include type '${typeName}'`);
  for (const unit of abbreviations) if (lower.includes(`_${unit}_`) || lower.endsWith(`_${unit}`)) problems.push("metric names should not contain abbreviated units");
  const unit = unitOf(name);
  if (unit !== undefined && unit.unit !== unit.base) problems.push(`use base unit "${unit.base}" instead of "${unit.unit}"`);
  for (const sample of family.series.values()) {
    for (const label of sample.labels.keys()) {
      if (camelCase.test(label)) problems.push("label names should be written in 'snake_case' not 'camelCase'");
      if (label === "le" && type !== "histogram" && type !== "untyped") problems.push('non-histogram metrics should not have "le" label');
      if (label === "quantile" && type !== "summary" && type !== "untyped") problems.push('non-summary metrics should not have "quantile" label');
    }
    if (type !== "histogram" && type !== "summary" && sample.name !== name) problems.push(`the sample ${sample.name} outside its family`);
  }
  if (type === "histogram") problems.push(...lintHistogram(family));
  return [...new Set(problems)];
}

function unitOf(name: string): { unit: string; base: string } | undefined {
  for (const part of name.split("_")) {
    if (part in baseUnits) return { unit: part, base: baseUnits[part] };
    for (const prefix of unitPrefixes) if (part.startsWith(prefix) && part.slice(prefix.length) in baseUnits) return { unit: part, base: baseUnits[part.slice(prefix.length)] };
  }
  return undefined;
}

/** Each series of a histogram: cumulative buckets ending in `+Inf`, whose count is `_count`'s, and a `_sum`. */
function lintHistogram(family: Family): string[] {
  const problems: string[] = [];
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const sample of family.series.values()) {
    const labels = [...sample.labels].filter(([key]) => key !== "le").sort(([a], [b]) => a.localeCompare(b));
    const key = JSON.stringify(labels);
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name === `${family.name}_bucket`) {
      const le = sample.labels.get("le");
      if (le === undefined) problems.push("a bucket without le");
      else group.buckets.push([le === "+Inf" ? Infinity : Number(le), sample.value]);
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
    else problems.push(`the sample ${sample.name} in a histogram`);
  }
  for (const [key, group] of groups) {
    const buckets = group.buckets.sort(([a], [b]) => a - b);
    if (buckets.at(-1)?.[0] !== Infinity) problems.push(`the series ${key} has no +Inf bucket`);
    if (buckets.some(([, count], index) => index > 0 && count < buckets[index - 1][1])) problems.push(`the series ${key} has buckets that are not cumulative`);
    if (group.count === undefined || group.sum === undefined) problems.push(`the series ${key} lacks _count or _sum`);
    else if (buckets.length > 0 && buckets.at(-1)?.[1] !== group.count) problems.push(`the series ${key}: _count is not the +Inf bucket's`);
  }
  return problems;
}
