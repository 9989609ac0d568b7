"""Find circuits in language models in seconds with discrete sparse autoencoders.

Example:
    >>> from sae_circuits_widget import load_model, get_task, discover
    >>> model = load_model()                          # the bundled model, offline
    >>> task = get_task("ioi", model, n=20, seed=0)
    >>> result = discover(model, task, seed=0)
    >>> result.evaluate(task.ground_truth)["node_auc"] > 0.5
    True
"""

from __future__ import annotations

from typing import Any

from .activations import attention_from_final, head_outputs
from .discover import discover
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
from .evaluate import evaluate_scores
from .model import load_model
from .result import CircuitResult
from .sae import DiscreteSAE, code_meaning, fit_sae
from .session import Session
from .task import Head, Task
from .validation import PromptIssue, validate_prompts


def get_task(name: str, model: Any, n: int = 20, seed: int = 0) -> Task:
    """A built-in task ("ioi", "greater_than", "docstring", "induction") for ``model``:
    positives, matched negatives, answers and, when known, the ground-truth circuit.

    Example:
        >>> task = get_task("ioi", load_model(), n=20, seed=0)  # doctest: +SKIP
    """
    from .tasks import get_task as _get_task

    return _get_task(name, model, n=n, seed=seed)


__all__ = [
    "CircuitResult",
    "DegenerateCodesError",
    "DiscreteSAE",
    "FileFormatError",
    "GroundTruthError",
    "Head",
    "ModelLoadError",
    "NonFiniteActivationsError",
    "OfflineError",
    "PromptError",
    "PromptIssue",
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
