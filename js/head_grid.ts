/**
 * HeadGrid: a layers x heads heatmap of head scores.
 *
 * Hover a cell to read layer.head and its value; click it or move with the arrow keys to
 * select a head (the selection is written back to Python). Heads of the known circuit are
 * outlined (black ring, white dot) so the outline survives greyscale printing. Under an
 * ensemble of SAEs a bar along each cell's bottom edge shows the head's stability: the
 * share of the SAEs whose top-k holds it (the tooltip says "in the top 5 of 2/3 SAEs").
 *
 * Scores that are all whole numbers (the SAE's node scores: how many codes are unique to
 * the positives, 0, 1, 2 ...) get a discrete legend, one swatch per value with the
 * number of heads at it, so ties read as ties; every cell prints its value. Non-negative
 * scores are coloured from 0, so the darkest colour always means "no evidence". When a
 * score cannot be computed (e.g. EAP without answers), `unavailable` replaces the grid
 * with the reason.
 */
import type { AnyModel, RenderProps } from "@anywidget/types";
import css from "./styles.css";
import { toFloat32, type Binary } from "./lib/arrays";
import { colorAt, extent, fmt, textColorAt, type ScaleName } from "./lib/colors";
import { addStyle, clear, h } from "./lib/dom";

/** Synced traits of `HeadGrid` (mirror of sae_circuits_widget/widgets/head_grid.py). */
export interface HeadGridModel {
  /** Number of layers (rows). */
  n_layers: number;
  /** Heads per layer (columns). */
  n_heads: number;
  /** Scores, float32 little-endian, `n_layers * n_heads` values, layer-major. */
  scores: Binary;
  /** Flat indices (`layer * n_heads + head`) of the known circuit's heads. */
  ground_truth: number[];
  /** Selected head as a flat index, -1 for none (written by the front end). */
  selected: number;
  /** What the scores are, shown on the legend (e.g. "node score"). */
  label: string;
  /** Colour scale. */
  scale: ScaleName;
  /** A note shown under the grid (e.g. why there are no scores). */
  message: string;
  /** Show the value inside each cell (helps in print). */
  show_values: boolean;
  /** Per head, share (0-1) of the ensemble's SAEs whose top-k holds it, float32; empty: not shown. */
  stability: Binary;
  /** SAEs in the ensemble behind `stability` (0: none). */
  n_saes: number;
  /** The k of that top-k. */
  top_k: number;
  /** Why there are no scores to draw ("" = there are): shown instead of the grid. */
  unavailable: string;
}

/** The distinct values of `values` when all are whole numbers and there are at most `max` (else null). */
export function discreteLevels(values: ArrayLike<number>, max = 10): number[] | null {
  const seen = new Set<number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (!Number.isInteger(v)) return null;
    seen.add(v);
    if (seen.size > max) return null;
  }
  return seen.size ? [...seen].sort((a, b) => a - b) : null;
}

/** The colour domain: the values' extent, from 0 when none is negative (0 = darkest). */
export function colourDomain(values: ArrayLike<number>): [number, number] {
  let [lo, hi] = extent(values);
  let any = false;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) continue;
    any = true;
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  if (any && min >= 0) {
    lo = 0;
    hi = max > 0 ? max : 1;
  }
  return [lo, hi];
}

/** "in the top 5 of 2/3 SAEs" for a share of the ensemble, or "" without one. */
export function stabilityText(share: number, nSaes: number, topK: number): string {
  if (!(nSaes > 1) || !Number.isFinite(share)) return "";
  return `in the top ${topK} of ${Math.round(share * nSaes)}/${nSaes} SAEs`;
}

export function headName(index: number, nHeads: number): string {
  return `L${Math.floor(index / nHeads)}.H${index % nHeads}`;
}

