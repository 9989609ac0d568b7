"""Altair charts of circuit-discovery results: ROC curves, score bars, export.

An ROC curve treats every attention head as one example — in the known circuit or not —
and the head scores as a classifier's output; sweeping the threshold traces the true
positive rate against the false positive rate. The area under it (AUC, from the engine's
``CircuitResult.evaluate``) is 1 when every circuit head outranks every other head and
0.5 for chance. ``roc_chart`` draws one curve per method so the discrete SAE and the
baselines can be compared on one plot; ``benchmark_roc_chart`` draws the benchmark's
stored curves the same way, one panel per task.

Colours come from the Okabe-Ito palette (distinguishable with common colour-vision
deficiencies); curves also differ by stroke dash, so they stay apart in greyscale print.

Example:
    >>> chart = roc_chart({"sae": result, "eap": eap_result}, task.ground_truth)  # doctest: +SKIP
    >>> save_chart(chart, "roc.svg")                                               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

import altair as alt
import numpy as np
import pandas as pd

from ..engine.result import CircuitResult
from .metrics import heads_mask, roc_area, roc_curve

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [1, 3], [10, 2], [3, 6]]


def _labels(ground_truth: Optional[Iterable[Any]], n_layers: int, n_heads: int) -> np.ndarray:
    return heads_mask(ground_truth, n_layers, n_heads).reshape(-1)


def roc_points(scores: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """The ROC curve of ``scores`` against boolean ``labels`` as (fpr, tpr) rows (NaN
    scores rank last; ``metrics.roc_curve``).

    Example:
        >>> roc_points(np.array([0.9, 0.1, 0.5]), np.array([True, False, False])).values.tolist()
        [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=float).reshape(-1), nan=-np.inf)
    fpr, tpr, _ = roc_curve(np.asarray(labels).reshape(-1), scores)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr})


def roc_chart(
    results: Mapping[str, CircuitResult],
    ground_truth: Iterable[Any],
    *,
    title: Optional[str] = None,
    width: int = 320,
    height: int = 300,
) -> alt.LayerChart:
    """One ROC curve per method (node scores vs ground-truth heads), AUC in the legend.

    Args:
        results: method name -> result (all on the same model).
        ground_truth: the known circuit's heads as (layer, head) pairs.

    Example:
        >>> roc_chart({"sae": result}, {(1, 0), (1, 3)})   # doctest: +SKIP
    """
    if not results:
        raise ValueError("roc_chart needs at least one result: pass {'method name': result}")
    frames = []
    gt = set(ground_truth) if ground_truth is not None else None
    for name, result in results.items():
        labels = _labels(gt, result.n_layers, result.n_heads)
        auc = result.evaluate(gt)["node_auc"]
        df = roc_points(result.node_scores, labels)
        df["method"] = f"{name} (AUC {auc:.2f})"
        frames.append(df)
    return _roc_layers(pd.concat(frames, ignore_index=True), title, width, height)


