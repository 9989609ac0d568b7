"""Find circuits in language models in seconds with discrete sparse autoencoders.

Example:
    >>> from sae_circuits_widget import load_model, get_task, discover
    >>> model = load_model()                          # the bundled model, offline
    >>> task = get_task("ioi", model, n=20, seed=0)
    >>> result = discover(model, task, seed=0)
    >>> result.evaluate(task.ground_truth)["node_auc"] > 0.5
    True

The notebook widgets are exported here too (``CircuitExplorer``, ``PromptPanel``,
``HeadGrid``, ``CodeInspector``) but imported on first use, so that importing the
package does not load anywidget, ipywidgets and altair:

    >>> from sae_circuits_widget import CircuitExplorer    # doctest: +SKIP
    >>> CircuitExplorer(task="ioi")                         # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine.activations import attention_from_final, head_outputs
from .engine.discover import discover
from .engine.model import load_model
from .engine.result import CircuitResult
from .engine.sae import DiscreteSAE, code_meaning, fit_sae
from .engine.session import Session
from .engine.validation import PromptIssue, validate_prompts
from .errors import (
    DegenerateCodesError,
    FileFormatError,
    GroundTruthError,
    ModelLoadError,
    NonFiniteActivationsError,
    OfflineError,
    PromptError,
    SaeCircuitsError,
    UnsupportedModelError,
)
from .evaluation.metrics import evaluate_scores
from .tasks.task import Head, Task

if TYPE_CHECKING:  # imported on first access at run time (see _LAZY)
    from .widgets import CircuitExplorer, CodeInspector, HeadGrid, PromptPanel

_LAZY = {
    "CircuitExplorer": ".widgets",
    "CodeInspector": ".widgets",
    "HeadGrid": ".widgets",
    "PromptPanel": ".widgets",
}
"""Public names imported on first access (module ``__getattr__``, PEP 562)."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def get_task(name: str, model: Any, n: int = 20, seed: int = 0) -> Task:
    """A built-in task ("ioi", "greater_than", "docstring", "induction") for ``model``:
    positives, matched negatives, answers and, when known, the ground-truth circuit.

    Example:
        >>> task = get_task("ioi", load_model(), n=20, seed=0)  # doctest: +SKIP
    """
    from .tasks import get_task as _get_task

    return _get_task(name, model, n=n, seed=seed)


__all__ = [
    "CircuitExplorer",
    "CircuitResult",
    "CodeInspector",
    "DegenerateCodesError",
    "DiscreteSAE",
    "FileFormatError",
    "GroundTruthError",
    "Head",
    "HeadGrid",
    "ModelLoadError",
    "NonFiniteActivationsError",
    "OfflineError",
    "PromptError",
    "PromptIssue",
    "PromptPanel",
    "SaeCircuitsError",
    "Session",
    "Task",
    "UnsupportedModelError",
    "attention_from_final",
    "code_meaning",
    "discover",
    "evaluate_scores",
    "fit_sae",
    "get_task",
    "head_outputs",
    "load_model",
    "validate_prompts",
]
