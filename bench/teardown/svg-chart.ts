/**
 * A self-contained SVG chart of stop latencies: one cumulative distribution per series, vertical
 * lines for reference times (the floors, the deadline), no dependencies, valid XML. Used by the
 * teardown benchmark's report.
 */
import { percentile } from "../stats.ts";

/** Options of {@link latencyChart}. */
export interface LatencyChartOptions {
  title?: string;
  width?: number;
  height?: number;
  /** What x measures, before its unit (default "stop latency"). */
  xLabel?: string;
  /** Reference times drawn as labelled vertical lines: a floor's total, the deadline. */
  markers?: readonly ChartMarker[];
}

/** A labelled vertical line at a time (ms); one that is not a finite number ≥ 0 is left out. */
export interface ChartMarker {
  label: string;
  atMs: number;
}

/** A colour-blind-safe palette (Okabe & Ito); series beyond it reuse it. */
const palette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442"];
/** Markers: dark grey, each with a dash pattern of its own. */
const markerDashes = ["6 3", "2 3", "10 3 2 3", "1 2"];
const margin = { top: 40, right: 24, left: 56, axis: 44, legendRow: 18 };
/** Below this, latencies are drawn at this value on a log axis (which cannot show 0). */
const logFloorMs = 0.01;

/**
 * Draws the latency distribution of each series as a CDF: x is the latency in ms (a log scale
 * when the values span more than 1.5 decades, linear otherwise), y the fraction of sandboxes
 * stopped by then. One coloured line (`<path>`) per non-empty series, its p50 and p99 marked on
 * the line and written in the legend; one dashed vertical `<line class="marker">` per marker,
 * labelled with its name and time at the top of the plot (the x axis stretches to show it).
 *
 * @example
 * const svg = latencyChart([{ name: "podvisor", latenciesMs: [12, 15, 40] }], {
 *   title: "stop 1,000 sandboxes",
 *   markers: [{ label: "C floor", atMs: 9 }, { label: "deadline", atMs: 10_000 }],
 * });
 * await writeFile("teardown.svg", svg);
 */
