"""HISP: head importance scores from the gradient of the loss with respect to a head mask.

Michel, Levy & Neubig (2019), "Are Sixteen Heads Really Better than One?". Every head's
output is multiplied by a mask variable ``xi_h`` (all ones, so the forward pass is the
unmodified model), and the importance of head ``h`` is the expected absolute sensitivity
of the loss to that mask:

    I_h = E_x | d L(x) / d xi_h |,   which equals E_x | z_h(x) . d L(x) / d z_h(x) |.

Here ``x`` runs over the task's positives, all in one right-padded batch with its own
mask row per prompt, so one forward and one backward pass give every prompt's gradient.
The loss is, by default, ``L = -metric`` (minus the task's logit difference at the
final position), so the scores measure heads that matter for the
behaviour the task isolates; ``loss="ce"`` uses the paper's choice, cross-entropy of the
answer (the log of the total probability of the correct tokens). ``baseline="zero"``
(default, as in the paper) scales the head's output towards zero; ``baseline="mean"``
interpolates towards the head's mean activation instead, which gives the first-order
estimate of mean ablation. ``normalize_layers=True`` applies the paper's per-layer L2
normalisation of the scores (off by default: it changes rankings across layers).

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> from sae_circuits_widget.tasks import get_task
    >>> model = tiny_model(); task = get_task("ioi", model, n=4)
    >>> hisp(model, task).node_scores.shape
    (2, 4)
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch

from ..engine.result import CircuitResult
from ..interventions.hooks import (
    check_metric,
    final_logits,
    frozen_parameters,
    mean_replacement,
    model_device,
    padded_prompts,
    scaled_head_hooks,
)
from ..tasks.task import Task


def answer_cross_entropy(task: Task, final_logits: torch.Tensor, rows: list[int]) -> torch.Tensor:
    """``-log sum_{c in correct_ids} p(c)`` per row: cross-entropy of the answer set."""
    if task.correct_ids is None:
        raise ValueError(
            f"task {task.name!r} has no correct_ids, so it has no answer cross-entropy; "
            "build it with get_task or give correct_ids"
        )
    logp = torch.log_softmax(final_logits.float(), dim=-1)
    return torch.stack([-torch.logsumexp(logp[i, list(task.correct_ids[r])], dim=0) for i, r in enumerate(rows)])


def hisp(
    model,
    task: Task,
    seed: int = 0,
    *,
    loss: Literal["metric", "ce"] = "metric",
    baseline: Literal["zero", "mean"] = "zero",
    normalize_layers: bool = False,
    progress: bool = False,
) -> CircuitResult:
    """Head importance ``E |dL/d mask|`` over the positives (Michel et al. 2019).

    ``seed`` is recorded only; the method is deterministic. One forward and one backward
    pass, well under a second on small models, so ``progress`` has nothing to show.
    """
    check_metric(task)
    if loss not in ("metric", "ce"):
        raise ValueError(f"loss must be 'metric' or 'ce', got {loss!r}")
    if baseline not in ("zero", "mean"):
        raise ValueError(f"baseline must be 'zero' or 'mean', got {baseline!r}")
    L, H = int(model.cfg.n_layers), int(model.cfg.n_heads)
    t0 = time.perf_counter()
    base = mean_replacement(model, task) if baseline == "mean" else None
    positives = list(task.positives[: task.n_pairs])
    toks, last = padded_prompts(model, positives)
    rows = list(range(len(positives)))
    t1 = time.perf_counter()
    with frozen_parameters(model), torch.enable_grad():
        mask = torch.ones(len(rows), L, H, device=model_device(model), requires_grad=True)
        out = model.run_with_hooks(toks.to(model_device(model)), fwd_hooks=scaled_head_hooks(model, mask, base))
        logits = final_logits(out, last)
        if loss == "metric":
            per = -task.metric(logits, rows=rows)
        else:
            per = answer_cross_entropy(task, logits, rows)
        (grad,) = torch.autograd.grad(per.sum(), mask)
    total = grad.abs().sum(dim=0).double().cpu()
    signed = grad.sum(dim=0).double().cpu()
    scores = (total / len(positives)).numpy()
    if normalize_layers:
        norms = np.linalg.norm(scores, axis=1, keepdims=True)
        scores = scores / np.where(norms > 0, norms, 1.0)
    t2 = time.perf_counter()
    return CircuitResult(
        method="hisp",
        node_scores=scores,
        prompts=positives,
        timings={"setup": t1 - t0, "gradients": t2 - t1},
        settings={"seed": seed, "loss": loss, "baseline": baseline, "normalize_layers": normalize_layers},
        task_name=task.name,
        extras={"mean_gradient": (signed / len(positives)).numpy()},
    )
