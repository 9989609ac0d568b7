"""CPR and CMD: the faithfulness of a method's top-k heads, integrated over circuit sizes.

The technique
-------------
A circuit-discovery method ranks the model's components. To judge the ranking without
a ground truth, keep only the top ``k`` components, ablate everything else, and measure
how much of the model's behaviour survives, for a range of circuit sizes ``k``. The
*faithfulness* of a circuit ``C`` is normalised between the full model and the empty
circuit (everything ablated)::

    f(C) = (m(C) - m(empty)) / (m(full) - m(empty))

where ``m`` is the task metric (the mean logit difference over the positives). So
``f = 1`` means the circuit alone reproduces the model and ``f = 0`` means it does no
better than ablating everything. Plotting ``f`` against circuit size (as a fraction of
all components) gives the *faithfulness curve*, and two areas summarise it:

- **CPR** (circuit performance ratio): the area under the curve, ``integral f dx``.
  Higher is better: small circuits that already carry the behaviour score high.
- **CMD** (circuit-model difference): the area between the curve and 1,
  ``integral |1 - f| dx``. Lower is better: it also penalises circuits that *overshoot*
  the model (``f > 1``, e.g. a circuit that leaves out heads working against the task),
  which CPR would reward. While the curve stays at or below 1, ``CMD = (x range) - CPR``
  (``1 - CPR`` with the default sizes); the two part ways only where a circuit overshoots.

Neither needs a ground truth, so they judge a circuit found on a user's own prompts as
well as one on a task with a known circuit.

This follows the circuit track of MIB (Mueller et al. 2025, "MIB: A Mechanistic
Interpretability Benchmark"). There (``MIB_circuit_track/evaluation.py``,
``evaluate_area_under_curve``): ``m(full)`` is the clean model, ``m(empty)`` the circuit
with no components, both with the same intervention; the circuit sizes are the
fractions ``(.001, .002, .005, .01, .02, .05, .1, .2, .5, 1)`` of the scored components,
each turned into a count with ``int(fraction * n)``; both areas are trapezoid sums over
those fractions on a linear axis (not rescaled: the axis runs from .001 to 1), CMD
summing ``|1 - f|`` at the points; components outside the circuit are *patched* with
their activations on the corrupted (counterfactual) input by default (``"mean"`` is an
option); the metric is the logit difference, averaged over prompts before normalising.
MIB ranks components by signed scores for CPR and by absolute scores for CMD.

Where this version differs, and why
-----------------------------------
- **Components are attention heads (nodes), not edges.** Our methods score heads, so the
  size axis counts heads: ``x = k / (n_layers * n_heads)``. Only heads are ablated;
  embeddings and MLPs are never ablated (MLPs recompute from what the heads write;
  MIB's node level also scores and ablates MLPs and the input embedding).
- **Every size, not ten fractions.** MIB's fractions suit models with tens of thousands
  of edges; with a few dozen heads most of them round to 0 heads. By default
  (``sizes="all"``) the curve has a point at every head count ``k = 0 .. N``, and the
  trapezoid sum over ``x = k / N`` in [0, 1] is the exact area under the
  piecewise-linear curve. The empty circuit is the point ``(0, 0)``, shared by every
  method. ``sizes="mib"`` uses MIB's ten fractions, ``int(fraction * N)`` heads and
  MIB's x-axis as they are, for direct comparison.
- **Ablation.** ``ablation="patching"`` (default, as in MIB) replaces each head outside
  the circuit by its ``z`` on the matched negative prompt, our counterfactual input
  (``ablation.metric_under_masks(kind="resample")``); ``m(empty)`` is then the positives
  with every head's output taken from the negatives. ``ablation="mean"`` uses the mean
  ablation of :mod:`sae_circuits_widget.interventions.ablation` (each head's mean ``z`` over the
  task's prompts).
- **One ranking for both areas.** Our ``node_scores`` already mean "higher = more in
  the circuit" (attribution methods report magnitudes), so CPR and CMD use the same
  top-k heads; MIB's signed/absolute split has nothing to split here.
- **Ties.** MIB sorts with ``argsort``, so tied scores are ordered by component index.
  Here tied heads never get an order: they enter the circuit together as one block.
  The curve is measured at the block boundaries (where the circuit is the same whatever
  the head numbering), and a size that falls inside a block takes the linear
  interpolation between the block's two ends, the convention ROC AUC uses for tied
  scores. A method that gives every head the same score gets the straight line from
  ``(0, 0)`` to ``(1, 1)``: CPR 0.5, CMD 0.5, whatever the heads' numbering.

All keep-sets of all methods run stacked in the same forwards
(:func:`ablation.metric_under_masks`), identical keep-sets once.

Example:
    >>> from sae_circuits_widget.testing import tiny_model, toy_ioi_task
    >>> import numpy as np
    >>> model = tiny_model(); task = toy_ioi_task(model)
    >>> curve = faithfulness_curve(model, task, np.ones((2, 4)))
    >>> round(curve.cpr, 3), round(curve.cmd, 3)
    (0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Optional, Union

import numpy as np
import torch

from ..tasks.task import Task
from .ablation import clean_metric, metric_under_masks
from .hooks import MAX_BATCH_ROWS

Ablation = Literal["patching", "mean"]
Sizes = Union[Literal["all", "mib"], Sequence[float]]

MIB_FRACTIONS: tuple[float, ...] = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
"""MIB's circuit sizes, as fractions of the scored components."""

