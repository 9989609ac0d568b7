"""Evidence on the MLPs of an organism that has them (``organism-gpt2``).

The ground-truth circuits are sets of heads, the nodes the SAE and the baselines score;
MLPs stay in the model during the circuit search. So that the MLPs' share of a behaviour
is on record, :func:`mlp_ablation_effects` measures each MLP alone as the head evidence
does: the change of the task's mean logit difference when the MLP's output is replaced by
its mean (over the task's positives and negatives, every real position pooled) or by its
output on the paired negative prompt.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> has_mlps(tiny_model())
    False
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..interventions.hooks import MLP_OUT_HOOK, final_logits, has_mlps, model_device, pair_groups
from ..tasks.task import Task


@torch.no_grad()
def mlp_ablation_effects(model: Any, task: Task) -> dict[str, list[float]]:
    """Per layer, the mean logit difference change when that layer's MLP is mean-ablated
    (``"mean"``) or patched from the paired negative (``"resample"``).

    Raises ValueError for a model without MLPs.
    """
    if not has_mlps(model):
        raise ValueError("this model has no MLPs to ablate")
    device = model_device(model)
    (idx, pos, neg, last), = pair_groups(model, task)
    pos, neg, last = pos.to(device), neg.to(device), last.to(device)
    names = [MLP_OUT_HOOK.format(layer) for layer in range(int(model.cfg.n_layers))]
    real = (torch.arange(pos.shape[1], device=device)[None, :] <= last[:, None]).float()  # [b, pos]

    def metric(logits: Tensor) -> float:
        return float(task.metric(final_logits(logits, last), rows=idx).float().mean())

    _, pos_cache = model.run_with_cache(pos, names_filter=lambda n: n in names)
    _, neg_cache = model.run_with_cache(neg, names_filter=lambda n: n in names)
    clean = metric(model(pos))
    out: dict[str, list[float]] = {"mean": [], "resample": []}
    for name in names:
        both = torch.cat([pos_cache[name], neg_cache[name]])
        weights = torch.cat([real, real])[..., None]
        mean = (both * weights).sum((0, 1)) / weights.sum()
        for kind, value in (("mean", mean.expand_as(pos_cache[name])), ("resample", neg_cache[name])):
            logits = model.run_with_hooks(pos, fwd_hooks=[(name, lambda act, hook, v=value: v)])
            out[kind].append(round(metric(logits) - clean, 5))
    return out


__all__ = ["has_mlps", "mlp_ablation_effects"]
