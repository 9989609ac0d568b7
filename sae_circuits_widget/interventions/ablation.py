"""Ablation measures: the effect of each head, and the faithfulness of a head set.

The score of an intervention is the change in the task's mean logit difference
(:meth:`Task.metric` at the final position, averaged over the positives): negative
values mean the head helps the task. How a head is ablated (mean or resample) is
described in :mod:`.hooks`.

**Faithfulness** of a head set keeps those heads and mean-ablates every other head, and
reports ``mean metric (ablated) / mean metric (clean)``: 1.0 keeps the whole behaviour.
Nothing here needs gradients; everything runs under ``torch.no_grad()``.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> from sae_circuits_widget.tasks import get_task
    >>> model = tiny_model(); task = get_task("ioi", model, n=4)
    >>> ablation_effects(model, task, kind="resample").shape
    (2, 4)
    >>> round(faithfulness(model, task, {(l, h) for l in range(2) for h in range(4)}), 4)
    1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Optional, Union

import numpy as np
import torch
from jaxtyping import Bool, Float
from torch import Tensor

from ..tasks.task import Head, Task
from .hooks import (
    MAX_BATCH_ROWS,
    PerPosition,
    Reference,
    as_heads,
    check_metric,
    chunks,
    final_logits,
    head_z,
    mean_replacement,
    model_device,
    model_dims,
    pair_groups,
    progress_bar,
    run_with_heads_ablated,
)


@torch.no_grad()
def clean_metric(model, task: Task) -> Float[Tensor, " n_pairs"]:
    """The task metric (logit difference) of every positive on the unmodified model."""
    check_metric(task)
    out = torch.zeros(task.n_pairs)
    for idx, pos, _, last in pair_groups(model, task):
        logits = final_logits(model(pos.to(model_device(model))), last)
        out[idx] = task.metric(logits, rows=idx).float().cpu()
    return out


@torch.no_grad()
def metric_under_masks(
    model,
    task: Task,
    masks: Bool[Tensor, "M L H"],
    kind: Literal["mean", "resample"] = "mean",
    *,
    reference: Reference = "both",
    per_position: PerPosition = "auto",
    means: Optional[Tensor] = None,
    progress: bool = False,
    max_batch: int = MAX_BATCH_ROWS,
) -> Float[Tensor, " M"]:
    """Mean metric over the positives for each of ``M`` ablation masks (True = ablate).

    Interventions are stacked along the batch (``M`` copies of each length group, chunked
    to ``max_batch`` rows), so ``M`` masks cost about ``M * n / max_batch`` forwards.
    ``kind="resample"`` takes each ablated head's ``z`` from the paired negative.
    """
    check_metric(task)
    L, H, _ = model_dims(model)
    masks = torch.as_tensor(masks, dtype=torch.bool)
    if masks.ndim != 3 or masks.shape[1:] != (L, H):
        raise ValueError(f"masks must have shape [M, {L}, {H}], got {tuple(masks.shape)}")
    if kind not in ("mean", "resample"):
        raise ValueError(f"kind must be 'mean' or 'resample', got {kind!r}")
    M = masks.shape[0]
    if kind == "mean" and means is None:
        means = mean_replacement(model, task, reference=reference, per_position=per_position)
    sums = torch.zeros(M, dtype=torch.float64)
    groups = pair_groups(model, task)
    plan = []
    for idx, pos, neg, last in groups:
        per = max(1, max_batch // len(idx))
        plan += [(idx, pos, neg, last, ch) for ch in chunks(M, per)]
    z_neg_cache: dict[int, Tensor] = {}
    for idx, pos, neg, last, ch in progress_bar(plan, len(plan), "ablation", progress):
        b, m = len(idx), len(ch)
        toks = pos.repeat(m, 1)  # row r * b + i = intervention ch[r], prompt idx[i]
        row_mask = masks[list(ch)].repeat_interleave(b, dim=0)
        if kind == "resample":
            key = id(neg)
            if key not in z_neg_cache:
                z_neg_cache.clear()
                z_neg_cache[key] = head_z(model, neg)[0]
            rep = z_neg_cache[key].repeat(1, m, 1, 1, 1)
        else:
            assert means is not None  # kind="mean": computed above when not given
            rep = means
        logits = final_logits(run_with_heads_ablated(model, toks, row_mask, rep), last.repeat(m))
        met = task.metric(logits, rows=list(idx) * m).double().cpu().reshape(m, b)
        sums[list(ch)] += met.sum(dim=1)
    return (sums / task.n_pairs).float()


def _one_hot_masks(L: int, H: int) -> Bool[Tensor, "LH L H"]:
    return torch.eye(L * H, dtype=torch.bool).reshape(L * H, L, H)


@torch.no_grad()
def ablation_effects(
    model,
    task: Task,
    kind: Literal["mean", "resample"] = "mean",
    *,
    reference: Reference = "both",
    per_position: PerPosition = "auto",
    progress: bool = False,
    max_batch: int = MAX_BATCH_ROWS,
) -> np.ndarray:
    """Change in the task's mean logit difference when each head alone is ablated: ``[L, H]``.

    ``effect[l, h] = mean_i metric(positive_i, head (l, h) ablated) - mean_i metric(positive_i)``;
    negative = the head supports the behaviour. ``kind="mean"`` uses :func:`mean_replacement`,
    ``kind="resample"`` the paired negative's activation.

    Example:
        >>> ablation_effects(model, task, kind="resample").shape   # doctest: +SKIP
        (4, 8)
    """
    L, H, _ = model_dims(model)
    base = float(clean_metric(model, task).double().mean())
    ablated = metric_under_masks(
        model, task, _one_hot_masks(L, H), kind,
        reference=reference, per_position=per_position, progress=progress, max_batch=max_batch,
    )
    return (ablated.double().numpy() - base).reshape(L, H)


def _keep_masks(L: int, H: int, keeps: Sequence[Iterable[Head]]) -> Bool[Tensor, "M L H"]:
    masks = torch.ones(len(keeps), L, H, dtype=torch.bool)
    for m, heads in enumerate(keeps):
        for layer, h in as_heads(list(heads), L, H, "head"):
            masks[m, layer, h] = False
    return masks


def _ratio(kept: Tensor, base: float, task: Task) -> np.ndarray:
    if abs(base) < 1e-8:
        raise ValueError(
            f"the clean logit difference of task {task.name!r} is {base:.3g}, so the fraction kept "
            "is undefined; faithfulness needs a model that does the task"
        )
    return kept.double().numpy() / base


@torch.no_grad()
def faithfulness(
    model,
    task: Task,
    heads: Iterable[Head],
    *,
    reference: Reference = "both",
    per_position: PerPosition = "auto",
) -> float:
    """Fraction of the clean logit difference kept when every head outside ``heads`` is mean-ablated.

    ``mean metric(only heads kept) / mean metric(clean)``; 1.0 for the full model.

    Example:
        >>> faithfulness(model, task, {(0, 1), (1, 2)})   # doctest: +SKIP
        0.83
    """
    L, H, _ = model_dims(model)
    base = float(clean_metric(model, task).double().mean())
    kept = metric_under_masks(
        model, task, _keep_masks(L, H, [list(heads)]), "mean", reference=reference, per_position=per_position
    )
    return float(_ratio(kept, base, task)[0])


def top_k_heads(scores: Union[np.ndarray, Tensor], k: int) -> list[Head]:
    """The ``k`` best heads of an ``[L, H]`` score array, ties broken by head index."""
    scores = np.asarray(scores.detach().cpu() if isinstance(scores, Tensor) else scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [n_layers, n_heads], got shape {scores.shape}")
    H = scores.shape[1]
    order = np.argsort(-scores.reshape(-1), kind="stable")[: int(k)]
    return [(int(i) // H, int(i) % H) for i in order]