export function latencyChart(series: readonly { name: string; latenciesMs: readonly number[] }[], options: LatencyChartOptions = {}): string {
  const width = options.width ?? 720;
  const height = options.height ?? 400 + margin.legendRow * (series.length + (options.markers?.length ?? 0));
  const markers = (options.markers ?? []).filter((marker) => Number.isFinite(marker.atMs) && marker.atMs >= 0);
  // The legend: a row per series, then one per marker.
  const plot = { left: margin.left, top: margin.top, right: width - margin.right, bottom: height - margin.axis - margin.legendRow * (series.length + markers.length) - 8 };
  const all = [...series.flatMap((entry) => entry.latenciesMs.filter(Number.isFinite)), ...markers.map((marker) => marker.atMs)];
  const x = xScale(all, plot.left, plot.right);
  const y = (fraction: number) => plot.bottom - fraction * (plot.bottom - plot.top);
  const parts: string[] = [
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title ?? "Stop latency per sandbox")}</text>`,
  ];
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${plot.left}" x2="${plot.right}" y1="${fmt(y(fraction))}" y2="${fmt(y(fraction))}" stroke="#dddddd"/>`,
      `<text x="${plot.left - 6}" y="${fmt(y(fraction) + 4)}" text-anchor="end">${fraction * 100}%</text>`,
    );
  }
  for (const tick of x.ticks) {
    const at = fmt(x.at(tick));
    parts.push(
      `<line x1="${at}" x2="${at}" y1="${plot.top}" y2="${plot.bottom}" stroke="#eeeeee"/>`,
      `<line x1="${at}" x2="${at}" y1="${plot.bottom}" y2="${plot.bottom + 5}" stroke="#333333"/>`,
      `<text x="${at}" y="${plot.bottom + 18}" text-anchor="middle">${escapeXml(formatMs(tick))}</text>`,
    );
  }
  parts.push(
    `<path d="M${plot.left},${plot.top}V${plot.bottom}H${plot.right}" fill="none" stroke="#333333"/>`,
    `<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 36}" text-anchor="middle">${escapeXml(options.xLabel ?? "stop latency")} (ms${x.log ? ", log scale" : ""})</text>`,
    `<text transform="translate(14 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle">sandboxes stopped</text>`,
  );
  markers.forEach((marker, index) => {
    const at = x.at(marker.atMs);
    const nearRight = at > plot.left + (plot.right - plot.left) * 0.7;
    const labelY = plot.top + 12 + index * 14;
    const dash = markerDashes[index % markerDashes.length];
    const text = escapeXml(`${marker.label} ${formatMs(marker.atMs)} ms`);
    const legendY = plot.bottom + margin.axis + 8 + (series.length + index) * margin.legendRow;
    parts.push(
      `<line class="marker" x1="${fmt(at)}" x2="${fmt(at)}" y1="${plot.top}" y2="${plot.bottom}" stroke="#444444" stroke-width="1.2" stroke-dasharray="${dash}"/>`,
      // A white halo keeps the label readable where it crosses another marker or a series.
      `<text x="${fmt(nearRight ? at - 4 : at + 4)}" y="${labelY}" text-anchor="${nearRight ? "end" : "start"}" fill="#444444" stroke="#ffffff" stroke-width="3" paint-order="stroke">${text}</text>`,
      `<line x1="${plot.left}" x2="${plot.left + 14}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="#444444" stroke-width="1.2" stroke-dasharray="${dash}"/>`,
      `<text x="${plot.left + 20}" y="${legendY}">${text}</text>`,
    );
  });
  series.forEach((entry, index) => {
    const colour = palette[index % palette.length];
    const sorted = entry.latenciesMs.filter(Number.isFinite).toSorted((a, b) => a - b);
    const legendY = plot.bottom + margin.axis + 8 + index * margin.legendRow;
    let summary = "no data";
    if (sorted.length > 0) {
      const steps = sorted.map((value, i) => `H${fmt(x.at(value))}V${fmt(y((i + 1) / sorted.length))}`).join("");
      parts.push(`<path d="M${fmt(x.at(sorted[0]))},${fmt(y(0))}${steps}" fill="none" stroke="${colour}" stroke-width="1.8"/>`);
      const [p50, p99] = [percentile(sorted, 50), percentile(sorted, 99)];
      for (const [value, fraction] of [[p50, 0.5], [p99, 0.99]]) {
        parts.push(`<circle cx="${fmt(x.at(value))}" cy="${fmt(y(fraction))}" r="3.5" fill="${colour}"/>`);
      }
      summary = `p50 ${formatMs(p50)} ms · p99 ${formatMs(p99)} ms · n=${sorted.length}`;
    }
    parts.push(
      `<rect x="${plot.left}" y="${legendY - 9}" width="14" height="10" fill="${colour}"/>`,
      `<text x="${plot.left + 20}" y="${legendY}">${escapeXml(`${entry.name} — ${summary}`)}</text>`,
    );
  });
  const title = `<title>${escapeXml(options.title ?? "Stop latency per sandbox")}</title>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">${title}\n${parts.join("\n")}\n</svg>\n`;
}

/**
 * Escapes the five characters XML reserves.
 *
 * @example
 * escapeXml("a < b & c"); // "a &lt; b &amp; c"
 */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** The x scale over the values: where a value is drawn, and the ticks to label. */
function xScale(values: readonly number[], left: number, right: number): { at: (ms: number) => number; ticks: number[]; log: boolean } {
  const min = values.length === 0 ? 0 : Math.min(...values);
  const max = values.length === 0 ? 1 : Math.max(...values);
  const lowest = Math.max(min, logFloorMs);
  if (max > 0 && max / lowest > 10 ** 1.5) {
    const [from, to] = [Math.floor(Math.log10(lowest)), Math.ceil(Math.log10(max))];
    const multiples = to - from > 4 ? [1] : [1, 2, 5];
    const ticks = Array.from({ length: to - from + 1 }, (_, i) => multiples.map((m) => m * 10 ** (from + i))).flat().filter((tick) => tick <= 10 ** to);
    const at = (ms: number) => left + ((Math.log10(Math.max(ms, logFloorMs)) - from) / (to - from)) * (right - left);
    return { at, ticks, log: true };
  }
  const span = Math.max(max, 1e-9);
  const step = niceStep(span / 6);
  const top = Math.ceil(span / step) * step;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  return { at: (ms: number) => left + (Math.max(ms, 0) / top) * (right - left), ticks, log: false };
}

/** The 1, 2 or 5 × 10^k at or above `rough`. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  return ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
}

function formatMs(ms: number): string {
  if (ms >= 100) return Math.round(ms).toLocaleString("en-US");
  return Number(ms.toPrecision(ms >= 1 ? 3 : 2)).toString();
}

function fmt(value: number): string {
  return String(Math.round(value * 10) / 10);
}
