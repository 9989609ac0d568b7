"""A shareable report: one self-contained HTML page of a circuit-discovery result.

A result found in a notebook is only as useful as the people who can look at it. The
page written here needs no kernel, no server and no network: every style is inline, the
grid and the charts are SVG drawn here, and the optional interactive grid carries its
script inside the page. It shows what a reader needs to judge the ranking: the prompts
and what the model did on each (the task check), the layers x heads grid with the known
circuit outlined and, under an ensemble of SAEs, each head's stability, the top heads
with their node score, pooled edge score and stability, the settings and timings, a bar
chart of the best scores and, with a ground truth, the ROC curve of the scores against it.

Design choices:

* The result is read duck-typed (``node_scores``, ``top_heads``, ``stability``, ...):
  this module imports nothing from ``engine``, so ``CircuitResult.to_html`` can import
  it without an import cycle (``engine.result`` already imports ``evaluation.metrics``).
  For the same reason the charts are drawn here as plain SVG rather than with
  ``charts.py`` (altair + vl-convert): ``charts`` imports ``engine.result``, and the
  page must not depend on an optional extra to show its figures.
* The grid mirrors ``js/head_grid.ts``: viridis from 0 for non-negative scores, the
  value printed in every cell, known-circuit heads ringed (white inside, black outside)
  with a white dot, stability as a white bar along the bottom edge, and a discrete
  legend with head counts when the scores are a few whole numbers.
* Interactive grid: the HeadGrid bundle (``static/head_grid.js``, an ES module with
  ``render({model, el})``, ~18 kB) is embedded as a ``data:`` module and rendered
  against a small read-only model object holding the same state the Python widget would
  sync; hovering, clicking and the arrow keys work, nothing is saved. It sits in a
  closed ``<details>`` under the static grid, so a page whose script is blocked still
  shows everything. A checkout without a built bundle gets a one-line note instead.
  The full explorer is not embedded: it needs a kernel to rescore edited prompts.

Every text taken from the result (prompts, tokens, warnings, settings) is HTML-escaped.

The module is over 500 lines because the page is one file drawn from one place: its
CSS, the three SVG drawings (grid, bars, ROC) and the embedded script. The SVG drawing
(``grid_svg``, ``score_bars_svg``, ``roc_svg``) is the part to move out if it grows.

Example:
    >>> from sae_circuits_widget.evaluation.report import write_html
    >>> write_html(result, "report.html", ground_truth=task.ground_truth)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..heads import head_label
from .metrics import evaluate_scores, heads_mask, roc_curve

STABILITY_K = 5
"""The top-k behind ``stability`` (``engine.result.STABILITY_K``; a test checks they agree)."""
TOP_HEADS = 15
"""Heads listed in the top-heads table."""
MAX_PROMPTS_SHOWN = 200
"""Prompts listed per side; the page says how many more there are."""
BUNDLE = Path(__file__).resolve().parent.parent / "static" / "head_grid.js"

VIRIDIS = [
    (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
    (31, 158, 137), (53, 183, 121), (110, 206, 88), (181, 222, 43), (253, 231, 37),
]
CIRCUIT, OTHER, EDGE = "#D55E00", "#BBBBBB", "#0072B2"  # Okabe-Ito, as in charts.py

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: #1b1b1b;
  margin: 24px auto; max-width: 1100px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.muted { color: #555; } .small { font-size: 12px; }
.warning { color: #6b4e00; background: #fff8e0; border-left: 3px solid #b58900; padding: 4px 8px; margin: 4px 0; }
.summary { background: #f3f6fa; border-left: 3px solid #0072B2; padding: 4px 8px; }
table { border-collapse: collapse; margin: 6px 0; } th, td { padding: 2px 8px; border-bottom: 1px solid #e4e4e4; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.prompt { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; white-space: pre-wrap; }
.legend { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; font-size: 11px; margin-top: 6px; }
.level { display: inline-block; min-width: 20px; padding: 0 4px; text-align: center; border: 1px solid #777; border-radius: 2px; }
.swatch { display: inline-block; width: 14px; height: 12px; vertical-align: middle; margin-right: 3px; background: #bbb; }
.swatch.gt { box-shadow: inset 0 0 0 2px #fff, 0 0 0 2px #000; }
.swatch.stab { background: linear-gradient(to top, #fff 0 4px, #bbb 4px); border-bottom: 1px solid #000; }
.charts { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.yes { color: #006e3c; font-weight: 600; } .no { color: #a00000; }
details { margin-top: 12px; } summary { cursor: pointer; }
"""