_KIND: dict[str, Literal["mean", "resample"]] = {"patching": "resample", "mean": "mean"}


# --------------------------------------------------------------------------- areas
def _xy(curve_or_x, f) -> tuple[np.ndarray, np.ndarray]:
    if f is None:
        if not hasattr(curve_or_x, "faithfulness"):
            raise TypeError("give a FaithfulnessCurve, or the x values and the faithfulness values")
        x, f = curve_or_x.x, curve_or_x.faithfulness
    else:
        x = curve_or_x
    x = np.asarray(x, dtype=float)
    f = np.asarray(f, dtype=float)
    if x.ndim != 1 or x.shape != f.shape or len(x) < 2:
        raise ValueError(f"x and f must be 1-D of the same length >= 2, got shapes {x.shape} and {f.shape}")
    if np.any(np.diff(x) < 0):
        raise ValueError("x (circuit sizes) must be non-decreasing")
    return x, f


def cpr(curve_or_x, f: Optional[Sequence[float]] = None) -> float:
    """Area under the faithfulness curve (trapezoid rule over circuit size); higher is better.

    ``cpr(curve)`` for a :class:`FaithfulnessCurve`, or ``cpr(x, f)`` for sizes ``x``
    (fractions of all heads) and faithfulness values ``f``.

    Example:
        >>> cpr([0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
        0.75
    """
    x, y = _xy(curve_or_x, f)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def cmd(curve_or_x, f: Optional[Sequence[float]] = None) -> float:
    """Area between the faithfulness curve and 1, ``sum of trapezoids of |1 - f|``; lower is better.

    As in MIB the absolute value is taken at the curve's points, so overshooting the
    model (``f > 1``) costs as much as falling short.

    Example:
        >>> cmd([0.0, 0.5, 1.0], [0.0, 1.5, 1.0])
        0.5
    """
    x, y = _xy(curve_or_x, f)
    d = np.abs(1.0 - y)
    return float(np.sum(np.diff(x) * (d[1:] + d[:-1]) / 2))


# --------------------------------------------------------------------------- curve
@dataclass
class FaithfulnessCurve:
    """One method's faithfulness at each circuit size.

    Attributes:
        sizes: number of heads kept at each point, ``[P]``.
        x: the size axis used for the areas, ``[P]`` (``sizes / n_total`` for
            ``sizes="all"``; MIB's fractions for ``sizes="mib"``).
        faithfulness: ``(m(C) - m(empty)) / (m(full) - m(empty))`` at each point, ``[P]``.
        ablation: ``"patching"`` or ``"mean"``.
        m_full: mean metric of the clean model.
        m_empty: mean metric with every head ablated.
        n_total: number of heads in the model.
        boundaries: the block boundaries (head counts) where the curve was measured;
            sizes between two boundaries are interpolated (tied scores).
    """

    sizes: np.ndarray
    x: np.ndarray
    faithfulness: np.ndarray
    ablation: str
    m_full: float
    m_empty: float
    n_total: int
    boundaries: np.ndarray

    @property
    def cpr(self) -> float:
        return cpr(self)

    @property
    def cmd(self) -> float:
        return cmd(self)

    def to_dict(self) -> dict:
        return {"sizes": [int(k) for k in self.sizes], "x": [float(v) for v in self.x],
                "faithfulness": [float(v) for v in self.faithfulness], "ablation": self.ablation,
                "cpr": self.cpr, "cmd": self.cmd}


