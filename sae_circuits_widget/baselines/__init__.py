"""Baseline circuit-discovery methods that the SAE method is compared against.

Every method scores attention heads (``node_scores [n_layers, n_heads]``), on
attention-only models and on GPT-2-style models with MLPs alike; MLPs are kept intact
by the head-level methods and are extra nodes of EAP's and ACDC's edge graph.

- :mod:`.activation_patching`: ablate one head at a time (mean or resample) and measure
  the task metric: the slow, trusted reference;
- :mod:`.hisp`: gradient of the loss with respect to a head mask (Michel et al. 2019);
- :mod:`.subnetwork`: a learned hard-concrete mask over heads (subnetwork probing);
- :mod:`.eap` and :mod:`.acdc`: edge attribution patching and greedy edge pruning on
  the edge graph of heads (and, in GPT-2-style models, MLPs) (import them from their modules);
- :mod:`.trivial`: random, layer-index and output-norm scores every real method must beat.
"""

from .activation_patching import activation_patching, activation_patching_resample
from .hisp import hisp
from .subnetwork import subnetwork_probing
from .trivial import (
    TRIVIAL_METHODS,
    layer_index,
    layer_index_reverse,
    layer_index_reversed,
    output_diff_norm,
    random_scores,
)

__all__ = [
    "TRIVIAL_METHODS",
    "activation_patching",
    "activation_patching_resample",
    "hisp",
    "layer_index",
    "layer_index_reverse",
    "layer_index_reversed",
    "output_diff_norm",
    "random_scores",
    "subnetwork_probing",
]
