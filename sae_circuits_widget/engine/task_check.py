"""Does the model do the task on these prompts? A check run before believing a circuit.

A circuit is the mechanism behind a behaviour. If the model does not have the behaviour
on the positives (it fails them), or still has it on the negatives (they do not remove
what the task needs), the heads that tell positives from negatives are not a circuit for
that behaviour, and the ranking is noise presented as a finding. ``check_task`` runs the
model once on every prompt and reads the next-token logits at the final position:

- **with token sets** (built-in tasks: ``Task.correct_ids`` / ``incorrect_ids``): the
  logit difference is ``Task.metric`` (mean logit of the correct tokens minus mean of
  the incorrect ones); a negative is scored with the token sets of its paired positive.
  A prompt is *solved* when its logit difference is above 0; on negatives that carry no
  information the sign is a coin toss, so chance is 1/2.
- **with answers only** (one answer word per positive): the logit difference is the
  answer's logit minus the largest other logit, so it is above 0 exactly when the answer
  is the model's top-1 token; a negative of the same index is scored with that answer.
  Answers the model never predicts on any positive are named.
- **without answers**: nothing says what the model should predict. The check reports
  the top-1 token and its margin over the runner-up per prompt and warns that it cannot
  tell whether the model does a task at all.

Warnings (also in ``CircuitResult.warnings``) when fewer than ``MIN_SOLVED`` of the
positives are solved, or more than ``MAX_NEGATIVES_SOLVED`` of the negatives are.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> from sae_circuits_widget.tasks import get_task
    >>> model = tiny_model()
    >>> check = check_task(model, get_task("ioi", model, n=4))
    >>> check.n_positives, len(check.prompts)
    (4, 8)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import torch

from ..interventions.hooks import final_logits, model_device, padded_prompts
from ..tasks.task import Task
from .result import MAX_NEGATIVES_SOLVED, PromptBehaviour, TaskCheck

MIN_SOLVED = 0.8
"""Warn when the model solves fewer than this share of the positives (``MAX_NEGATIVES_SOLVED``,
the bound on the negatives, lives beside ``TaskCheck`` in ``result``)."""


@torch.no_grad()
def _final_logits(model: Any, prompts: Sequence[str]) -> torch.Tensor:
    """Next-token logits at each prompt's final position, ``[n, d_vocab]`` (right-padded batches)."""
    out = []
    for start in range(0, len(prompts), 64):
        tokens, last = padded_prompts(model, prompts[start : start + 64])
        out.append(final_logits(model(tokens.to(model_device(model))), last.to(model_device(model))).float().cpu())
    return torch.cat(out)


def _token_ids(model: Any, answer: str) -> tuple[int, ...]:
    return tuple(int(i) for i in model.to_tokens(answer, prepend_bos=False)[0].tolist())


def check_task(
    model: Any,
    task: Optional[Task] = None,
    *,
    positives: Optional[Sequence[str]] = None,
    negatives: Optional[Sequence[str]] = None,
    answers: Optional[Sequence[str]] = None,
) -> TaskCheck:
    """Run the model on every prompt and say whether it does the task (see the module doc).

    Give a ``Task`` (its token sets or answers are used), or ``positives`` and
    ``negatives`` with optional ``answers`` (one per positive, each a single token; the
    prompt checks of ``discover`` make sure of that).
    """
    if task is not None:
        positives, negatives = task.positives, task.negatives
        answers = task.answers if answers is None else answers
    pos, neg = list(positives or []), list(negatives or [])
    logits = _final_logits(model, pos + neg)
    probs = logits.softmax(-1)
    top = logits.argmax(-1)
    top_text = [model.to_string(torch.tensor([int(i)])) for i in top.tolist()]

    if task is not None and task.correct_ids is not None and task.incorrect_ids is not None:  # task.has_metric
        kind = "token sets"
        rows = list(range(len(pos))) + [i % max(1, task.n_pairs) for i in range(len(neg))]
        diffs = task.metric(logits, rows=rows).tolist()
        p_answer = [float(probs[i, list(task.correct_ids[r])].sum()) for i, r in enumerate(rows)]
        solved: list[Optional[bool]] = [d > 0 for d in diffs]
    elif answers:
        kind = "answers"
        ids = [_token_ids(model, a)[0] for a in answers]
        rows = list(range(len(pos))) + [i if i < len(ids) else None for i in range(len(neg))]
        diffs, p_answer, solved = [], [], []
        for i, r in enumerate(rows):
            if r is None:  # a negative without a paired positive: nothing to score it with
                second = logits[i].topk(2).values
                diffs.append(float(second[0] - second[1]))
                p_answer.append(None)
                solved.append(None)
                continue
            others = logits[i].clone()
            others[ids[r]] = -float("inf")
            diffs.append(float(logits[i, ids[r]] - others.max()))
            p_answer.append(float(probs[i, ids[r]]))
            solved.append(int(top[i]) == ids[r])
    else:
        kind = "no answers"
        second = logits.topk(2, dim=-1).values
        diffs = (second[:, 0] - second[:, 1]).tolist()
        p_answer = [None] * len(diffs)
        solved = [None] * len(diffs)

    sides = ["positive"] * len(pos) + ["negative"] * len(neg)
    behaviour = tuple(
        PromptBehaviour(prompt=p, side=s, top_token=t, p_answer=a, logit_diff=float(d), solved=v)
        for p, s, t, a, d, v in zip(pos + neg, sides, top_text, p_answer, diffs, solved)
    )
    pos_known = [b.solved for b in behaviour[: len(pos)] if b.solved is not None]
    neg_known = [b.solved for b in behaviour[len(pos) :] if b.solved is not None]
    pos_share = sum(pos_known) / len(pos_known) if pos_known else None
    neg_share = sum(neg_known) / len(neg_known) if neg_known else None

    never: tuple[str, ...] = ()
    if kind == "answers" and answers:
        predicted = {b.top_token for b in behaviour[: len(pos)]}
        never = tuple(sorted({a for a in answers if a not in predicted and a.strip() not in {p.strip() for p in predicted}}))

    notes = []
    if kind == "no answers":
        notes.append(
            "no answers given, so nothing checks that the model does a task on these prompts: "
            "pass answers=[...] (the expected next word of each positive) to check it"
        )
    if pos_share is not None and pos_share < MIN_SOLVED:
        notes.append(
            f"the model solves only {sum(pos_known)}/{len(pos_known)} positives: a circuit for a "
            "behaviour the model does not have is noise; use prompts the model gets right"
        )
    if neg_share is not None and neg_share > MAX_NEGATIVES_SOLVED:
        notes.append(
            f"the model still solves {sum(neg_known)}/{len(neg_known)} negatives: they do not "
            "remove what the task needs, so positives and negatives differ in something else"
        )
    if never:
        shown = ", ".join(repr(a) for a in never[:5]) + (f" and {len(never) - 5} more" if len(never) > 5 else "")
        notes.append(f"the model never predicts the answer(s) {shown} on any positive")
    return TaskCheck(
        kind=kind, n_positives=len(pos), n_negatives=len(neg), positives_solved=pos_share,
        negatives_solved=neg_share, never_predicted=never, prompts=behaviour, warnings=tuple(notes),
    )
