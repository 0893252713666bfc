import { describe, expect, test } from "vitest";
import { latencyChart } from "../../bench/teardown/svg-chart.ts";

/** Checks that every element is closed in order and nothing unescaped slipped in. */
function expectWellFormed(svg: string): void {
  expect(svg.startsWith("<svg ")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  expect(svg).not.toMatch(/<(?![/a-z])|&(?!#\d+;|amp;|lt;|gt;|quot;|apos;)/);
  const stack: string[] = [];
  for (const [, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-z]+)\b[^>]*?(\/?)>/g)) {
    if (selfClosing === "/") continue;
    if (closing === "") stack.push(name);
    else expect(stack.pop()).toBe(name);
  }
  expect(stack).toEqual([]);
}

/** The x positions of the vertical marker lines, in order. */
function markerXs(svg: string): number[] {
  return [...svg.matchAll(/<line class="marker" x1="([\d.]+)" x2="([\d.]+)"/g)].map((match) => {
    expect(match[1]).toBe(match[2]);
    return Number(match[1]);
  });
}

describe("latencyChart()", () => {
  const series = [
    { name: "podvisor <actors>", latenciesMs: Array.from({ length: 200 }, (_, i) => 5 + i * 2) },
    { name: "sequential & \"naive\"", latenciesMs: Array.from({ length: 200 }, (_, i) => 40 + i * 30) },
    { name: "raw floor", latenciesMs: [0.4, 0.9, 1.5, 3] },
  ];

  test("draws one line per series in a well-formed SVG document", () => {
    const svg = latencyChart(series, { title: "stop 1,000 sandboxes <x3>" });
    expectWellFormed(svg);
    expect(svg.match(/<path [^>]*stroke-width="1.8"/g)).toHaveLength(series.length);
    expect(svg).toContain("log scale");
    expect(svg).toContain("&#60;actors&#62;");
    expect(markerXs(svg)).toEqual([]);
  });

  test("notes each series' p50 and p99, and uses a linear axis for a narrow range", () => {
    const svg = latencyChart([{ name: "narrow", latenciesMs: [10, 11, 12, 13, 20] }]);
    expect(svg).toContain("p50 12 ms · p99 20 ms · n=5");
    expect(svg).not.toContain("log scale");
    expect(latencyChart([{ name: "empty", latenciesMs: [] }])).toContain("empty — no data");
  });

  test("draws each marker as a labelled vertical line, in time order left to right", () => {
    const svg = latencyChart([{ name: "podvisor", latenciesMs: [900, 1_200, 1_400, 1_500] }], {
      xLabel: "time since the stop-all request",
      markers: [{ label: "C floor <c>", atMs: 480 }, { label: "own floor", atMs: 620 }, { label: "deadline", atMs: 10_000 }],
    });
    expectWellFormed(svg);
    const xs = markerXs(svg);
    expect(xs).toHaveLength(3);
    expect(xs[0]).toBeLessThan(xs[1]);
    expect(xs[1]).toBeLessThan(xs[2]);
    expect(svg).toContain(">C floor &#60;c&#62; 480 ms</text>");
    expect(svg).toContain(">own floor 620 ms</text>");
    expect(svg).toContain(">deadline 10,000 ms</text>");
    // Each is labelled at the top of the plot and listed in the legend, with its dash pattern.
    expect(svg.split(">own floor 620 ms</text>")).toHaveLength(3);
    expect(new Set([...svg.matchAll(/<line class="marker"[^>]*stroke-dasharray="([^"]+)"/g)].map((m) => m[1])).size).toBe(3);
    expect(svg).toContain("time since the stop-all request (ms");
  });

  test("stretches the x axis to show a marker beyond every latency", () => {
    const svg = latencyChart([{ name: "fast", latenciesMs: [100, 120, 150] }], { markers: [{ label: "deadline", atMs: 2_000 }] });
    // A linear axis from 0 to at least 2,000 ms: the deadline lies inside the plot, right of the data.
    expect(svg).not.toContain("log scale");
    expect(svg).toMatch(/>2,000<\/text>/);
    const [deadline] = markerXs(svg);
    const right = Number(/<path d="M\d+,\d+V[\d.]+H([\d.]+)"/.exec(svg)?.[1]);
    expect(deadline).toBeLessThanOrEqual(right);
    expect(deadline).toBeGreaterThan(right / 2);
  });

  test("leaves out a marker that is not a finite time ≥ 0", () => {
    const svg = latencyChart([{ name: "s", latenciesMs: [1, 2, 3] }], {
      markers: [{ label: "nan", atMs: Number.NaN }, { label: "negative", atMs: -5 }, { label: "ok", atMs: 2 }],
    });
    expect(markerXs(svg)).toHaveLength(1);
    expect(svg).not.toContain(">nan ");
    expect(svg).not.toContain(">negative ");
  });
});