# ----------------------------------------------------------------------------- small helpers

def _e(value: Any) -> str:
    """``value`` as text safe inside HTML and attribute values."""
    return html.escape(str(value), quote=True)


def fmt(v: float) -> str:
    """A score as ``js/lib/colors.ts``'s ``fmt`` prints it (whole numbers as they are,
    others two significant digits).

    Example:
        >>> [fmt(3.0), fmt(3.6667), fmt(0.001234), fmt(float("nan"))]
        ['3', '3.7', '1.2e-3', '–']
    """
    v = float(v)
    if not math.isfinite(v):
        return "–"
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1000:
        return str(int(v))
    if abs(v) >= 100 or abs(v) < 0.01:
        mantissa, exp = f"{v:.1e}".split("e")
        return f"{mantissa}e{int(exp):+d}"  # JavaScript's toExponential(1): "1.2e+3", "1.2e-3"
    return f"{v:#.2g}".rstrip(".")


def rgb_at(t: float) -> tuple[int, int, int]:
    """Viridis at ``t`` in [0, 1] (clamped; NaN grey), as ``js/lib/colors.ts`` computes it."""
    if not math.isfinite(t):
        return (190, 190, 190)
    x = min(1.0, max(0.0, t)) * (len(VIRIDIS) - 1)
    i = min(len(VIRIDIS) - 2, int(math.floor(x)))
    f = x - i
    a, b = VIRIDIS[i], VIRIDIS[i + 1]
    return tuple(int(math.floor(a[k] + (b[k] - a[k]) * f + 0.5)) for k in range(3))  # type: ignore[return-value]


def _colour(t: float) -> str:
    return "rgb({}, {}, {})".format(*rgb_at(t))


def _text_colour(t: float) -> str:
    r, g, b = rgb_at(t)
    return "#000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 else "#fff"


