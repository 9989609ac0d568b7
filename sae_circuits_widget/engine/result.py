"""The one result type every method returns: head scores, optional edge scores, timings.

The discrete-SAE method, every baseline and every trivial score produce a
``CircuitResult``; widgets and charts read nothing else.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from ..heads import Head, head_at

if TYPE_CHECKING:  # for annotations only: the result type loads without torch
    from .sae import DiscreteSAE
    from .task_check import TaskCheck


STABILITY_K = 5
"""The top-k of the stability figure: how often a head is among an SAE's 5 best heads."""


@dataclass
class SAERun:
    """What the discrete-SAE method records beside its scores (``CircuitResult.sae_run``).

    Attributes:
        n_saes: SAEs in the ensemble (each fit with its own seed).
        member_node_scores: ``[n_saes, n_layers, n_heads]``, each SAE's node scores; the
            result's ``node_scores`` are their mean.
        train_rows: prompt rows the first SAE was fit on (``None`` for a given SAE).
        all_train_rows: every row some SAE of the ensemble was fit on, sorted.
        source: ``"fit"``, ``"cache"`` (every SAE from the session's cache) or ``"given"``.
        n_codes: distinct codes of the first SAE.
        n_silent_vectors: head outputs of the first SAE with no active feature (code -1).
        silent_fraction: share of head outputs with no active feature, mean over SAEs.
        epochs: training epochs of the first SAE; ``final_loss`` its last loss.
        preview: True for a preview encoded with an earlier SAE (``Session.preview``).
    """

    n_saes: int
    member_node_scores: np.ndarray
    train_rows: Optional[list[int]] = None
    all_train_rows: Optional[list[int]] = None
    source: str = "fit"
    n_codes: int = 0
    n_silent_vectors: int = 0
    silent_fraction: float = 0.0
    epochs: int = 0
    final_loss: Optional[float] = None
    preview: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["member_node_scores"] = np.asarray(self.member_node_scores, dtype=np.float64).tolist()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SAERun":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["member_node_scores"] = np.asarray(values["member_node_scores"], dtype=np.float64)
        return cls(**values)


def stability(member_node_scores: np.ndarray, k: int = STABILITY_K) -> np.ndarray:
    """Per head, the share of the ensemble's SAEs that rank it in their top ``k``.

    Each SAE's top ``k`` is its ``rank_heads`` list (heads scoring above 0 only), so a
    head that no SAE scores gets 0, and a head every SAE ranks among its best ``k`` gets
    1. ``member_node_scores`` is ``[n_saes, n_layers, n_heads]``.

    Example:
        >>> stability(np.array([[[2.0, 1.0]], [[0.0, 3.0]]]), k=1)
        array([[0.5, 0.5]])
    """
    scores = np.asarray(member_node_scores, dtype=np.float64)
    share = np.zeros(scores.shape[1:])
    for member in scores:
        for layer, head in rank_heads(member, k=k):
            share[layer, head] += 1
    return share / len(scores)


@dataclass
class CircuitResult:
    """Scores of every attention head (and head pair) for one task and one method.

    Attributes:
        method: the method's short name ("sae", "eap", "acdc", ...).
        node_scores: ``[n_layers, n_heads]``, higher = more likely in the circuit.
        edge_scores: ``[n_heads_total, n_heads_total]`` (sender, receiver), heads numbered
            ``layer * n_heads + head``; ``None`` for methods without edges.
        edge_head_scores: ``[n_layers, n_heads]``, the edge scores pooled per head (the
            tie-break of ``top_heads``); ``None`` without edges.
        codes: ``[n_prompts, n_heads_total]`` integer SAE codes (discrete SAE only);
            ``-1`` marks a vector with no active SAE feature (no code).
        is_positive: ``[n_prompts]`` True for positive prompts, aligned with ``codes``.
        prompts: the prompt texts, aligned with ``codes``.
        timings: seconds per stage, e.g. {"activations": .., "sae_fit": .., "scores": ..}.
        sae: the fitted SAE (discrete SAE only; the first SAE of an ensemble).
        sae_run: what the discrete-SAE method records beside its scores (``SAERun``).
        stability: ``[n_layers, n_heads]``, the share of the ensemble's SAEs whose top
            ``STABILITY_K`` heads include the head; ``None`` for a single SAE.
        task_check: whether the model does the task on these prompts (``TaskCheck``).
        warnings: things the user should know before believing the ranking.
        settings: the settings the method ran with (seed, features, ...).
        task_name: the task's name, when run on a named task.
        extras: what a baseline exposes beyond scores (e.g. ACDC's threshold sweep).
    """

    method: str
    node_scores: np.ndarray
    edge_scores: Optional[np.ndarray] = None
    codes: Optional[np.ndarray] = None
    is_positive: Optional[np.ndarray] = None
    prompts: Optional[list[str]] = None
    timings: dict[str, float] = field(default_factory=dict)
    sae: Optional["DiscreteSAE"] = None
    settings: dict[str, Any] = field(default_factory=dict)
    task_name: Optional[str] = None
    extras: dict[str, Any] = field(default_factory=dict)
    edge_head_scores: Optional[np.ndarray] = None
    sae_run: Optional[SAERun] = None
    stability: Optional[np.ndarray] = None
    task_check: Optional["TaskCheck"] = None
    warnings: list[str] = field(default_factory=list)

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
        (``edge_head_scores``, when there is one), then by head index. Heads
        with a score of 0 or less are never listed, so fewer than ``k`` heads come back
        when fewer scored above 0 (``[]`` when none did).
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise TypeError(f"top_heads takes a whole number of heads k >= 0, got {k!r}")
        return rank_heads(self.node_scores, self.edge_head_scores, int(k))

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, ground_truth, edge_ground_truth=None) -> dict[str, Any]:
        """ROC AUC (node and pooled edge scores), best F1 and precision/recall at the
        ground-truth size, against a set of (layer, head) heads (see ``evaluate``).

        Example:
            >>> result.evaluate(task.ground_truth)["node_auc"]  # doctest: +SKIP
            0.93
        """
        from ..evaluation.metrics import evaluate_scores

        return evaluate_scores(
            self.node_scores,
            ground_truth,
            edge_head_scores=self.edge_head_scores,
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
    return [head_at(i, n_heads) for i in order]
