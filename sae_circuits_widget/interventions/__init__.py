"""Causal interventions on attention heads: ablation, path patching, faithfulness.

Heads are the units on every model; in a model with MLPs (GPT-2 style) the MLPs are
kept intact and recompute from what the heads write.

The engine never needs these; they score the baselines, define the bundled model's
ground truth and measure how much of a behaviour a found circuit keeps.

- :mod:`.hooks`: batching, padding and the hooks that replace a head's output;
- :mod:`.ablation`: the effect of ablating each head, and the faithfulness of a head set;
- :mod:`.path_patching`: the effect of one head on another through one path;
- :mod:`.mib_faithfulness`: MIB's CPR and CMD over a ranking of heads.
"""

from .ablation import (
    ablation_effects,
    clean_metric,
    faithfulness,
    metric_under_masks,
    top_k_heads,
)
from .hooks import (
    FINAL_IN_HOOK,
    MAX_BATCH_ROWS,
    MLP_OUT_HOOK,
    Z_HOOK,
    ablation_hooks,
    final_logits,
    frozen_parameters,
    head_means,
    head_z,
    length_groups,
    mean_replacement,
    padded_prompts,
    pair_groups,
    run_with_heads_ablated,
    scaled_head_hooks,
)
from .path_patching import path_patching, path_patching_matrix

__all__ = [
    "FINAL_IN_HOOK", "MAX_BATCH_ROWS", "MLP_OUT_HOOK", "Z_HOOK",
    "ablation_effects", "ablation_hooks", "clean_metric", "faithfulness",
    "final_logits", "frozen_parameters", "head_means", "head_z",
    "length_groups", "mean_replacement", "metric_under_masks", "padded_prompts", "pair_groups",
    "path_patching", "path_patching_matrix", "run_with_heads_ablated", "scaled_head_hooks",
    "top_k_heads",
]
