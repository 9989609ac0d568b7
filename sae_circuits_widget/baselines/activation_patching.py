"""Activation patching per head: ablate one head at a time and measure the task metric.

The slow, trusted reference. For each head (layer, h) the positives are run with that
head's ``hook_z`` replaced and the change of the task's mean logit difference is
recorded (:func:`sae_circuits_widget.interventions.ablation.ablation_effects`):

- ``kind="mean"``: the replacement is the head's mean activation over the task's prompts
  (position-wise when all prompts share one length, pooled over positions otherwise);
- ``kind="resample"``: the replacement is the head's activation on the paired negative.

The node score is ``|effect|``: a circuit head may raise or lower the metric. The signed
effects are in ``extras["effects"]``. All heads are stacked along the batch, so the cost
is about ``n_heads_total * n_prompts / 512`` forward passes. Optionally (``edges=True``)
every head-to-head path is patched as well, giving edge scores.

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

from ..engine.result import CircuitResult
from ..interventions.ablation import ablation_effects
from ..interventions.hooks import MAX_BATCH_ROWS, Reference
from ..interventions.path_patching import path_patching_matrix
from ..tasks.task import Task

METHOD_NAMES = {"mean": "activation_patching", "resample": "activation_patching_resample"}


def activation_patching(
    model,
    task: Task,
    seed: int = 0,
    *,
    kind: Literal["mean", "resample"] = "mean",
    reference: Reference = "both",
    edges: bool = False,
    progress: bool = True,
    max_batch: int = MAX_BATCH_ROWS,
) -> CircuitResult:
    """Score every head by ``|metric change|`` when it alone is mean- or resample-ablated.

    Method name: ``"activation_patching"`` (mean) or ``"activation_patching_resample"``.
    ``seed`` is recorded only; the method is deterministic. ``edges=True`` also runs path
    patching of every head pair (:func:`~sae_circuits_widget.interventions.path_patching.path_patching_matrix`,
    the sender's activation taken from the paired negative, whatever ``kind``):
    ``edge_scores[s, r] = |effect of the path s -> r|`` and the signed matrix, with the
    direct path to the logits as its last column, in ``extras["path_patching"]``.
    """
    if kind not in METHOD_NAMES:
        raise ValueError(f"kind must be 'mean' or 'resample', got {kind!r}")
    t0 = time.perf_counter()
    effects = ablation_effects(
        model, task, kind=kind, reference=reference, progress=progress, max_batch=max_batch
    )
    timings = {"ablations": time.perf_counter() - t0}
    extras: dict = {"effects": effects}
    edge_scores = None
    if edges:
        t1 = time.perf_counter()
        pp = path_patching_matrix(model, task, progress=progress, max_batch=max_batch)
        timings["path_patching"] = time.perf_counter() - t1
        n = pp.shape[0]
        edge_scores = np.abs(pp[:, :n])
        extras["path_patching"] = pp
    return CircuitResult(
        method=METHOD_NAMES[kind],
        node_scores=np.abs(effects),
        edge_scores=edge_scores,
        prompts=list(task.positives[: task.n_pairs]),
        timings=timings,
        settings={"seed": seed, "kind": kind, "reference": reference if kind == "mean" else None, "edges": edges},
        task_name=task.name,
        extras=extras,
    )


def activation_patching_resample(model, task: Task, seed: int = 0, **kwargs) -> CircuitResult:
    """:func:`activation_patching` with ``kind="resample"`` (each head from the paired negative)."""
    return activation_patching(model, task, seed, kind="resample", **kwargs)


resample_ablation = activation_patching_resample
mean_ablation = activation_patching
