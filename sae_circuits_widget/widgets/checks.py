"""The explorer's trust checks, kept per result: which scores the grid shows and how to judge them.

A ranking of heads is a claim. Beside the SAE's node scores the explorer offers four
ways to judge it, all computed by the engine's live package (``live.opinions``); this
module only asks for them once per result (or once per set of prompts, where the
result does not matter), keeps the answers, and turns a refusal into the one line the
page shows:

* ``scores(kind)``: what the grid draws for ``score_kind``: the SAE node scores, ``1 -
  overlap`` (so that heads whose positive codes never occur on negatives are the bright
  ones), EAP pooled per head, the output-difference norm, or the SAE edge scores pooled
  per head;
* ``agreement(k)``: Spearman and top-k overlap between the SAE ranking and EAP;
* ``curve(kind)``: faithfulness over k of the ranking on screen (the top-k heads kept,
  every other head mean-ablated); every k from 0 to the number of heads when there are
  at most ``FULL_CURVE_HEADS`` (one batched pass), so moving k needs no new forward pass;
* ``edges()``, ``edge_pairs(i)``: the strongest head -> head edges and the code pairs
  behind one.

EAP and faithfulness need a logit difference (``live.opinions.metric_task``): a task
preset's own prompts, or an answer for every positive. Without one the explorer shows
``needs_answers`` instead of a number. Every model call goes under the live session's
model lock; the caller holds it.

Example:
    >>> checks = Checks(model)                                          # doctest: +SKIP
    >>> checks.use(result, positives, negatives, answers=None, task=task)  # doctest: +SKIP
    >>> checks.scores("overlap")[1]                                    # doctest: +SKIP
    '1 − code overlap ...'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from ..engine.result import CircuitResult
from ..errors import SaeCircuitsError
from ..live import opinions
from ..live.session import failure_message
from ..tasks.task import Task
from ._common import edge_head_scores

SCORE_KINDS = ("sae", "overlap", "eap", "output_diff_norm", "edge")
"""What the grid can show (``CircuitExplorer.score_kind``)."""

LABELS = {
    "sae": "SAE node score: codes unique to the positives",
    "overlap": "1 − code overlap (Jaccard of positive and negative codes): bright = task-specific",
    "eap": "EAP: attribution of the head's outgoing edges (summed)",
    "output_diff_norm": "‖mean head output on positives − on negatives‖",
    "edge": "SAE edge score pooled per head",
}
"""The grid's legend for each score kind."""

FULL_CURVE_HEADS = 64
"""Up to this many heads the faithfulness curve has every k (one batched pass)."""

NEEDS_ANSWERS = (
    "needs answers: give an answer for every positive (the box under each prompt), or use a "
    "task preset's own prompts"
)
"""Why EAP and faithfulness are missing for prompts without answers."""


def _one_line(exc: BaseException) -> str:
    """A refusal of the engine as one line (its own message for package errors)."""
    if isinstance(exc, (SaeCircuitsError, ValueError)):
        return " ".join(str(exc).split()) or type(exc).__name__
    return failure_message(exc)


