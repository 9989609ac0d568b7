"""The task: positive prompts, matched negatives, and how to score the model on them.

A *positive* prompt carries the information the model needs to predict the next token;
its matched *negative* has the same template with that information removed. Circuit
discovery compares what every attention head does on the two sets.

The task metric is a logit difference at the final position: the mean logit of the
tokens counted as correct minus the mean logit of the tokens counted against. IOI counts
the indirect object against the subject; greater-than counts every year above the start
year against every year at or below it. Negatives reuse their positive's token sets, so
the metric on a negative shows how much of the behaviour is left without the information.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
from jaxtyping import Float
from torch import Tensor

from ..heads import Head


@dataclass(frozen=True)
class Task:
    """Prompt pairs for circuit discovery, with answers and, when known, the true circuit.

    Example:
        >>> task = Task("toy", positives=["a b a"], negatives=["a b c"])
        >>> task.n_pairs
        1
    """

    name: str
    positives: list[str]
    negatives: list[str]
    answers: Optional[list[str]] = None
    """The canonical correct next token of each positive (e.g. " Mary"), for display."""
    correct_ids: Optional[list[tuple[int, ...]]] = None
    """Per positive, the token ids the metric counts as correct."""
    incorrect_ids: Optional[list[tuple[int, ...]]] = None
    """Per positive, the token ids the metric counts against."""
    ground_truth: Optional[frozenset[Head]] = None
    """The heads of the known circuit, when one is known for this model."""
    edge_ground_truth: Optional[frozenset[tuple[Head, Head]]] = None
    """Known (sender, receiver) head pairs of the circuit, when known."""
    description: str = ""
    meta: dict = field(default_factory=dict)
    ground_truths: Optional[dict[str, frozenset[Head]]] = None
    """Every known definition of the circuit, by name -> heads, when more than one is known.

    For the organism: ``"mean_ablation"`` (heads outside the circuit mean-ablated; the same
    set as ``ground_truth``) and ``"patching"`` (heads outside the circuit take their output
    on the matched negative, as the published circuits were found; the set a method that
    compares positives with negatives can recover)."""
    edge_ground_truths: Optional[dict[str, frozenset[tuple[Head, Head]]]] = None
    """Known (sender, receiver) head pairs per definition, named as in ``ground_truths``."""

    @property
    def n_pairs(self) -> int:
        return min(len(self.positives), len(self.negatives))

    @property
    def has_metric(self) -> bool:
        return self.correct_ids is not None and self.incorrect_ids is not None

    def metric(
        self, final_logits: Float[Tensor, "batch d_vocab"], rows: Optional[list[int]] = None
    ) -> Float[Tensor, " batch"]:
        """Logit difference per prompt: mean logit of correct ids minus mean of incorrect ids.

        ``rows[i]`` names the positive whose token sets score row ``i`` of ``final_logits``
        (default: row i scores positive i), so a batch of negatives is scored with the
        token sets of the positives they are paired with.
        """
        if self.correct_ids is None or self.incorrect_ids is None:  # not self.has_metric
            raise ValueError(
                f"task {self.name!r} has no answer tokens, so it has no metric; "
                "give answers (correct and incorrect token ids) to use metric-based methods"
            )
        rows = list(range(final_logits.shape[0])) if rows is None else rows
        out = []
        for i, r in enumerate(rows):
            good = final_logits[i, list(self.correct_ids[r])].mean()
            bad = final_logits[i, list(self.incorrect_ids[r])].mean()
            out.append(good - bad)
        return torch.stack(out)
