"""Activation patching per head: ablate one head at a time and measure the task metric.

The slow, trusted reference. For each head (layer, h) the positives are run with that
head's ``hook_z`` replaced and the change of the task's mean logit difference is
recorded (:func:`sae_circuits_widget.ablation.ablation_effects`):

- ``kind="mean"``: the replacement is the head's mean activation over the task's prompts
  (position-wise when all prompts share one length, pooled over positions otherwise);
- ``kind="resample"``: the replacement is the head's activation on the paired negative.

The node score is ``|effect|``: a circuit head may raise or lower the metric. The signed
effects are in ``extras["effects"]``. All heads are stacked along the batch, so the cost
is about ``n_heads_total * n_prompts / 512`` forward passes.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> from sae_circuits_widget.tasks import get_task
    >>> model = tiny_model(); task = get_task("ioi", model, n=4)
    >>> result = activation_patching(model, task, kind="resample", progress=False)
    >>> result.method, result.node_scores.shape
    ('activation_patching_resample', (2, 4))
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from ..ablation import MAX_BATCH_ROWS, Reference, ablation_effects
from ..result import CircuitResult
from ..task import Task

METHOD_NAMES = {"mean": "activation_patching", "resample": "activation_patching_resample"}


def activation_patching(
    model,
    task: Task,
    seed: int = 0,
    *,
    kind: Literal["mean", "resample"] = "mean",
    reference: Reference = "both",
    progress: bool = True,
    max_batch: int = MAX_BATCH_ROWS,
) -> CircuitResult:
    """Score every head by ``|metric change|`` when it alone is mean- or resample-ablated.

    Method name: ``"activation_patching"`` (mean) or ``"activation_patching_resample"``.
    ``seed`` is recorded only; the method is deterministic.
    """
    if kind not in METHOD_NAMES:
        raise ValueError(f"kind must be 'mean' or 'resample', got {kind!r}")
    t0 = time.perf_counter()
    effects = ablation_effects(
        model, task, kind=kind, reference=reference, progress=progress, max_batch=max_batch
    )
    seconds = time.perf_counter() - t0
    return CircuitResult(
        method=METHOD_NAMES[kind],
        node_scores=np.abs(effects),
        prompts=list(task.positives[: task.n_pairs]),
        timings={"ablations": seconds},
        settings={"seed": seed, "kind": kind, "reference": reference if kind == "mean" else None},
        task_name=task.name,
        extras={"effects": effects},
    )


def activation_patching_resample(model, task: Task, seed: int = 0, **kwargs) -> CircuitResult:
    """:func:`activation_patching` with ``kind="resample"`` (each head from the paired negative)."""
    return activation_patching(model, task, seed, kind="resample", **kwargs)


resample_ablation = activation_patching_resample
mean_ablation = activation_patching
