/**
 * The examples' plotting helper: Observable Plot figures rendered to an SVG
 * file in Deno through linkedom's DOM (the library itself never imports
 * either package).
 * @module
 */

/** The Observable Plot module, as passed to a figure builder. */
export type PlotModule = typeof import("npm:@observablehq/plot@0.6.17");
/** Options of one Observable Plot figure (`Plot.plot(options)`). */
export type PlotOptions = import("npm:@observablehq/plot@0.6.17").PlotOptions;
/** A mark or list of marks of a figure. */
export type Markish = import("npm:@observablehq/plot@0.6.17").Markish;

/**
 * Renders the figures that `build(Plot)` describes, side by side, into one
 * SVG file at `path`; returns the file's absolute path.
 */
export async function savePlots(
  path: string,
  build: (Plot: PlotModule) => PlotOptions[],
): Promise<string> {
  const Plot = await import("npm:@observablehq/plot@0.6.17");
  const { parseHTML } = await import("npm:linkedom@0.18.15");
  const { document } = parseHTML("<!DOCTYPE html><html><body></body></html>") as unknown as {
    document: PlotOptions["document"];
  };
  const parts: string[] = [];
  let width = 0, height = 0;
  for (const options of build(Plot)) {
    const svg = Plot.plot({ ...options, document });
    svg.setAttribute("x", String(width));
    parts.push(svg.outerHTML);
    width += Number(svg.getAttribute("width"));
    height = Math.max(height, Number(svg.getAttribute("height")));
  }
  const file = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}"><rect width="100%" height="100%" fill="white"/>` +
    `${parts.join("")}</svg>\n`;
  await Deno.writeTextFile(path, file);
  return await Deno.realPath(path);
}

/** One entry of a legend: a colored dot (or a line, for a line mark) and a label. */
export interface LegendEntry {
  /** The text. */
  label: string;
  /** The mark's color. */
  color: string;
  /** Draw a short line instead of a dot. */
  line?: boolean;
}

/**
 * A legend drawn with marks (Plot's own legends are HTML, which an SVG
 * file cannot hold): one row per entry, from the frame's top-right corner
 * moved by `dx` pixels (positive: into the right margin) and down.
 */
export function legend(Plot: PlotModule, entries: LegendEntry[], dx: number): Markish[] {
  return entries.flatMap((e, i) => {
    const at = { frameAnchor: "top-right" as const, dy: 10 + 18 * i };
    return [
      Plot.text([e.line ? "\u2014" : "\u25cf"], { ...at, dx, fill: e.color, fontSize: 14 }),
      Plot.text([e.label], { ...at, dx: dx + 14, textAnchor: "start", fontSize: 11 }),
    ];
  });
}
