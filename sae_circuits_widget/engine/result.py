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

from ..errors import FileFormatError
from ..evaluation.metrics import evaluate_scores
from ..heads import Head, head_at
from .serialization import FORMAT_VERSION, array_or_none, check_header, jsonable, parse_json_text, read_json_file
from .validation import check_result_arrays

if TYPE_CHECKING:  # for annotations only: the result type loads without torch
    from .sae import DiscreteSAE


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


MAX_NEGATIVES_SOLVED = 0.75
"""The task check warns when the model still solves more than this share of the negatives
(chance: 1/2 with token sets, about 1/candidates with answers)."""


@dataclass(frozen=True)
class PromptBehaviour:
    """What the model does on one prompt (one row of ``TaskCheck.prompts``)."""

    prompt: str
    side: str  # "positive" or "negative"
    top_token: str
    p_answer: Optional[float]  # probability of the answer token(s); None without answers
    logit_diff: float
    solved: Optional[bool]  # None when nothing says what the model should predict


@dataclass(frozen=True)
class TaskCheck:
    """Whether the model does the task: shares solved per side, per-prompt behaviour, warnings."""

    kind: str  # "token sets", "answers" or "no answers"
    n_positives: int
    n_negatives: int
    positives_solved: Optional[float]
    negatives_solved: Optional[float]
    never_predicted: tuple[str, ...] = ()
    prompts: tuple[PromptBehaviour, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when nothing was found that makes the ranking doubtful."""
        return not self.warnings

    def summary(self) -> str:
        """One line, e.g. ``"11/12 positives solved; negatives at chance (5/12)"``."""
        if self.positives_solved is None:
            return "no answers given: the check cannot tell whether the model does a task here"
        pos = round(self.positives_solved * self.n_positives)
        text = f"{pos}/{self.n_positives} positives solved"
        if self.negatives_solved is not None:
            neg = round(self.negatives_solved * self.n_negatives)
            state = "still solved" if self.negatives_solved > MAX_NEGATIVES_SOLVED else "at chance"
            text += f"; negatives {state} ({neg}/{self.n_negatives})"
        return text

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["never_predicted"] = list(self.never_predicted)
        d["warnings"] = list(self.warnings)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TaskCheck":
        rows = tuple(PromptBehaviour(**r) for r in data.get("prompts") or ())
        return cls(
            kind=str(data["kind"]), n_positives=int(data["n_positives"]), n_negatives=int(data["n_negatives"]),
            positives_solved=data.get("positives_solved"), negatives_solved=data.get("negatives_solved"),
            never_predicted=tuple(data.get("never_predicted") or ()), prompts=rows,
            warnings=tuple(data.get("warnings") or ()),
        )



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
        return evaluate_scores(
            self.node_scores,
            ground_truth,
            edge_head_scores=self.edge_head_scores,
            edge_scores=self.edge_scores,
            edge_ground_truth=edge_ground_truth,
        )

    # ------------------------------------------------------------------ saving

    def to_dict(self, *, include_sae: bool = False) -> dict[str, Any]:
        """The result as plain JSON types, with the file format's header (see ``to_json``)."""
        sae_state = self.sae.state() if include_sae and self.sae is not None else None
        return {
            "format": "sae-circuits/result",
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "node_scores": array_or_none(self.node_scores),
            "edge_scores": array_or_none(self.edge_scores),
            "edge_head_scores": array_or_none(self.edge_head_scores),
            "codes": array_or_none(self.codes),
            "is_positive": array_or_none(self.is_positive),
            "prompts": self.prompts,
            "timings": jsonable(self.timings),
            "settings": jsonable(self.settings),
            "task_name": self.task_name,
            "sae_run": None if self.sae_run is None else self.sae_run.to_dict(),
            "stability": array_or_none(self.stability),
            "task_check": None if self.task_check is None else self.task_check.to_dict(),
            "warnings": list(self.warnings),
            "extras": jsonable(self.extras),
            "sae": sae_state,
        }

    @classmethod
    def from_dict(cls, data: Any) -> "CircuitResult":
        """A result from ``to_dict``'s output; ``FileFormatError`` for a damaged one."""
        check_header(data, "result")
        extras = dict(data.get("extras") or {}) if isinstance(data.get("extras"), dict) else {}
        # version 1 kept the pooled edge scores and the warnings in extras
        pooled = data.get("edge_head_scores", extras.pop("edge_head_scores", None))
        notes = data.get("warnings", extras.pop("warnings", []))
        check_result_arrays(
            data.get("node_scores"), data.get("edge_scores"), data.get("codes"), data.get("is_positive"),
            data.get("prompts"), pooled,
        )
        try:
            sae = None
            if data.get("sae") is not None:
                from .sae import DiscreteSAE  # torch is needed only to rebuild a saved SAE

                sae = DiscreteSAE.from_state(data["sae"])
            stable = None if data.get("stability") is None else np.asarray(data["stability"], dtype=np.float64)
            node = np.asarray(data["node_scores"], dtype=np.float64)
            if stable is not None and stable.shape != node.shape:
                raise ValueError(f"stability has shape {stable.shape}, node_scores {node.shape}")
            return cls(
                method=data["method"],
                node_scores=node,
                edge_scores=None if data.get("edge_scores") is None else np.asarray(data["edge_scores"], dtype=np.float64),
                edge_head_scores=None if pooled is None else np.asarray(pooled, dtype=np.float64),
                codes=None if data.get("codes") is None else np.asarray(data["codes"], dtype=np.int64),
                is_positive=None if data.get("is_positive") is None else np.asarray(data["is_positive"], dtype=bool),
                prompts=data.get("prompts"),
                timings=dict(data.get("timings") or {}),
                sae=sae,
                sae_run=None if data.get("sae_run") is None else SAERun.from_dict(data["sae_run"]),
                stability=stable,
                task_check=None if data.get("task_check") is None else TaskCheck.from_dict(data["task_check"]),
                warnings=[str(w) for w in notes],
                settings=dict(data.get("settings") or {}),
                task_name=data.get("task_name"),
                extras=extras,
            )
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # RuntimeError: SAE weights of the wrong shape
            first = (str(exc).strip().splitlines() or [""])[0]
            raise FileFormatError(
                f"the saved result is incomplete or damaged ({type(exc).__name__}: {first}); "
                "save it again from the notebook"
            ) from None

    def to_json(self, path=None, *, include_sae: bool = False) -> str:
        """The result as JSON text (and written to ``path`` if given).

        Arrays become nested lists; the fitted SAE is included only with
        ``include_sae=True``. The text carries ``format_version`` so that a newer file
        is refused with a clear message rather than misread.
        """
        text = json.dumps(self.to_dict(include_sae=include_sae))
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
        return cls.from_dict(read_json_file(path, "CircuitResult.loads(text)"))

    def to_html(self, path=None, *, ground_truth=None, title: Optional[str] = None) -> str:
        """One self-contained HTML page of the result, returned and written to ``path`` if
        given: the prompts with the task check, the grid with ``ground_truth`` outlined, the
        top heads with their stability, the settings, timings and charts. Opening it needs
        no network (``evaluation.report.write_html``).

        Example:
            >>> result.to_html("report.html", ground_truth=task.ground_truth)  # doctest: +SKIP
        """
        from ..evaluation.report import write_html  # reads the result duck-typed: no import cycle

        return write_html(self, path, ground_truth=ground_truth, title=title)

    @classmethod
    def loads(cls, text) -> "CircuitResult":
        """A result from JSON text written by ``to_json()``; ``FileFormatError`` as ``from_json``."""
        return cls.from_dict(parse_json_text(text))


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
    if tiebreak is None:
        second = np.zeros_like(flat)
    else:
        second = np.nan_to_num(np.asarray(tiebreak, dtype=np.float64).reshape(-1), nan=-np.inf)
        if second.shape != flat.shape:
            raise ValueError(f"tiebreak must have the shape of node_scores {scores.shape}, got {np.shape(tiebreak)}")
    positive = np.flatnonzero(flat > 0)  # NaN > 0 is False
    order = positive[np.lexsort((positive, -second[positive], -flat[positive]))]
    if k is not None:
        order = order[: int(k)]
    return [head_at(i, n_heads) for i in order]
