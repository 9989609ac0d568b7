"""SP: subnetwork probing with a learned hard-concrete mask over attention heads.

After Cao, Sanh & Rush (2021) as adapted to heads by Conmy et al. (2023). Each head has
a mask logit ``log_alpha``; a *hard-concrete* sample (Louizos, Welling & Kingma 2018)

    u ~ U(0, 1),  s = sigmoid((log u - log(1 - u) + log_alpha) / beta),
    m = clamp(s * (zeta - gamma) + gamma, 0, 1)

gives a mask in ``[0, 1]`` that is exactly 0 or 1 with positive probability, and the
expected number of kept heads ``sum sigmoid(log_alpha - beta * log(-gamma / zeta))`` is a
differentiable L0 penalty. A masked head outputs ``mean + m * (z - mean)`` (mean
ablation; ``baseline="zero"`` gives ``m * z``). The logits are trained, with the model
frozen, to minimise

    objective(masked model, clean model) + sparsity * (expected fraction of heads kept)

where the objective is the KL divergence of the final-position next-token distribution
from the clean model's (``objective="kl"``, default) or the squared change of the task
metric (``objective="metric"``), averaged over the positives. Every step uses all
positives (one right-padded batch: one forward and one backward per step), with a
fresh mask sample per prompt. Node scores are the final ``log_alpha``: high = the head is needed.

Deterministic for a given seed: the initial logits' jitter and every mask sample come
from a ``torch.Generator`` seeded with ``seed``.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> from sae_circuits_widget.tasks import get_task
    >>> model = tiny_model(); task = get_task("ioi", model, n=4)
    >>> result = subnetwork_probing(model, task, seed=0, steps=5, progress=False)
    >>> result.method, result.node_scores.shape
    ('sp', (2, 4))
"""

from __future__ import annotations

import math
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

BETA, GAMMA, ZETA = 2.0 / 3.0, -0.1, 1.1
"""Hard-concrete temperature and stretch interval (Louizos et al. 2018)."""


def hard_concrete(log_alpha: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """A hard-concrete mask sample in ``[0, 1]`` from uniform noise ``u`` (same shape)."""
    s = torch.sigmoid((torch.log(u) - torch.log1p(-u) + log_alpha) / BETA)
    return (s * (ZETA - GAMMA) + GAMMA).clamp(0.0, 1.0)


def expected_kept(log_alpha: torch.Tensor) -> torch.Tensor:
    """Probability that each head's hard-concrete mask is non-zero."""
    return torch.sigmoid(log_alpha - BETA * math.log(-GAMMA / ZETA))


def deterministic_mask(log_alpha: torch.Tensor) -> torch.Tensor:
    """The test-time mask: the stretched sigmoid of ``log_alpha`` clamped to ``[0, 1]``."""
    return (torch.sigmoid(log_alpha) * (ZETA - GAMMA) + GAMMA).clamp(0.0, 1.0)


def subnetwork_probing(
    model,
    task: Task,
    seed: int = 0,
    *,
    steps: int = 100,
    lr: float = 0.1,
    sparsity: float = 1.0,
    objective: Literal["kl", "metric"] = "kl",
    baseline: Literal["mean", "zero"] = "mean",
    init: float = 3.0,
    progress: bool = True,
) -> CircuitResult:
    """Learn a sparse head mask that keeps the clean model's output; scores = mask logits.

    Method name ``"sp"``. ``sparsity`` weighs the expected fraction of kept heads against
    the objective (KL in nats, or squared logit-difference change).
    """
    check_metric(task)
    if objective not in ("kl", "metric"):
        raise ValueError(f"objective must be 'kl' or 'metric', got {objective!r}")
    if baseline not in ("mean", "zero"):
        raise ValueError(f"baseline must be 'mean' or 'zero', got {baseline!r}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    L, H = int(model.cfg.n_layers), int(model.cfg.n_heads)
    dev = model_device(model)
    t0 = time.perf_counter()
    positives = list(task.positives[: task.n_pairs])
    n = len(positives)
    toks, last = padded_prompts(model, positives)
    toks = toks.to(dev)
    rows = list(range(n))
    base = mean_replacement(model, task) if baseline == "mean" else None
    with torch.no_grad():
        logits = final_logits(model(toks), last).float()
        clean_logp, clean_metric = torch.log_softmax(logits, -1), task.metric(logits, rows=rows).float()
    gen = torch.Generator().manual_seed(int(seed))
    log_alpha = (init + 0.01 * torch.randn(L, H, generator=gen)).to(dev).requires_grad_(True)
    opt = torch.optim.Adam([log_alpha], lr=lr)
    t1 = time.perf_counter()
    history = []
    it = range(steps)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="subnetwork probing", leave=False)
    with frozen_parameters(model):
        for _ in it:
            opt.zero_grad()
            u = torch.rand(n, L, H, generator=gen).clamp(1e-6, 1 - 1e-6).to(dev)
            mask = hard_concrete(log_alpha, u)
            out = model.run_with_hooks(toks, fwd_hooks=scaled_head_hooks(model, mask, base))
            logits = final_logits(out, last).float()
            if objective == "kl":
                logp = torch.log_softmax(logits, -1)
                per = (clean_logp.exp() * (clean_logp - logp)).sum(-1)
            else:
                per = (task.metric(logits, rows=rows).float() - clean_metric) ** 2
            fit = per.mean()
            penalty = expected_kept(log_alpha).mean()
            loss = fit + sparsity * penalty
            loss.backward()
            opt.step()
            history.append((fit.item(), penalty.item()))
    t2 = time.perf_counter()
    la = log_alpha.detach().cpu()
    return CircuitResult(
        method="sp",
        node_scores=la.numpy().astype(np.float64),
        prompts=positives,
        timings={"setup": t1 - t0, "training": t2 - t1},
        settings={
            "seed": seed, "steps": steps, "lr": lr, "sparsity": sparsity,
            "objective": objective, "baseline": baseline, "init": init,
        },
        task_name=task.name,
        extras={
            "keep_probability": expected_kept(la).numpy(),
            "mask": deterministic_mask(la).numpy(),
            "history": np.asarray(history),
        },
    )