def size_grid(n_total: int, sizes: Sizes = "all") -> tuple[np.ndarray, np.ndarray]:
    """Head counts and x-axis values of the curve: ``(ks, xs)``.

    ``"all"``: ``k = 0 .. n_total``, ``x = k / n_total``. ``"mib"``: MIB's fractions
    (:data:`MIB_FRACTIONS`), ``k = int(fraction * n_total)``, ``x = fraction``. A
    sequence of fractions in ``[0, 1]`` is used like ``"mib"``.

    Example:
        >>> size_grid(24, "mib")[0].tolist()
        [0, 0, 0, 0, 0, 1, 2, 4, 12, 24]
    """
    if n_total < 1:
        raise ValueError(f"the model must have at least one head, got {n_total}")
    if isinstance(sizes, str):
        if sizes == "all":
            ks = np.arange(n_total + 1)
            return ks, ks / n_total
        if sizes != "mib":
            raise ValueError(f"sizes must be 'all', 'mib' or a list of fractions, got {sizes!r}")
        fractions = MIB_FRACTIONS
    else:
        fractions = tuple(float(s) for s in sizes)
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or len(fr) < 2 or np.any(fr < 0) or np.any(fr > 1) or np.any(np.diff(fr) <= 0):
        raise ValueError(f"sizes must be at least two increasing fractions in [0, 1], got {list(fractions)}")
    # int(fraction * n) as MIB does, guarded against 0.1 * 10 = 0.9999... style rounding
    ks = np.floor(fr * n_total + 1e-9).astype(int)
    return ks, fr


def tie_blocks(scores) -> list[np.ndarray]:
    """Flat head indices grouped into blocks of equal score, best block first.

    Within a block the indices are sorted, but nothing downstream depends on that order.

    Example:
        >>> [b.tolist() for b in tie_blocks(np.array([[1.0, 3.0], [1.0, 2.0]]))]
        [[1], [3], [0, 2]]
    """
    flat = np.asarray(scores, dtype=float).reshape(-1)
    if np.isnan(flat).any():
        raise ValueError("scores contain NaN; give every head a score")
    order = np.argsort(-flat, kind="stable")
    vals = flat[order]
    cuts = np.flatnonzero(vals[1:] != vals[:-1]) + 1
    return [np.sort(b) for b in np.split(order, cuts)]


def _as_scores(scores, L: int, H: int, name: str) -> np.ndarray:
    if hasattr(scores, "node_scores"):
        scores = scores.node_scores
    scores = np.asarray(scores.detach().cpu() if isinstance(scores, torch.Tensor) else scores, dtype=float)
    if scores.shape != (L, H):
        raise ValueError(f"scores of {name!r} must have shape [{L}, {H}], got {scores.shape}")
    return scores


def _interpolate(ks: np.ndarray, bounds: np.ndarray, f_bounds: np.ndarray) -> np.ndarray:
    return np.interp(ks.astype(float), bounds.astype(float), f_bounds)