def _roc_layers(data: pd.DataFrame, title: Optional[str], width: int, height: int) -> alt.LayerChart:
    """The chance diagonal under one styled step curve per ``method`` label of ``data``."""
    methods = list(dict.fromkeys(data["method"]))
    diagonal = alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]})).mark_line(color="#999", strokeDash=[3, 3]).encode(x="fpr", y="tpr")
    curves = alt.Chart(data).mark_line(interpolate="step-after", strokeWidth=2).encode(
        x=alt.X("fpr:Q", title="false positive rate", scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("tpr:Q", title="true positive rate", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("method:N", scale=alt.Scale(domain=methods, range=OKABE_ITO[: len(methods)] or OKABE_ITO), title="method"),
        strokeDash=alt.StrokeDash("method:N", scale=alt.Scale(domain=methods, range=DASHES[: len(methods)]), title="method"),
        tooltip=["method:N", alt.Tooltip("fpr:Q", format=".2f"), alt.Tooltip("tpr:Q", format=".2f")],
    )
    return (diagonal + curves).properties(title=title or "ROC of head scores vs the known circuit", width=width, height=height)


def roc_chart_from_points(
    points_by_method: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    title: Optional[str] = None,
    width: int = 320,
    height: int = 300,
) -> alt.LayerChart:
    """``roc_chart`` from ready-made curves: method name -> ``{"fpr": [...], "tpr": [...]}``.

    This is the form ``run_benchmark`` stores under ``"roc"``; the legend's AUC is the
    area under the given points (trapezoids, as for a step-free ROC).

    Example:
        >>> chart = roc_chart_from_points({"sae": {"fpr": [0, 0, 1], "tpr": [0, 1, 1]}})
        >>> chart.to_dict()["layer"][1]["mark"]["type"]
        'line'
    """
    if not points_by_method:
        raise ValueError("roc_chart_from_points needs at least one curve: pass {'method name': {'fpr': [...], 'tpr': [...]}}")
    frames = []
    for name, pts in points_by_method.items():
        fpr, tpr = np.asarray(pts["fpr"], dtype=float), np.asarray(pts["tpr"], dtype=float)
        if fpr.shape != tpr.shape or fpr.ndim != 1 or fpr.size < 2:
            raise ValueError(f"ROC points of {name!r} need equally long 'fpr' and 'tpr' lists of at least 2 values")
        auc = roc_area(fpr, tpr)
        frames.append(pd.DataFrame({"fpr": fpr, "tpr": tpr, "method": f"{name} (AUC {auc:.2f})"}))
    return _roc_layers(pd.concat(frames, ignore_index=True), title, width, height)


def benchmark_roc_chart(bench: Mapping[str, Any], *, columns: int = 2, width: int = 280, height: int = 260) -> alt.ConcatChart:
    """Every method's ROC curve, one panel per task, from ``run_benchmark``'s output.

    Tasks without curves (no known circuit, or every method failed) get no panel.

    Example:
        >>> chart = benchmark_roc_chart(run_benchmark(None, ["ioi"], methods=["sae", "eap"]))  # doctest: +SKIP
        >>> save_chart(chart, "bench_roc.svg")                                                # doctest: +SKIP
    """
    roc = bench.get("roc") or {}
    panels = [roc_chart_from_points(curves, title=task, width=width, height=height) for task, curves in roc.items() if curves]
    if not panels:
        raise ValueError("the benchmark holds no ROC curves: run it on tasks with a known circuit (bench['roc'] is empty)")
    return alt.concat(*panels, columns=columns).resolve_scale(color="independent", strokeDash="independent")


def score_bars(
    result: CircuitResult,
    ground_truth: Optional[Iterable[Any]] = None,
    *,
    top: Optional[int] = 20,
    width: int = 360,
) -> alt.Chart:
    """Bars of head scores, best first; known-circuit heads in a second colour and hatched label.

    Example:
        >>> score_bars(result, task.ground_truth, top=10)   # doctest: +SKIP
    """
    scores = np.asarray(result.node_scores, dtype=float).reshape(-1)
    n_heads = result.n_heads
    in_gt = _labels(ground_truth, result.n_layers, n_heads) if ground_truth else np.zeros(scores.size, bool)
    order = np.argsort(-scores, kind="stable")
    if top is not None:
        order = order[: int(top)]
    data = pd.DataFrame({
        "head": [f"{i // n_heads}.{i % n_heads}" for i in order],
        "score": scores[order],
        "circuit": ["known circuit" if in_gt[i] else "other" for i in order],
    })
    return alt.Chart(data).mark_bar(stroke="#000", strokeWidth=0.5).encode(
        x=alt.X("score:Q", title=f"{result.method} score"),
        y=alt.Y("head:N", sort=None, title="layer.head"),
        color=alt.Color("circuit:N", scale=alt.Scale(domain=["known circuit", "other"], range=[OKABE_ITO[3], "#BBBBBB"]), title=""),
        tooltip=["head:N", alt.Tooltip("score:Q", format=".3g"), "circuit:N"],
    ).properties(title="Head scores", width=width)


def save_chart(chart: alt.TopLevelMixin, path: Any, *, scale: float = 2.0) -> Path:
    """Write ``chart`` to ``path``: ``.png`` / ``.svg`` (vl-convert, offline; the
    ``[export]`` extra), ``.json`` (the Vega-Lite spec) or ``.html``.

    Example:
        >>> save_chart(roc_chart({"sae": result}, gt), "roc.png")   # doctest: +SKIP
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".png", ".svg"):
        try:
            import vl_convert as vlc
        except ImportError:
            raise ImportError(
                f"saving a chart as {suffix} needs the export extra: pip install \"sae-circuits-widget[export]\" "
                "(or save as .json or .html, which need nothing more)"
            ) from None
        spec = chart.to_json()
        if suffix == ".png":
            path.write_bytes(vlc.vegalite_to_png(spec, scale=scale))
        else:
            path.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
    elif suffix == ".json":
        path.write_text(chart.to_json(), encoding="utf-8")
    elif suffix == ".html":
        chart.save(str(path))
    else:
        raise ValueError(f"cannot export a chart as {suffix or 'a file without extension'}: use .png, .svg, .json or .html")
    return path
