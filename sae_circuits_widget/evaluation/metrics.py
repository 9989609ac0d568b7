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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

import numpy as np
from jaxtyping import Float

from ..errors import GroundTruthError
from ..tasks.task import Head


def _parse_head(h: Any) -> Head:
    if isinstance(h, str):
        text = h.strip().upper().replace("L", "").replace("H", ".")
        parts = text.split(".")
        try:
            layer, head = (int(x) for x in parts if x != "")
        except ValueError:
            raise GroundTruthError(f"cannot read head {h!r}: write heads as (layer, head) or 'L.H'") from None
        return layer, head
    try:
        layer, head = h
        if isinstance(layer, bool) or isinstance(head, bool):
            raise TypeError
        return int(layer), int(head)
    except (TypeError, ValueError):
        raise GroundTruthError(f"cannot read head {h!r}: write heads as (layer, head) tuples") from None


def heads_mask(ground_truth: Iterable[Any], n_layers: int, n_heads: int) -> np.ndarray:
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


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def _best_f1(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    f1 = f1[:-1]  # the last point has no threshold
    i = int(np.argmax(f1))
    return float(f1[i]), float(thresholds[i])


def _at_k(labels: np.ndarray, scores: np.ndarray, k: int) -> tuple[float, float]:
    """Precision and recall of the top ``k`` heads, ties at the cut-off shared fractionally."""
    order = np.sort(scores)[::-1]
    cut = order[k - 1]
    above = scores > cut
    at = scores == cut
    room = k - int(above.sum())
    weight = above.astype(float) + at * (room / int(at.sum()))
    hits = float((weight * labels).sum())
    return hits / k, hits / float(labels.sum())


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
    best_f1, threshold = _best_f1(labels, flat)
    precision_k, recall_k = _at_k(labels, flat, k)
    out: dict[str, Any] = {
        "node_auc": _auc(labels, flat),
        "edge_auc": None,
        "best_f1": best_f1,
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
        out["edge_auc"] = _auc(labels, pooled)
    if edge_ground_truth is not None and edge_scores is not None:
        out["edge_pair_auc"] = _edge_pair_auc(np.asarray(edge_scores, dtype=np.float64), edge_ground_truth, n_layers, n_heads)
    return out


def _edge_pair_auc(edge_scores: np.ndarray, edge_ground_truth: Iterable[tuple[Any, Any]], n_layers: int, n_heads: int) -> Optional[float]:
    n = n_layers * n_heads
    layer_of = np.arange(n) // n_heads
    candidates = layer_of[:, None] < layer_of[None, :]
    truth = np.zeros((n, n), dtype=bool)
    for sender, receiver in edge_ground_truth:
        s = heads_mask_index(sender, n_layers, n_heads)
        r = heads_mask_index(receiver, n_layers, n_heads)
        truth[s, r] = True
    labels = truth[candidates]
    if labels.all() or not labels.any():
        return None
    return _auc(labels.astype(int), edge_scores[candidates])


def heads_mask_index(h: Any, n_layers: int, n_heads: int) -> int:
    layer, head = _parse_head(h)
    if not (0 <= layer < n_layers and 0 <= head < n_heads):
        raise GroundTruthError(
            f"edge ground truth names head {(layer, head)}, which does not exist (layers "
            f"0-{n_layers - 1}, heads 0-{n_heads - 1})"
        )
    return layer * n_heads + head
