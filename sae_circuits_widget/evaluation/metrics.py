"""How well head scores recover a known circuit.

Each head is a binary example: in the ground-truth circuit or not. The head scores are
the classifier output. We report

* ``node_auc``: ROC AUC of the node scores (0.5 = chance, 1 = every circuit head ranked
  above every other head), as in the paper;
* ``edge_auc``: ROC AUC of the edge scores pooled per head (``scoring.pool_edge_scores``);
* ``best_f1``: the best F1 over all score thresholds (node scores), with its threshold;
* ``precision_at_k`` / ``recall_at_k``: take the ``k = |ground truth|`` best heads (ties
  at the cut-off shared fractionally, so head order never matters);
* ``edge_pair_auc``: when an edge ground truth (sender, receiver) is given, the ROC AUC of
  the per-pair edge scores over all pairs with the sender in an earlier layer.

This module is the package's one ROC path: ``roc_curve``, ``roc_auc``, ``best_f1`` and
``precision_recall_at_k`` take flat 0/1 labels and scores and are written in numpy.
Tied scores cross every threshold together, so a tie between a circuit head and another
head counts one half in the AUC (the trapezoid under the curve, the Mann-Whitney
statistic); the numbers equal scikit-learn's ``roc_auc_score``, ``roc_curve`` and
``precision_recall_curve``, which the tests check when it is installed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

import numpy as np
from jaxtyping import Float

from ..errors import GroundTruthError
from ..heads import Head, head_index, parse_head


def _parse_head(h: Any) -> Head:
    try:
        return parse_head(h)
    except ValueError as err:
        raise GroundTruthError(f"ground truth: {err}") from None


def heads_mask(ground_truth: Optional[Iterable[Any]], n_layers: int, n_heads: int) -> np.ndarray:
    """``[n_layers, n_heads]`` bool mask of a ground-truth head set, range-checked.

    Example:
        >>> heads_mask({(1, 0)}, 2, 2).astype(int).tolist()
        [[0, 0], [1, 0]]
    """
    if ground_truth is None:
        raise GroundTruthError("no ground truth given: pass a set of (layer, head) tuples")
    if isinstance(ground_truth, (str, bytes)):
        raise GroundTruthError("ground truth must be a collection of heads, e.g. {(5, 1), (9, 6)}")
    mask = np.zeros((n_layers, n_heads), dtype=bool)
    bad = []
    for h in ground_truth:
        layer, head = _parse_head(h)
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            bad.append((layer, head))
            continue
        mask[layer, head] = True
    if bad:
        raise GroundTruthError(
            f"ground truth names heads that do not exist: {sorted(bad)}; this model has layers "
            f"0-{n_layers - 1} and heads 0-{n_heads - 1} per layer (was the ground truth made "
            "for another model?)"
        )
    if not mask.any():
        raise GroundTruthError("ground truth is empty: ROC AUC needs at least one circuit head")
    if mask.all():
        raise GroundTruthError("ground truth contains every head: ROC AUC needs at least one head outside it")
    return mask


def _binary(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Flat bool labels and float64 scores, checked: same length, no NaN, both classes."""
    y = np.asarray(labels).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length ({y.size} labels, {s.size} scores): pass one score per label")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0/1 or False/True (1 = in the circuit)")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN: replace them first (e.g. with -inf to rank them last)")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("a ROC curve needs at least one positive and one negative label")
    return y, s


