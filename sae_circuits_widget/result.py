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

from .task import Head


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
        """The ``k`` highest-scoring heads as (layer, head), best first (ties by index)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise TypeError(f"top_heads takes a whole number of heads k >= 0, got {k!r}")
        flat = self.node_scores.reshape(-1)
        order = np.argsort(-flat, kind="stable")[:k]
        return [(int(i) // self.n_heads, int(i) % self.n_heads) for i in order]

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, ground_truth, edge_ground_truth=None) -> dict[str, Any]:
        """ROC AUC (node and pooled edge scores), best F1 and precision/recall at the
        ground-truth size, against a set of (layer, head) heads (see ``evaluate``).

        Example:
            >>> result.evaluate(task.ground_truth)["node_auc"]  # doctest: +SKIP
            0.93
        """
        from .evaluate import evaluate_scores

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
    def from_json(cls, text_or_path) -> "CircuitResult":
        """Read a result written by ``to_json`` (a JSON string or a file path).

        Raises ``FileFormatError`` for a truncated/invalid file or a newer format version.
        """
        from .serialization import read_json_text, result_from_dict

        return result_from_dict(read_json_text(text_or_path))