def colour_domain(values: np.ndarray) -> tuple[float, float]:
    """The grid's colour domain: from 0 when no score is negative (0 = darkest)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0:
        return 0.0, hi if hi > 0 else 1.0
    if hi - lo < 1e-12:
        return lo - 0.5, hi + 0.5
    return lo, hi


def _n_saes(result: Any) -> int:
    run = getattr(result, "sae_run", None)
    if run is not None and getattr(run, "n_saes", None):
        return int(run.n_saes)
    return int((getattr(result, "settings", None) or {}).get("n_saes") or 1)


def _stability_text(share: float, n_saes: int) -> str:
    if n_saes > 1:
        return f"{round(share * n_saes)}/{n_saes}"
    return f"{share:.0%}"


# ----------------------------------------------------------------------------- the grid

CELL_W, CELL_H, GAP, LEFT, TOP = 38, 30, 2, 30, 18


def grid_svg(
    scores: np.ndarray,
    in_circuit: np.ndarray,
    stability: Optional[np.ndarray] = None,
    n_saes: int = 1,
    label: str = "score",
) -> str:
    """The layers x heads grid as SVG: one ``<g class="cell">`` per head, a
    ``<rect class="gt-outline">`` ring per known-circuit head, and a
    ``<rect class="stab-bar">`` per head when ``stability`` is given."""
    n_layers, n_heads = scores.shape
    lo, hi = colour_domain(scores)
    width = LEFT + n_heads * (CELL_W + GAP) + 4
    height = TOP + n_layers * (CELL_H + GAP) + 4
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="grid" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)} per attention head, layers by heads" '
        'font-family="system-ui, sans-serif">'
    ]
    for hd in range(n_heads):
        x = LEFT + hd * (CELL_W + GAP) + CELL_W / 2
        out.append(f'<text x="{x:g}" y="{TOP - 5}" font-size="11" fill="#444" text-anchor="middle">H{hd}</text>')
    for layer in range(n_layers):
        y = TOP + layer * (CELL_H + GAP)
        out.append(f'<text x="{LEFT - 4}" y="{y + CELL_H / 2 + 4:g}" font-size="11" fill="#444" text-anchor="end">L{layer}</text>')
        for hd in range(n_heads):
            x = LEFT + hd * (CELL_W + GAP)
            v = float(scores[layer, hd])
            t = (v - lo) / (hi - lo) if math.isfinite(v) else float("nan")
            gt = bool(in_circuit[layer, hd])
            tip = f"{layer}.{hd} = {fmt(v)}" + (" (known circuit)" if gt else "")
            stab = ""
            if stability is not None:
                share = float(np.clip(stability[layer, hd], 0.0, 1.0))
                tip += f"; in the top {STABILITY_K} of {_stability_text(share, n_saes)} SAEs"
                stab = f' data-stability="{share:.4g}"'
            out.append(
                f'<g class="cell" data-layer="{layer}" data-head="{hd}" data-value="{v:.6g}"{stab}>'
                f"<title>{_e(tip)}</title>"
                f'<rect x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}" rx="2" fill="{_colour(t)}"/>'
                f'<text x="{x + CELL_W / 2:g}" y="{y + CELL_H / 2 + 3.5:g}" font-size="10" text-anchor="middle" '
                f'fill="{_text_colour(t)}">{_e(fmt(v))}</text>'
            )
            if stability is not None:
                w = CELL_W * share
                yb = y + CELL_H - 4
                out.append(
                    f'<rect class="stab-bar" x="{x}" y="{yb}" width="{w:.2f}" height="4" fill="#fff"/>'
                    f'<polyline points="{x},{yb} {x + w:.2f},{yb} {x + w:.2f},{y + CELL_H}" fill="none" stroke="#000" stroke-width="1"/>'
                )
            if gt:  # the widget's ring: 2px white inside the cell, 2px black around it, and a dot
                out.append(
                    f'<rect x="{x + 1}" y="{y + 1}" width="{CELL_W - 2}" height="{CELL_H - 2}" rx="1" '
                    'fill="none" stroke="#fff" stroke-width="2"/>'
                    f'<rect class="gt-outline" x="{x - 1}" y="{y - 1}" width="{CELL_W + 2}" height="{CELL_H + 2}" rx="3" '
                    'fill="none" stroke="#000" stroke-width="2"/>'
                    f'<circle cx="{x + CELL_W - 5.5}" cy="{y + 5.5}" r="2.5" fill="#fff" stroke="#000" stroke-width="1"/>'
                )
            out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def grid_legend(scores: np.ndarray, label: str, has_circuit: bool, n_saes: int, has_stability: bool) -> str:
    """The grid's legend in HTML: a swatch per value (with its head count) for a few whole
    numbers, otherwise a gradient from the lowest to the highest score."""
    lo, hi = colour_domain(scores)
    finite = scores[np.isfinite(scores)]
    levels = sorted(set(finite.tolist())) if finite.size and np.all(finite == np.round(finite)) else []
    parts = []
    if 0 < len(levels) <= 10:
        for v in levels:
            t = (v - lo) / (hi - lo)
            n = int(np.sum(finite == v))
            parts.append(
                f'<span class="level" style="background:{_colour(t)};color:{_text_colour(t)}" '
                f'title="{n} head(s) score {_e(fmt(v))}">{_e(fmt(v))}</span><span class="muted">&times;{n}</span>'
            )
    else:
        stops = ", ".join(_colour(k / 10) for k in range(11))
        parts.append(
            f"<span>{_e(fmt(lo))}</span><span style=\"display:inline-block;width:120px;height:10px;border:1px solid #777;"
            f'background:linear-gradient(to right, {stops})"></span><span>{_e(fmt(hi))}</span>'
        )
    parts.append(f'<span class="muted">{_e(label)}</span>')
    if has_circuit:
        parts.append('<span><span class="swatch gt"></span>known circuit</span>')
    if has_stability:
        parts.append(
            f'<span><span class="swatch stab"></span>bar: share of the {n_saes} SAEs with the head in their top {STABILITY_K}</span>'
        )
    return f'<div class="legend">{"".join(parts)}</div>'


# ----------------------------------------------------------------------------- charts

def score_bars_svg(scores: np.ndarray, in_circuit: np.ndarray, method: str, top: int = 20) -> str:
    """Horizontal bars of the ``top`` best node scores, known-circuit heads in a second colour."""
    n_heads = scores.shape[1]
    flat = np.nan_to_num(scores.reshape(-1), nan=0.0)
    order = np.argsort(-flat, kind="stable")[:top]
    lo, hi = min(0.0, float(flat[order].min())), max(0.0, float(flat[order].max()))
    span = (hi - lo) or 1.0
    left, bar_w, row = 52, 260, 16
    height = 30 + row * len(order)
    scale = lambda v: left + (v - lo) / span * bar_w  # noqa: E731 - a one-line axis map
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart score-bars" width="{left + bar_w + 50}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="11" role="img" aria-label="best {len(order)} head scores">'
        f'<text x="{left}" y="12" font-weight="600">{_e(method)} score, best {len(order)} heads</text>'
    ]
    for r, i in enumerate(order):
        y = 22 + r * row
        v = float(flat[i])
        x0, x1 = sorted((scale(0.0), scale(v)))
        colour = CIRCUIT if in_circuit.reshape(-1)[i] else OTHER
        out.append(
            f'<g class="bar"><text x="{left - 4}" y="{y + 11}" text-anchor="end">{head_label((i // n_heads, i % n_heads))}</text>'
            f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0.5):.1f}" height="{row - 3}" fill="{colour}" '
            'stroke="#000" stroke-width="0.5"/>'
            f'<text x="{x1 + 3:.1f}" y="{y + 11}">{_e(fmt(v))}</text></g>'
        )
    out.append(f'<line x1="{scale(0.0):.1f}" y1="20" x2="{scale(0.0):.1f}" y2="{height - 6}" stroke="#333"/></svg>')
    return "".join(out)


def roc_svg(curves: list[tuple[str, np.ndarray, np.ndarray]], size: int = 240) -> str:
    """ROC curves (label, fpr, tpr) as step lines over the dashed chance diagonal."""
    pad = 40
    full = size + pad + 10
    px = lambda f: pad + f * size  # noqa: E731
    py = lambda t: 10 + (1 - t) * size  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart roc" width="{full + 10}" height="{full + 40 + 14 * len(curves)}" '
        'font-family="system-ui, sans-serif" font-size="11" role="img" aria-label="ROC curve of the head scores">'
        f'<rect x="{pad}" y="10" width="{size}" height="{size}" fill="none" stroke="#999"/>'
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" stroke="#999" stroke-dasharray="3 3"/>'
    ]
    for tick in (0.0, 0.5, 1.0):
        out.append(f'<text x="{px(tick):g}" y="{size + 24}" text-anchor="middle">{tick:g}</text>'
                   f'<text x="{pad - 4}" y="{py(tick) + 4:g}" text-anchor="end">{tick:g}</text>')
    out.append(f'<text x="{pad + size / 2:g}" y="{size + 38}" text-anchor="middle">false positive rate</text>'
               f'<text transform="translate(12 {10 + size / 2:g}) rotate(-90)" text-anchor="middle">true positive rate</text>')
    styles = [(CIRCUIT, ""), (EDGE, ' stroke-dasharray="6 3"')]
    for k, (name, fpr, tpr) in enumerate(curves):
        colour, dash = styles[k % len(styles)]
        pts = [(px(fpr[0]), py(tpr[0]))]
        for j in range(1, len(fpr)):  # step-after, as charts.py draws it
            pts += [(px(fpr[j]), py(tpr[j - 1])), (px(fpr[j]), py(tpr[j]))]
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        ly = size + 54 + 14 * k
        out.append(f'<polyline class="roc-curve" points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
                   f'<line x1="{pad}" y1="{ly - 4}" x2="{pad + 20}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"{dash}/>'
                   f'<text x="{pad + 26}" y="{ly}">{_e(name)}</text>')
    out.append("</svg>")
    return "".join(out)


# ----------------------------------------------------------------------------- the interactive grid

HEADGRID_SCRIPT = """<script type="module">
const el = document.getElementById("scw-headgrid");
const status = document.getElementById("scw-headgrid-status");
const state = JSON.parse(document.getElementById("scw-headgrid-state").textContent);
for (const k of ["scores", "stability"]) {
  const bin = atob(state[k]); const buf = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
  state[k] = new DataView(buf.buffer);
}
const handlers = {};
const model = {  // read-only: selections change the page, nothing is saved anywhere
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; (handlers["change:" + k] || []).slice().forEach((f) => f()); },
  on: (ev, f) => { (handlers[ev] = handlers[ev] || []).push(f); },
  off: (ev, f) => { if (handlers[ev]) handlers[ev] = handlers[ev].filter((g) => g !== f); },
  save_changes: () => {}, send: () => {},
};
model.on("change:selected", () => {
  const i = state.selected, H = state.n_heads, s = state.scores.getFloat32(i * 4, true);
  status.textContent = `selected: L${Math.floor(i / H)}.H${i % H}, score ${Number(s.toPrecision(3))}`;
});
try {
  const mod = await import("data:text/javascript;base64,__BUNDLE__");
  await mod.default.render({ model, el });
  el.dataset.rendered = "true";
} catch (err) {
  status.textContent = "The interactive grid could not start in this browser (" + err + "); the grid above shows the same scores.";
}
</script>"""


def _headgrid_section(scores: np.ndarray, in_circuit: np.ndarray, stability: Optional[np.ndarray], n_saes: int, label: str) -> str:
    if not BUNDLE.is_file():
        return ('<p class="muted small">The interactive grid is left out: the front-end bundle is not built '
                "(npm ci &amp;&amp; npm run build).</p>")
    n_layers, n_heads = scores.shape
    state = {
        "n_layers": n_layers, "n_heads": n_heads, "selected": -1, "label": label, "scale": "viridis",
        "message": "", "show_values": True, "unavailable": "",
        "scores": base64.b64encode(np.asarray(scores, dtype="<f4").tobytes()).decode(),
        "ground_truth": [int(i) for i in np.flatnonzero(in_circuit.reshape(-1))],
        "stability": base64.b64encode(b"" if stability is None else np.clip(stability, 0, 1).astype("<f4").tobytes()).decode(),
        "n_saes": n_saes if stability is not None else 0, "top_k": STABILITY_K if stability is not None else 0,
    }
    # JSON inside <script>: no "<", ">" or "&" may appear raw, so a label cannot close the tag
    data = json.dumps(state).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    bundle = base64.b64encode(BUNDLE.read_bytes()).decode()
    return (
        "<details><summary>Interactive grid (the explorer's HeadGrid, read-only: hover for values, "
        "click or use the arrow keys to select a head)</summary>"
        '<div id="scw-headgrid"></div><p id="scw-headgrid-status" class="muted small"></p>'
        f'<script type="application/json" id="scw-headgrid-state">{data}</script>'
        + HEADGRID_SCRIPT.replace("__BUNDLE__", bundle) + "</details>"
    )


# ----------------------------------------------------------------------------- sections

def _table(header: list[str], rows: list[list[str]], numeric: Iterable[int] = (), cls: str = "", wide: int = -1) -> str:
    """A table of ready-made (escaped) cells; ``numeric`` columns right-aligned, column
    ``wide`` in the monospaced prompt style."""
    kinds = {i: ' class="num"' for i in numeric}
    kinds[wide] = ' class="prompt"'
    head = "".join(f"<th{kinds.get(i, '')}>{_e(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f"<td{kinds.get(i, '')}>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _mark(solved: Optional[bool]) -> str:
    if solved is None:
        return '<span class="muted">–</span>'
    return '<span class="yes" title="solved">&#10003;</span>' if solved else '<span class="no" title="not solved">&#10007;</span>'


def _prompts_section(result: Any) -> str:
    check = getattr(result, "task_check", None)
    rows_by_side: dict[str, list[list[str]]] = {"positive": [], "negative": []}
    if check is not None and check.prompts:
        header = ["#", "prompt", "solved", "top token", "p(answer)", "logit diff"]
        for row in check.prompts:
            p = "–" if row.p_answer is None else f"{row.p_answer:.3f}"
            rows_by_side.setdefault(row.side, []).append(
                [str(len(rows_by_side.get(row.side, [])) + 1), _e(row.prompt), _mark(row.solved),
                 _e(repr(row.top_token)), p, f"{row.logit_diff:+.2f}"]
            )
    else:
        header = ["#", "prompt"]
        prompts = list(getattr(result, "prompts", None) or [])
        sides = getattr(result, "is_positive", None)
        if not prompts or sides is None:
            return '<p class="muted">The result holds no prompts.</p>'
        for text, pos in zip(prompts, np.asarray(sides, dtype=bool)):
            side = "positive" if pos else "negative"
            rows_by_side[side].append([str(len(rows_by_side[side]) + 1), _e(text)])
    out = []
    for side, rows in rows_by_side.items():
        shown = rows[:MAX_PROMPTS_SHOWN]
        more = f'<p class="muted small">{len(rows) - len(shown)} more {side} prompts not shown.</p>' if len(rows) > len(shown) else ""
        body = _table(header, shown, numeric=(0, 4, 5), cls=f"prompts {side}s", wide=1)
        note = ""
        if side == "negative" and len(header) > 2:
            note = ('<p class="muted small">On a negative, &#10003; means the model still gives the answer: '
                    "the check wants these near chance.</p>")
        out.append(f"<h3>{_e(side.capitalize())}s ({len(rows)})</h3>{note}{body}{more}")
    return "".join(out)


def _top_heads_section(result: Any, in_circuit: np.ndarray, has_truth: bool, stability: Optional[np.ndarray], n_saes: int, k: int) -> str:
    top = result.top_heads(k)
    if not top:
        return '<p class="muted">No head scored above 0: nothing to rank.</p>'
    pooled = getattr(result, "edge_head_scores", None)
    header = ["rank", "head", "node score", "pooled edge score"]
    if stability is not None:
        header.append(f"in top {STABILITY_K} of SAEs")
    if has_truth:
        header.append("in circuit")
    rows = []
    for rank, (layer, hd) in enumerate(top, start=1):
        row = [str(rank), f'<span class="head">{_e(head_label((layer, hd)))}</span>', _e(fmt(result.node_scores[layer, hd])),
               "–" if pooled is None else f"{float(pooled[layer, hd]):.2f}"]
        if stability is not None:
            row.append(_stability_text(float(stability[layer, hd]), n_saes))
        if has_truth:
            row.append('<span class="yes">yes</span>' if in_circuit[layer, hd] else "no")
        rows.append(row)
    note = "Heads that scored above 0, best first; ties by pooled edge score, then by head index."
    return f'<p class="muted small">{note}</p>' + _table(header, rows, numeric=(0, 2, 3, 4), cls="top-heads")


def _settings_section(result: Any) -> str:
    settings = dict(getattr(result, "settings", None) or {})
    run = getattr(result, "sae_run", None)
    if run is not None:
        for name in ("source", "n_codes", "silent_fraction", "epochs", "final_loss"):
            value = getattr(run, name, None)
            if value is not None:
                settings[f"SAE {name.replace('_', ' ')}"] = f"{value:.3g}" if isinstance(value, float) else value
    rows = [[_e(k), _e(v)] for k, v in settings.items()]
    timings = dict(getattr(result, "timings", None) or {})
    trows = [[_e(k), f"{float(v):.2f}"] for k, v in timings.items()] + [["<b>total</b>", f"<b>{sum(map(float, timings.values())):.2f}</b>"]]
    table = _table(["setting", "value"], rows, cls="settings") if rows else '<p class="muted">none recorded</p>'
    timing = _table(["stage", "seconds"], trows, numeric=(1,), cls="timings")
    return f'<div class="charts"><div><h3>Settings</h3>{table}</div><div><h3>Timings</h3>{timing}</div></div>'



# ----------------------------------------------------------------------------- the page

def _summary_section(result: Any, method: str, scores: np.ndarray) -> str:
    """The facts line (model, method, grid, prompts, seconds), the task check and the warnings."""
    settings = getattr(result, "settings", None) or {}
    facts = [f"method <b>{_e(method)}</b>", "{} layers &times; {} heads".format(*scores.shape)]
    if settings.get("model"):
        facts.insert(0, f"model <b>{_e(settings['model'])}</b>")
    sides = getattr(result, "is_positive", None)
    if sides is not None:
        pos = int(np.sum(np.asarray(sides, dtype=bool)))
        facts.append(f"{pos} positive, {len(sides) - pos} negative prompts")
    facts.append(f"{sum(map(float, (getattr(result, 'timings', None) or {}).values())):.1f} s")
    out = [f'<p class="muted">{" &middot; ".join(facts)}</p>']
    check = getattr(result, "task_check", None)
    notes = list(getattr(result, "warnings", None) or [])
    if check is not None:
        out.append(f'<p class="summary">Task check: {_e(check.summary())}</p>')
        notes += [w for w in check.warnings if w not in notes]
    out += [f'<div class="warning">warning: {_e(w)}</div>' for w in notes]
    return "\n".join(out)


def _evaluation_section(
    result: Any, scores: np.ndarray, truth: Optional[list[Any]], in_circuit: np.ndarray, method: str
) -> tuple[str, str]:
    """(the AUC line, the charts): score bars always; with a known circuit, the ROC curves
    of the node and pooled edge scores."""
    charts = [score_bars_svg(scores, in_circuit, method)]
    if not truth:
        return '<p class="muted small">No known circuit given: no outline, no ROC curve (pass ground_truth).</p>', "".join(charts)
    pooled = getattr(result, "edge_head_scores", None)
    # AUCs need finite scores; a NaN score still gets a curve (it ranks last)
    ev = evaluate_scores(scores, truth, edge_head_scores=pooled) if np.isfinite(scores).all() else None
    curves = []
    for name, key, values in (("node score", "node_auc", scores), ("pooled edge score", "edge_auc", pooled)):
        if values is not None:
            fpr, tpr, _ = roc_curve(in_circuit.reshape(-1), np.nan_to_num(np.asarray(values, dtype=float).reshape(-1), nan=-np.inf))
            auc = "" if ev is None or ev.get(key) is None else f" (AUC {ev[key]:.2f})"
            curves.append((name + auc, fpr, tpr))
    charts.append(roc_svg(curves))
    if ev is None:
        return '<p class="muted small">Some scores are NaN: no AUC.</p>', "".join(charts)
    edge = "" if ev["edge_auc"] is None else f", edge AUC <b>{ev['edge_auc']:.3f}</b>"
    line = (f"<p>Against the known circuit ({ev['k']} heads): node AUC <b>{ev['node_auc']:.3f}</b>{edge}, "
            f"best F1 <b>{ev['best_f1']:.3f}</b>, precision at {ev['k']} <b>{ev['precision_at_k']:.2f}</b>.</p>")
    return line, "".join(charts)


def write_html(
    result: Any,
    path: Any = None,
    *,
    ground_truth: Optional[Iterable[Any]] = None,
    title: Optional[str] = None,
    top: int = TOP_HEADS,
    interactive: bool = True,
) -> str:
    """One self-contained HTML page of ``result`` (a ``CircuitResult``); written to ``path``
    when given (``str`` or ``os.PathLike``), and returned as text either way.

    ``ground_truth``: the known circuit's (layer, head) heads, outlined in the grid, marked
    in the tables and charts, and used for the ROC curve and AUC. ``top``: heads listed.
    ``interactive=False`` leaves out the embedded interactive grid (about 25 kB).

    Example:
        >>> text = write_html(result, "report.html", ground_truth={(1, 0), (1, 3)})  # doctest: +SKIP
    """
    target = None if path is None else Path(path)
    if target is not None and target.is_dir():  # checked before any work
        raise ValueError(f"{str(target)!r} is a folder: give a file name, e.g. {str(target / 'report.html')!r}")
    if target is not None and not target.parent.is_dir():
        raise ValueError(f"{str(target)!r}: the folder {str(target.parent)!r} does not exist: create it first, or choose another path")
    scores = np.asarray(result.node_scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"node_scores must be [n_layers, n_heads], got shape {scores.shape}")
    n_layers, n_heads = scores.shape
    truth = None if ground_truth is None else list(ground_truth)
    in_circuit = heads_mask(truth, n_layers, n_heads) if truth else np.zeros(scores.shape, bool)
    stability = getattr(result, "stability", None)
    stability = None if stability is None else np.asarray(stability, dtype=np.float64).reshape(n_layers, n_heads)
    n_saes = _n_saes(result)
    method = str(getattr(result, "method", "") or "method")
    label = f"{method} score"
    title = title or f"Circuit report: {getattr(result, 'task_name', None) or 'your prompts'} ({method})"

    how = "; the known circuit is ringed" if truth else ""
    if stability is not None:
        how += "; the white bar along the bottom is the head's stability"
    grid = grid_svg(scores, in_circuit, stability, n_saes, label) + grid_legend(scores, label, bool(truth), n_saes, stability is not None)
    interactive_html = _headgrid_section(scores, in_circuit, stability, n_saes, label) if interactive else ""
    evaluation, charts = _evaluation_section(result, scores, truth, in_circuit, method)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body>
<h1>{_e(title)}</h1>
{_summary_section(result, method, scores)}
<h2>Heads</h2>
<p class="muted small">Each cell is one attention head: its {_e(label)}, coloured from the lowest to the highest score{how}.</p>
{grid}
{interactive_html}
{evaluation}
<h2>Top heads</h2>
{_top_heads_section(result, in_circuit, bool(truth), stability, n_saes, top)}
<h2>Charts</h2>
<div class="charts">{charts}</div>
<h2>Prompts</h2>
{_prompts_section(result)}
<h2>Settings and timings</h2>
{_settings_section(result)}
<p class="muted small">Written by sae_circuits_widget; this page needs no network.</p>
</body></html>
"""
    if target is not None:
        target.write_text(page, encoding="utf-8")
    return page
