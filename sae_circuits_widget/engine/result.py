"""The one result type every method returns: head scores, optional edge scores, timings.

The discrete-SAE method, every baseline and every trivial score produce a
``CircuitResult``; widgets and charts read nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..tasks.task import Head


@dataclass
class CircuitResult:
    """Scores of every attention head (and head pair) for one task and one method.

    Attributes:
        method: the method's short name ("sae", "eap", "acdc", ...).
        node_scores: ``[n_layers, n_heads]``, higher = more likely in the circuit.
        edge_scores: ``[n_heads_total, n_heads_total]`` (sender, receiver), heads numbered
            ``layer * n_heads + head``; ``None`` for methods without edges.
        codes: ``[n_prompts, n_heads_total]`` integer SAE codes (discrete SAE only);
            ``-1`` marks a vector with no active SAE feature (no code).
        is_positive: ``[n_prompts]`` True for positive prompts, aligned with ``codes``.
        prompts: the prompt texts, aligned with ``codes``.
        timings: seconds per stage, e.g. {"activations": .., "sae_fit": .., "scores": ..}.
        sae: the fitted SAE (discrete SAE only).
        settings: the settings the method ran with (seed, features, ...).
        task_name: the task's name, when run on a named task.
        extras: anything else a method wants to expose (e.g. ACDC's threshold sweep).
    """

    method: str
    node_scores: np.ndarray
    edge_scores: Optional[np.ndarray] = None
    codes: Optional[np.ndarray] = None
    is_positive: Optional[np.ndarray] = None
    prompts: Optional[list[str]] = None
    timings: dict[str, float] = field(default_factory=dict)
    sae: Any = None
    settings: dict[str, Any] = field(default_factory=dict)
    task_name: Optional[str] = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def n_layers(self) -> int:
        return int(self.node_scores.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.node_scores.shape[1])

    @property
    def seconds(self) -> float:
        """Total wall time of the method, summed over its stages."""
        return float(sum(self.timings.values()))

    def top_heads(self, k: int) -> list[Head]:
        """Up to ``k`` heads that scored above 0, as (layer, head), best first.

        Ranked by ``rank_heads``: node score, ties by the pooled edge score
        (``extras["edge_head_scores"]``, when there is one), then by head index. Heads
        with a score of 0 or less are never listed, so fewer than ``k`` heads come back
        when fewer scored above 0 (``[]`` when none did).
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise TypeError(f"top_heads takes a whole number of heads k >= 0, got {k!r}")
        pooled = self.extras.get("edge_head_scores") if self.extras else None
        return rank_heads(self.node_scores, pooled, int(k))

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, ground_truth, edge_ground_truth=None) -> dict[str, Any]:
        """ROC AUC (node and pooled edge scores), best F1 and precision/recall at the
        ground-truth size, against a set of (layer, head) heads (see ``evaluate``).

        Example:
            >>> result.evaluate(task.ground_truth)["node_auc"]  # doctest: +SKIP
            0.93
        """
        from ..evaluation.metrics import evaluate_scores

        pooled = self.extras.get("edge_head_scores") if self.extras else None
        return evaluate_scores(
            self.node_scores,
            ground_truth,
            edge_head_scores=pooled,
            edge_scores=self.edge_scores,
            edge_ground_truth=edge_ground_truth,
        )

    # ------------------------------------------------------------------ saving

    def to_json(self, path=None, *, include_sae: bool = False) -> str:
        """The result as JSON text (and written to ``path`` if given).

        Arrays become nested lists; the fitted SAE is included only with
        ``include_sae=True``. The text carries ``format_version`` so that a newer file
        is refused with a clear message rather than misread.
        """
        from .serialization import result_to_dict

        text = json.dumps(result_to_dict(self, include_sae=include_sae))
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, path) -> "CircuitResult":
        """Read a result written by ``to_json(path)``: a path (``str`` or ``os.PathLike``;
        a ``str`` is always a path, even ``"[v2] result.json"``) or an open file.

        For JSON text (what ``to_json()`` returns) use ``CircuitResult.loads(text)``.
        Raises ``FileFormatError`` for a missing, truncated or invalid file or a newer
        format version.
        """
        from .serialization import read_json_file, result_from_dict

        return result_from_dict(read_json_file(path, "CircuitResult.loads(text)"))

    @classmethod
    def loads(cls, text) -> "CircuitResult":
        """A result from JSON text written by ``to_json()``; ``FileFormatError`` as ``from_json``."""
        from .serialization import parse_json_text, result_from_dict

        return result_from_dict(parse_json_text(text))


def rank_heads(node_scores: Any, tiebreak: Any = None, k: Optional[int] = None) -> list[Head]:
    """Heads that scored above 0, best first: the one ranking every top-heads list uses.

    Order: ``node_scores`` (``[n_layers, n_heads]``) from high to low; equal scores by
    ``tiebreak`` (same shape, e.g. the pooled edge scores) from high to low, then by head
    index (``layer * n_heads + head``). Heads scoring 0 or less (or NaN) are left out: a
    tie at zero is no evidence, so it is never promoted into a top-k list. ``k`` caps the
    length (``None``: every head above 0).

    Example:
        >>> rank_heads(np.array([[0.0, 2.0], [1.0, 0.0]]), k=5)
        [(0, 1), (1, 0)]
    """
    scores = np.asarray(node_scores, dtype=np.float64)
    if scores.ndim != 2:
        raise ValueError(f"node_scores must be [n_layers, n_heads], got shape {scores.shape}")
    n_heads = scores.shape[1]
    flat = scores.reshape(-1)
    second = np.zeros_like(flat) if tiebreak is None else np.nan_to_num(
        np.asarray(tiebreak, dtype=np.float64).reshape(-1), nan=-np.inf
    )
    if second.shape != flat.shape:
        raise ValueError(f"tiebreak must have the shape of node_scores {scores.shape}, got {np.shape(tiebreak)}")
    positive = np.flatnonzero(flat > 0)  # NaN > 0 is False
    order = positive[np.lexsort((positive, -second[positive], -flat[positive]))]
    if k is not None:
        order = order[: int(k)]
    return [(int(i) // n_heads, int(i) % n_heads) for i in order]
