"""The one result type every method returns: head scores, optional edge scores, timings.

The discrete-SAE method, every baseline and every trivial score produce a
``CircuitResult``; widgets and charts read nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
        flat = self.node_scores.reshape(-1)
        order = np.argsort(-flat, kind="stable")[:k]
        return [(int(i) // self.n_heads, int(i) % self.n_heads) for i in order]