def _counts_at_thresholds(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positives when everything scoring ``>= t`` is called positive, one row
    per distinct score ``t`` from the highest down (tied scores cross the threshold together)."""
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1]
    tps = np.cumsum(y, dtype=np.float64)[last_of_tie]
    fps = 1.0 + last_of_tie - tps
    return fps, tps, s[last_of_tie]


def roc_curve(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates over every score threshold, and the thresholds.

    The curve starts at (0, 0) (threshold ``inf``) and ends at (1, 1); tied scores move it
    diagonally in one step, and points on a straight segment between two others are left
    out (the same points as scikit-learn's ``roc_curve``).

    Example:
        >>> fpr, tpr, thresholds = roc_curve([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.4])
        >>> fpr.tolist(), tpr.tolist()
        ([0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0])
    """
    fps, tps, thresholds = _counts_at_thresholds(*_binary(labels, scores))
    if fps.size > 2:
        corner = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[corner], tps[corner], thresholds[corner]
    fps, tps, thresholds = np.r_[0.0, fps], np.r_[0.0, tps], np.r_[np.inf, thresholds]
    return fps / fps[-1], tps / tps[-1], thresholds


def roc_area(fpr: Any, tpr: Any) -> float:
    """Area under ROC points by the trapezoid rule (``fpr`` non-decreasing).

    Example:
        >>> roc_area([0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
        0.75
    """
    x, y = np.asarray(fpr, dtype=np.float64), np.asarray(tpr, dtype=np.float64)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def roc_auc(labels: Any, scores: Any) -> float:
    """ROC AUC: the chance that a random positive outscores a random negative, ties counting
    one half (the trapezoid area under ``roc_curve``; equal to scikit-learn's ``roc_auc_score``).

    Example:
        >>> roc_auc([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.4])
        0.875
    """
    fpr, tpr, _ = roc_curve(labels, scores)
    return roc_area(fpr, tpr)


def best_f1(labels: Any, scores: Any) -> tuple[float, float]:
    """The best F1 over all thresholds (positive = score ``>= threshold``) and that threshold;
    among equally good thresholds the lowest.

    Example:
        >>> best_f1([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.2])
        (1.0, 0.4)
    """
    fps, tps, thresholds = _counts_at_thresholds(*_binary(labels, scores))
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    i = f1.size - 1 - int(np.argmax(f1[::-1]))
    return float(f1[i]), float(thresholds[i])


def precision_recall_at_k(labels: Any, scores: Any, k: int) -> tuple[float, float]:
    """Precision and recall of the top ``k`` scores, ties at the cut-off shared fractionally
    (so the order of tied heads never matters).

    Example:
        >>> precision_recall_at_k([1, 0, 0, 0], [1.0, 1.0, 0.0, 0.0], 1)
        (0.5, 0.5)
    """
    y, s = _binary(labels, scores)
    if not 1 <= k <= s.size:
        raise ValueError(f"k must be between 1 and the number of scores ({s.size}), got {k}")
    cut = np.sort(s)[::-1][k - 1]
    above = s > cut
    at = s == cut
    weight = above.astype(float) + at * ((k - int(above.sum())) / int(at.sum()))
    hits = float((weight * y).sum())
    return hits / k, hits / float(y.sum())


def evaluate_scores(
    node_scores: Float[np.ndarray, "n_layers n_heads"],
    ground_truth: Iterable[Any],
    edge_head_scores: Optional[Float[np.ndarray, "n_layers n_heads"]] = None,
    edge_scores: Optional[Float[np.ndarray, "heads heads"]] = None,
    edge_ground_truth: Optional[Iterable[tuple[Any, Any]]] = None,
) -> dict[str, Any]:
    """Compare scores with a ground-truth head set.

    Returns a dict with ``node_auc``, ``edge_auc`` (``None`` without edge scores),
    ``best_f1``, ``best_f1_threshold``, ``precision_at_k``, ``recall_at_k``, ``k``,
    ``n_heads`` (all heads), ``n_ground_truth`` and, with an edge ground truth,
    ``edge_pair_auc``.

    Example:
        >>> evaluate_scores(np.array([[3.0, 0.0], [1.0, 2.0]]), {(0, 0), (1, 1)})["node_auc"]
        1.0
    """
    scores = np.asarray(node_scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"node scores must be [n_layers, n_heads], got shape {scores.shape}")
    n_layers, n_heads = scores.shape
    mask = heads_mask(ground_truth, n_layers, n_heads)
    labels = mask.reshape(-1).astype(int)
    flat = scores.reshape(-1)
    if not np.isfinite(flat).all():
        raise ValueError("node scores contain NaN or infinity; they cannot be evaluated")
    k = int(labels.sum())
    f1, threshold = best_f1(labels, flat)
    precision_k, recall_k = precision_recall_at_k(labels, flat, k)
    out: dict[str, Any] = {
        "node_auc": roc_auc(labels, flat),
        "edge_auc": None,
        "best_f1": f1,
        "best_f1_threshold": threshold,
        "precision_at_k": precision_k,
        "recall_at_k": recall_k,
        "k": k,
        "n_heads": int(labels.size),
        "n_ground_truth": k,
    }
    if edge_head_scores is None and edge_scores is not None:
        from ..engine.scoring import pool_edge_scores

        edge_head_scores = pool_edge_scores(edge_scores).reshape(n_layers, n_heads)
    if edge_head_scores is not None:
        pooled = np.asarray(edge_head_scores, dtype=np.float64).reshape(-1)
        if pooled.size != labels.size:
            raise ValueError(f"edge head scores have {pooled.size} entries for {labels.size} heads")
        out["edge_auc"] = roc_auc(labels, pooled)
    if edge_ground_truth is not None and edge_scores is not None:
        out["edge_pair_auc"] = _edge_pair_auc(np.asarray(edge_scores, dtype=np.float64), edge_ground_truth, n_layers, n_heads)
    return out


def _edge_pair_auc(edge_scores: np.ndarray, edge_ground_truth: Iterable[tuple[Any, Any]], n_layers: int, n_heads: int) -> Optional[float]:
    n = n_layers * n_heads
    layer_of = np.arange(n) // n_heads
    candidates = layer_of[:, None] < layer_of[None, :]
    truth = np.zeros((n, n), dtype=bool)
    for sender, receiver in edge_ground_truth:
        s = _edge_head_index(sender, n_layers, n_heads)
        r = _edge_head_index(receiver, n_layers, n_heads)
        truth[s, r] = True
    labels = truth[candidates]
    if labels.all() or not labels.any():
        return None
    return roc_auc(labels, edge_scores[candidates])


def _edge_head_index(h: Any, n_layers: int, n_heads: int) -> int:
    layer, head = _parse_head(h)
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise GroundTruthError(
            f"edge ground truth names head {(layer, head)}, which does not exist (layers "
            f"0-{n_layers - 1}, heads 0-{n_heads - 1})"
        )
    return head_index((layer, head), n_heads)