class Checks:
    """The trust checks of the result on screen, computed once each and kept."""

    def __init__(self, model: Any):
        self.model = model
        self.result: Optional[CircuitResult] = None
        self._prompts_key: Optional[tuple] = None
        self._per_prompts: dict[Any, Any] = {}  # metric, eap, output_diff_norm (and their curves): the prompts only
        self._per_result: dict[Any, Any] = {}  # curves of result-dependent rankings

    # ------------------------------------------------------------------ inputs

    def use(
        self, result: CircuitResult, positives: Sequence[str], negatives: Sequence[str], *,
        answers: Optional[Sequence[str]], task: Optional[Task], position: str,
    ) -> None:
        """Judge ``result`` from now on (of these prompts, answers, task and position)."""
        key = (tuple(positives), tuple(negatives), None if answers is None else tuple(answers),
               None if task is None else id(task), position)
        if key != self._prompts_key:
            self._prompts_key, self._per_prompts = key, {}
            self._positives, self._negatives = list(positives), list(negatives)
            self._answers = None if answers is None else list(answers)
            self._task, self._position = task, position
        if result is not self.result:
            self.result, self._per_result = result, {}

    @property
    def n_heads_total(self) -> int:
        """Heads of the model (the largest k)."""
        return int(self.model.cfg.n_layers) * int(self.model.cfg.n_heads)

    # ------------------------------------------------------------------ the metric and second opinions

    def metric(self) -> tuple[Optional[Task], str]:
        """``(task whose metric EAP and faithfulness use, "")`` or ``(None, why not)``."""
        if "metric" not in self._per_prompts:
            try:
                task = opinions.metric_task(self.model, self._positives, self._negatives, self._answers, self._task)
                self._per_prompts["metric"] = (task, "" if task is not None else NEEDS_ANSWERS)
            except Exception as exc:  # noqa: BLE001 - a refusal becomes the note the page shows
                self._per_prompts["metric"] = (None, _one_line(exc))
        return self._per_prompts["metric"]

    def has_eap(self) -> bool:
        """True once EAP was tried on these prompts (its scores or its refusal are kept)."""
        return "eap" in self._per_prompts

    def second(self, kind: str) -> tuple[Optional[CircuitResult], str]:
        """``second_opinion(kind)`` on these prompts, or ``(None, why not)``; kept per prompt set."""
        if kind not in self._per_prompts:
            try:
                found = opinions.second_opinion(
                    self.model, kind, positives=self._positives, negatives=self._negatives,
                    answers=self._answers, task=self._task, position=self._position,
                )
                self._per_prompts[kind] = (found, "")
            except Exception as exc:  # noqa: BLE001 - the grid shows the reason instead
                self._per_prompts[kind] = (None, _one_line(exc))
        return self._per_prompts[kind]

    # ------------------------------------------------------------------ what the grid shows

    def scores(self, kind: str, *, compute: bool = True) -> tuple[Optional[np.ndarray], str, str]:
        """``(scores [n_layers, n_heads] or None, legend label, note)`` for ``score_kind``.

        ``compute=False`` answers only from what is kept (EAP may take a second): the
        note then says it is being computed.
        """
        r = self.result
        if r is None:
            return None, LABELS.get(kind, kind), "no result yet"
        if kind == "sae":
            return np.asarray(r.node_scores, dtype=np.float64), LABELS["sae"], ""
        if kind == "overlap":
            try:
                return 1.0 - opinions.overlap_scores(r), LABELS["overlap"], ""
            except ValueError as exc:
                return None, LABELS["overlap"], _one_line(exc)
        if kind == "edge":
            pooled = edge_head_scores(r)
            if pooled is None:
                return None, LABELS["edge"], "this run has no edge scores"
            return np.asarray(pooled, dtype=np.float64).reshape(r.n_layers, r.n_heads), LABELS["edge"], ""
        if kind in opinions.SECOND_OPINIONS:
            if not compute and kind not in self._per_prompts:
                return None, LABELS[kind], f"computing {'EAP' if kind == 'eap' else 'the output-difference norm'} for these prompts…"
            found, note = self.second(kind)
            if found is None:
                return None, LABELS[kind], note
            return np.asarray(found.node_scores, dtype=np.float64), LABELS[kind], "; ".join(found.warnings)
        raise ValueError(f"unknown score kind {kind!r}; choose one of {', '.join(SCORE_KINDS)}")

    def tiebreak(self, kind: str) -> Optional[np.ndarray]:
        """Ties of the SAE ranking go by the pooled edge scores, as ``result.top_heads`` does."""
        if kind == "sae" and self.result is not None:
            return self.result.edge_head_scores
        return None

    # ------------------------------------------------------------------ judging the ranking

    def agreement(self, k: int, *, compute: bool = True) -> tuple[dict[str, float], str]:
        """``({"spearman", "top_k_overlap"}, "")`` of the SAE ranking and EAP, or ``({}, why not)``."""
        if self.result is None:
            return {}, ""
        if not compute and not self.has_eap():
            return {}, "comparing with EAP…"
        eap, note = self.second("eap")
        if eap is None:
            return {}, f"no agreement with EAP: {note}"
        return opinions.agreement(self.result.node_scores, eap.node_scores, k=max(1, int(k))), ""

    def curve(self, kind: str, k: int) -> tuple[Optional[tuple[list[int], list[float]]], str]:
        """Faithfulness over k of the ``kind`` ranking, with ``k`` among the ks, or ``(None, why not)``."""
        if self.result is None:
            return None, ""
        metric, why = self.metric()
        if metric is None:
            return None, f"faithfulness {why}"
        key = ("curve", kind)
        store = self._per_prompts if kind in opinions.SECOND_OPINIONS else self._per_result
        found = store.get(key)
        if found is not None and (found[0] is None or k in found[0][0]):
            return found
        scores, _, note = self.scores(kind)
        if scores is None:
            found = (None, f"no faithfulness: {note}")
        else:
            total = self.n_heads_total
            ks = list(range(total + 1)) if total <= FULL_CURVE_HEADS else None
            try:
                xs, ys = opinions.faithfulness_curve(self.model, metric, scores, ks, tiebreak=self.tiebreak(kind))
                if k not in xs:  # a large model: the default ks, and this k beside them
                    extra = opinions.faithfulness(self.model, metric, scores, k, tiebreak=self.tiebreak(kind))
                    pairs = sorted({**dict(zip(xs, ys)), k: extra}.items())
                    xs, ys = [a for a, _ in pairs], [b for _, b in pairs]
                found = ((list(xs), [float(y) for y in ys]), "")
            except Exception as exc:  # noqa: BLE001 - e.g. prompts the model does not solve
                found = (None, f"no faithfulness: {_one_line(exc)}")
        store[key] = found
        return found

    def faithfulness(self, kind: str, k: int) -> tuple[Optional[float], str]:
        """The fraction of the logit difference the top-``k`` heads of ``kind`` keep, or ``(None, why not)``."""
        found, note = self.curve(kind, k)
        if found is None:
            return None, note
        xs, ys = found
        return ys[xs.index(k)], ""

    # ------------------------------------------------------------------ edges

    def edges(self, n: int = 10) -> tuple[list[dict[str, Any]], str]:
        """The ``n`` strongest head -> head edges (JSON-ready), or ``([], why none)``."""
        r = self.result
        if r is None:
            return [], ""
        if r.edge_scores is None:
            return [], "this run has no edge scores"
        found = opinions.top_edges(r, n)
        rows = [{"sender": list(e["sender"]), "receiver": list(e["receiver"]), "score": float(e["score"])} for e in found]
        return rows, "" if rows else "no edge scored above 0"

    def edge_pairs(self, edge: dict[str, Any]) -> list[dict[str, int]]:
        """The code pairs behind ``edge`` (an entry of ``edges()``)."""
        if self.result is None or self.result.codes is None:
            return []
        return opinions.edge_code_pairs(self.result, tuple(edge["sender"]), tuple(edge["receiver"]))
