"""baselines"""

# baselines-a: ablation-based, gradient-based and trivial head scores
from .activation_patching import activation_patching, activation_patching_resample  # noqa: E402
from .hisp import hisp  # noqa: E402
from .subnetwork import subnetwork_probing  # noqa: E402
from .trivial import (  # noqa: E402
    TRIVIAL_METHODS,
    layer_index,
    layer_index_reverse,
    layer_index_reversed,
    output_diff_norm,
    random_scores,
)
