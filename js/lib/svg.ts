/**
 * Small SVG pictures drawn without a charting library: the head -> head edge graph and
 * the faithfulness curve. Every label goes in through `textContent`.
 */

const NS = "http://www.w3.org/2000/svg";

/** Create an SVG element with attributes. */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** One head -> head edge as Python sends it. */
export interface EdgeRow {
  /** Sending head, [layer, head]. */
  sender: [number, number];
  /** Receiving head, [layer, head]. */
  receiver: [number, number];
  /** Edge score (> 0). */
  score: number;
}

/** Geometry of the edge graph: layers as columns, heads as rows. */
export function edgeLayout(nLayers: number, nHeads: number, width = 200, rowGap = 14) {
  const pad = 12;
  const left = 28; // room for the head labels
  const col = nLayers > 1 ? (width - left - pad) / (nLayers - 1) : 0;
  const height = pad * 2 + Math.max(0, nHeads - 1) * rowGap;
  return {
    width,
    height,
    x: (layer: number) => (nLayers > 1 ? left + layer * col : width / 2),
    y: (head: number) => pad + head * rowGap,
  };
}

/** Stroke width of an edge: 1 px to 6 px by its share of the strongest score. */
export function edgeWidth(score: number, max: number): number {
  if (!(max > 0) || !Number.isFinite(score)) return 1;
  return 1 + 5 * Math.max(0, Math.min(1, score / max));
}

/**
 * Draw the graph: a dot per head (columns are layers), a line per edge whose width grows
 * with its score; the selected edge in orange. `onPick(i)` is called when edge i is clicked.
 */
export function edgeGraph(nLayers: number, nHeads: number, edges: EdgeRow[], selected: number, onPick: (i: number) => void): SVGSVGElement {
  const g = edgeLayout(nLayers, nHeads);
  const svg = s("svg", { class: "scw-edge-graph", width: g.width, height: g.height + 14, viewBox: `0 0 ${g.width} ${g.height + 14}`, role: "img", "aria-label": "strongest head to head edges" });
  for (let l = 0; l < nLayers; l++) svg.append(s("text", { x: g.x(l), y: g.height + 10, "text-anchor": "middle", class: "scw-edge-axis" }, `L${l}`));
  for (let hd = 0; hd < nHeads; hd++) svg.append(s("text", { x: 2, y: g.y(hd) + 3, class: "scw-edge-axis" }, `H${hd}`));
  const max = edges.reduce((m, e) => Math.max(m, e.score), 0);
  edges.forEach((e, i) => {
    const [x1, y1, x2, y2] = [g.x(e.sender[0]), g.y(e.sender[1]), g.x(e.receiver[0]), g.y(e.receiver[1])];
    const on = i === selected;
    const name = `L${e.sender[0]}.H${e.sender[1]} → L${e.receiver[0]}.H${e.receiver[1]}: ${e.score.toPrecision(3)}`;
    const line = s("line", { x1, y1, x2, y2, class: on ? "scw-edge scw-edge-selected" : "scw-edge", "stroke-width": edgeWidth(e.score, max).toFixed(2), "data-edge": i });
    // a wide transparent line on top: thin edges stay easy to click
    const hit = s("line", { x1, y1, x2, y2, class: "scw-edge-hit", "stroke-width": 10, "data-edge": i, tabindex: 0, role: "button", "aria-label": name });
    hit.append(s("title", {}, name));
    hit.addEventListener("click", () => onPick(i));
    hit.addEventListener("keydown", (ev) => {
      if ((ev as KeyboardEvent).key === "Enter" || (ev as KeyboardEvent).key === " ") onPick(i);
    });
    svg.append(line, hit);
  });
  const used = new Set(edges.flatMap((e) => [`${e.sender[0]},${e.sender[1]}`, `${e.receiver[0]},${e.receiver[1]}`]));
  for (let l = 0; l < nLayers; l++) {
    for (let hd = 0; hd < nHeads; hd++) {
      svg.append(s("circle", { cx: g.x(l), cy: g.y(hd), r: used.has(`${l},${hd}`) ? 4 : 2.5, class: used.has(`${l},${hd}`) ? "scw-edge-node scw-edge-node-used" : "scw-edge-node" }));
    }
  }
  return svg;
}

/** A small line chart of `values` over `xs` (0-1 on the y axis), `mark` highlighted. */
export function curveChart(xs: number[], values: number[], mark: number, width = 200, height = 70): SVGSVGElement {
  const pad = { l: 26, r: 6, t: 6, b: 16 };
  const svg = s("svg", { class: "scw-curve", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "faithfulness over k" });
  const finite = values.filter((v) => Number.isFinite(v));
  const top = Math.max(1, ...finite);
  const bottom = Math.min(0, ...finite);
  const xMax = Math.max(1, ...xs);
  const X = (x: number) => pad.l + (x / xMax) * (width - pad.l - pad.r);
  const Y = (v: number) => pad.t + (1 - (v - bottom) / (top - bottom)) * (height - pad.t - pad.b);
  svg.append(
    s("line", { x1: pad.l, x2: width - pad.r, y1: Y(1), y2: Y(1), class: "scw-curve-ref" }),
    s("text", { x: pad.l - 3, y: Y(1) + 3, "text-anchor": "end", class: "scw-edge-axis" }, "1"),
    s("text", { x: pad.l - 3, y: Y(0) + 3, "text-anchor": "end", class: "scw-edge-axis" }, "0"),
    s("text", { x: width - pad.r, y: height - 3, "text-anchor": "end", class: "scw-edge-axis" }, `k = ${xMax}`),
  );
  const pts = xs.map((x, i) => [x, values[i]] as const).filter(([, v]) => Number.isFinite(v));
  if (pts.length) svg.append(s("polyline", { points: pts.map(([x, v]) => `${X(x).toFixed(1)},${Y(v).toFixed(1)}`).join(" "), class: "scw-curve-line" }));
  const at = pts.find(([x]) => x === mark);
  if (at) svg.append(s("circle", { cx: X(at[0]), cy: Y(at[1]), r: 3.5, class: "scw-curve-mark" }));
  else if (mark >= 0) svg.append(s("line", { x1: X(mark), x2: X(mark), y1: pad.t, y2: height - pad.b, class: "scw-curve-ref" }));
  return svg;
}