/** Draw the grid into `el`; returns a cleanup function. */
export function renderHeadGrid(model: AnyModel<HeadGridModel>, el: HTMLElement): () => void {
  const root = h("div", "scw scw-headgrid");
  addStyle(root, css);
  el.append(root);
  const wrap = h("div", "scw-grid-wrap");
  const grid = h("div", "scw-grid", { role: "grid", tabindex: 0, "aria-label": "attention heads by layer" });
  const tooltip = h("div", "scw-tooltip");
  tooltip.style.display = "none";
  const legend = h("div", "scw-legend");
  const note = h("div", "scw-muted scw-grid-message");
  const unavailable = h("div", "scw-warning scw-grid-unavailable", { role: "status" });
  wrap.append(grid, tooltip);
  root.append(unavailable, wrap, legend, note);

  let cells: HTMLDivElement[] = [];
  let values: Float32Array = new Float32Array(0);
  let stability: Float32Array = new Float32Array(0);

  const dims = () => [model.get("n_layers") || 0, model.get("n_heads") || 0] as const;

  function select(index: number) {
    const [L, H] = dims();
    if (index < 0 || index >= L * H) return;
    model.set("selected", index);
    model.save_changes();
    paintSelection();
  }

  function paintSelection() {
    const sel = model.get("selected");
    cells.forEach((c, i) => {
      const on = i === sel;
      c.classList.toggle("scw-selected", on);
      c.setAttribute("aria-selected", on ? "true" : "false");
    });
  }

  function build() {
    const [L, H] = dims();
    clear(grid);
    cells = [];
    grid.style.gridTemplateColumns = `auto repeat(${H}, 38px)`;
    // rows use display: contents, so the CSS grid lays out cells while ARIA sees rows
    const header = h("div", "scw-grid-row", { role: "row" }, [h("div", "scw-grid-head", { role: "columnheader" }, "")]);
    for (let hd = 0; hd < H; hd++) header.append(h("div", "scw-grid-head", { role: "columnheader" }, `H${hd}`));
    grid.append(header);
    for (let l = 0; l < L; l++) {
      const row = h("div", "scw-grid-row", { role: "row" }, [h("div", "scw-grid-rowhead", { role: "rowheader" }, `L${l}`)]);
      for (let hd = 0; hd < H; hd++) {
        const idx = l * H + hd;
        const cell = h("div", "scw-cell", {
          role: "gridcell",
          "data-index": idx,
          "data-layer": l,
          "data-head": hd,
        });
        cell.addEventListener("click", () => {
          select(idx);
          grid.focus();
        });
        cell.addEventListener("mouseenter", () => showTip(idx, cell));
        cell.addEventListener("mouseleave", () => (tooltip.style.display = "none"));
        cells.push(cell);
        row.append(cell);
      }
      grid.append(row);
    }
  }

  function showTip(idx: number, cell: HTMLElement) {
    const [, H] = dims();
    const gt = new Set(model.get("ground_truth") || []);
    const stab = stabilityText(stability[idx], model.get("n_saes") || 0, model.get("top_k") || 0);
    tooltip.textContent = `${Math.floor(idx / H)}.${idx % H}: ${fmt(values[idx])}${gt.has(idx) ? " (known circuit)" : ""}${stab ? `; ${stab}` : ""}`;
    tooltip.style.display = "block";
    tooltip.style.left = `${cell.offsetLeft + cell.offsetWidth + 4}px`;
    tooltip.style.top = `${cell.offsetTop}px`;
  }

  function paint() {
    const [L, H] = dims();
    if (cells.length !== L * H) build();
    values = toFloat32(model.get("scores"));
    const nSaes = model.get("n_saes") || 0;
    const topK = model.get("top_k") || 0;
    stability = toFloat32(model.get("stability") || new DataView(new ArrayBuffer(0)));
    const hasStab = nSaes > 1 && stability.length === L * H;
    const scale = model.get("scale") || "viridis";
    const has = values.length === L * H;
    const [lo, hi] = colourDomain(has ? values : []);
    const why = model.get("unavailable") || "";
    unavailable.textContent = why;
    unavailable.style.display = why ? "block" : "none";
    wrap.style.display = why ? "none" : "";
    legend.style.display = why ? "none" : "";
    const gt = new Set(model.get("ground_truth") || []);
    const showValues = model.get("show_values") !== false;
    cells.forEach((c, i) => {
      const v = has ? values[i] : NaN;
      const t = (v - lo) / (hi - lo);
      c.style.background = colorAt(t, scale);
      c.style.color = textColorAt(t, scale);
      c.textContent = showValues && has ? fmt(v) : "";
      c.dataset.value = has ? String(v) : "";
      c.classList.toggle("scw-gt", gt.has(i));
      const stab = hasStab ? stabilityText(stability[i], nSaes, topK) : "";
      if (hasStab) {
        const bar = h("span", "scw-stab");
        bar.style.width = `${Math.round(Math.max(0, Math.min(1, stability[i])) * 100)}%`;
        c.append(bar);
        c.dataset.stability = String(stability[i]);
      } else delete c.dataset.stability;
      const label = `layer ${Math.floor(i / H)} head ${i % H}: ${has ? fmt(v) : "no score"}${gt.has(i) ? ", in the known circuit" : ""}${stab ? `, ${stab}` : ""}`;
      c.setAttribute("aria-label", label);
      c.title = `${Math.floor(i / H)}.${i % H} = ${has ? fmt(v) : "no score"}${stab ? `\n${stab}` : ""}`;
    });
    clear(legend);
    const levels = has ? discreteLevels(values) : null;
    if (levels) {
      // one swatch per value, with how many heads share it: ties and their size at a glance
      const counts = new Map<number, number>();
      values.forEach((v) => counts.set(v, (counts.get(v) ?? 0) + 1));
      const swatches = h("span", "scw-legend-levels");
      for (const v of levels) {
        const t = (v - lo) / (hi - lo);
        const sw = h("span", "scw-legend-level", { "data-level": v, title: `${counts.get(v)} head(s) score ${v}` }, fmt(v));
        sw.style.background = colorAt(t, scale);
        sw.style.color = textColorAt(t, scale);
        swatches.append(sw, h("span", "scw-legend-count", {}, `×${counts.get(v)}`));
      }
      legend.append(swatches, h("span", "scw-muted scw-legend-label", {}, model.get("label") || "score"));
    } else {
      const bar = h("div", "scw-legend-bar");
      const stops = Array.from({ length: 11 }, (_, k) => colorAt(k / 10, scale)).join(", ");
      bar.style.background = `linear-gradient(to right, ${stops})`;
      legend.append(
        h("span", "scw-legend-lo", {}, has ? fmt(lo) : ""),
        bar,
        h("span", "scw-legend-hi", {}, has ? fmt(hi) : ""),
        h("span", "scw-muted scw-legend-label", {}, model.get("label") || "score"),
      );
    }
    if (gt.size) legend.append(h("span", "", {}, [h("span", "scw-legend-swatch scw-gt"), "known circuit"]));
    legend.append(h("span", "", {}, [h("span", "scw-legend-swatch scw-selected"), "selected"]));
    if (hasStab) legend.append(h("span", "scw-legend-stab", {}, [h("span", "scw-legend-swatch scw-stab-swatch"), `bar: share of the ${nSaes} SAEs with the head in their top ${topK}`]));
    note.textContent = model.get("message") || (has ? "" : "No scores yet.");
    paintSelection();
  }

  const onKey = (e: KeyboardEvent) => {
    const [L, H] = dims();
    if (!L || !H) return;
    let sel = model.get("selected");
    if (sel < 0) sel = 0;
    let l = Math.floor(sel / H);
    let hd = sel % H;
    if (e.key === "ArrowLeft") hd = Math.max(0, hd - 1);
    else if (e.key === "ArrowRight") hd = Math.min(H - 1, hd + 1);
    else if (e.key === "ArrowUp") l = Math.max(0, l - 1);
    else if (e.key === "ArrowDown") l = Math.min(L - 1, l + 1);
    else if (e.key !== "Enter" && e.key !== " ") return;
    e.preventDefault();
    select(l * H + hd);
  };
  grid.addEventListener("keydown", onKey);

  const events = [
    "change:scores", "change:n_layers", "change:n_heads", "change:ground_truth", "change:label", "change:scale",
    "change:message", "change:show_values", "change:stability", "change:n_saes", "change:top_k", "change:unavailable",
  ];
  events.forEach((ev) => model.on(ev, paint));
  model.on("change:selected", paintSelection);
  paint();
  return () => {
    events.forEach((ev) => model.off(ev, paint));
    model.off("change:selected", paintSelection);
    root.remove();
  };
}

function render({ model, el }: RenderProps<HeadGridModel>) {
  return renderHeadGrid(model, el);
}

export default { render };