@torch.no_grad()
def faithfulness_curves(
    model,
    task: Task,
    scores_by_method: Mapping[str, object],
    *,
    sizes: Sizes = "all",
    ablation: Ablation = "patching",
    progress: bool = False,
    max_batch: int = MAX_BATCH_ROWS,
) -> dict[str, FaithfulnessCurve]:
    """Faithfulness curve of each method's top-k heads; every keep-set in shared forwards.

    ``scores_by_method``: name -> ``[L, H]`` head scores (higher = more in the circuit)
    or a CircuitResult. Tied scores enter as one block (see the module docstring). The
    keep-sets measured are each method's block boundaries that the size grid needs,
    plus the empty circuit; identical keep-sets are evaluated once. Raises ValueError
    when ablating every head does not change the metric (faithfulness is undefined).

    Example:
        >>> curves = faithfulness_curves(model, task, {"eap": r1, "random": r2})  # doctest: +SKIP
        >>> curves["eap"].cpr, curves["eap"].cmd                                   # doctest: +SKIP
    """
    if ablation not in _KIND:
        raise ValueError(f"ablation must be 'patching' or 'mean', got {ablation!r}")
    L, H = int(model.cfg.n_layers), int(model.cfg.n_heads)
    N = L * H
    ks, xs = size_grid(N, sizes)

    # per method: the block boundaries that enclose a grid size
    plans: dict[str, tuple[np.ndarray, list[np.ndarray], np.ndarray]] = {}
    for name, s in scores_by_method.items():
        blocks = tie_blocks(_as_scores(s, L, H, name))
        bounds = np.concatenate([[0], np.cumsum([len(b) for b in blocks])])
        lo = np.searchsorted(bounds, ks, side="right") - 1
        hi = np.searchsorted(bounds, ks, side="left")
        needed = np.unique(np.concatenate([bounds[lo], bounds[hi]]))
        plans[name] = (needed, blocks, bounds)

    # unique keep-sets (as ablation masks, True = ablate); index 0 = the empty circuit
    key_of: dict[bytes, int] = {}
    masks: list[torch.Tensor] = []

    def add(mask: np.ndarray) -> int:
        key = mask.tobytes()
        if key not in key_of:
            key_of[key] = len(masks)
            masks.append(torch.from_numpy(mask.reshape(L, H).copy()))
        return key_of[key]

    add(np.ones(N, dtype=bool))
    where: dict[str, list[int]] = {}
    for name, (needed, blocks, bounds) in plans.items():
        where[name] = []
        for b in needed:
            mask = np.ones(N, dtype=bool)
            j = int(np.searchsorted(bounds, b))  # b is a boundary: blocks[:j] are kept
            for blk in blocks[:j]:
                mask[blk] = False
            where[name].append(add(mask))

    m_full = float(clean_metric(model, task).double().mean())
    kept = metric_under_masks(
        model, task, torch.stack(masks), _KIND[ablation], progress=progress, max_batch=max_batch
    ).double().numpy()
    m_empty = float(kept[0])
    span = m_full - m_empty
    if abs(span) < 1e-8 * max(1.0, abs(m_full)):
        raise ValueError(
            f"on task {task.name!r} the metric with every head ablated ({m_empty:.4g}) equals the clean "
            f"one ({m_full:.4g}), so faithfulness is undefined for {ablation!r} ablation"
        )
    out: dict[str, FaithfulnessCurve] = {}
    for name, (needed, _, _) in plans.items():
        f_needed = (kept[where[name]] - m_empty) / span
        f = _interpolate(ks, needed, f_needed)
        out[name] = FaithfulnessCurve(
            sizes=ks.copy(), x=np.asarray(xs, dtype=float), faithfulness=f, ablation=ablation,
            m_full=m_full, m_empty=m_empty, n_total=N, boundaries=needed,
        )
    return out


def faithfulness_curve(
    model,
    task: Task,
    scores,
    *,
    sizes: Sizes = "all",
    ablation: Ablation = "patching",
    progress: bool = False,
    max_batch: int = MAX_BATCH_ROWS,
) -> FaithfulnessCurve:
    """:func:`faithfulness_curves` for one method's ``[L, H]`` scores or CircuitResult.

    Example:
        >>> c = faithfulness_curve(model, task, result)   # doctest: +SKIP
        >>> c.cpr, c.cmd                                  # doctest: +SKIP
    """
    return faithfulness_curves(
        model, task, {"scores": scores}, sizes=sizes, ablation=ablation, progress=progress, max_batch=max_batch
    )["scores"]


__all__ = [
    "MIB_FRACTIONS",
    "FaithfulnessCurve",
    "cpr",
    "cmd",
    "size_grid",
    "tie_blocks",
    "faithfulness_curve",
    "faithfulness_curves",
]
