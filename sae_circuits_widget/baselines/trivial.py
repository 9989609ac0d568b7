"""Trivial head scores that every real method must beat.

- ``random``: independent uniform scores, seeded (``numpy.random.default_rng(seed)``).
- ``layer_index``: the head's layer (later layers score higher); ``layer_index_reversed``:
  minus the layer (earlier layers score higher). Heads of one layer tie.
- ``output_diff_norm``: the L2 norm of the difference between a head's mean output on
  the positives and on the negatives. A head's output is its contribution to the
  residual stream, ``hook_z @ W_O`` (no bias), read by the engine's ``head_outputs``
  exactly as the SAE method reads it: averaged over token positions after ``<bos>``
  (``position="mean"``) or taken at the final position (``position="last"``), then
  averaged over prompts. It needs no metric, only the prompts, and costs one forward
  pass per length group.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> from sae_circuits_widget.tasks import get_task
    >>> model = tiny_model(); task = get_task("ioi", model, n=4)
    >>> random_scores(model, task, seed=1).method
    'random'
    >>> layer_index(model, task).node_scores[:, 0].tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch

from ..engine.activations import head_outputs
from ..engine.result import CircuitResult
from ..tasks.task import Task


def _dims(model) -> tuple[int, int]:
    return int(model.cfg.n_layers), int(model.cfg.n_heads)


def _result(method: str, scores: np.ndarray, task: Task, seconds: float, **settings) -> CircuitResult:
    return CircuitResult(
        method=method,
        node_scores=np.asarray(scores, dtype=np.float64),
        prompts=list(task.positives) + list(task.negatives),
        timings={"scores": seconds},
        settings=settings,
        task_name=task.name,
    )


def random_scores(model, task: Task, seed: int = 0) -> CircuitResult:
    """Uniform random head scores from ``numpy.random.default_rng(seed)``."""
    t0 = time.perf_counter()
    L, H = _dims(model)
    scores = np.random.default_rng(seed).random((L, H))
    return _result("random", scores, task, time.perf_counter() - t0, seed=seed)


def layer_index(model, task: Task, seed: int = 0, *, reverse: bool = False) -> CircuitResult:
    """Score = layer index (``reverse=True``: minus the layer index, method ``layer_index_reversed``)."""
    t0 = time.perf_counter()
    L, H = _dims(model)
    scores = np.repeat(np.arange(L, dtype=np.float64)[:, None], H, axis=1)
    if reverse:
        scores = -scores
    name = "layer_index_reversed" if reverse else "layer_index"
    return _result(name, scores, task, time.perf_counter() - t0, seed=seed, reverse=reverse)


def layer_index_reversed(model, task: Task, seed: int = 0) -> CircuitResult:
    """Earlier layers score higher: :func:`layer_index` with ``reverse=True``."""
    return layer_index(model, task, seed, reverse=True)


layer_index_reverse = layer_index_reversed


def mean_head_outputs(
    model, prompts: list[str], position: Literal["mean", "last"] = "mean"
) -> torch.Tensor:
    """Mean over prompts of each head's output, ``[L, H, d_model]``: the engine's
    ``head_outputs`` (``<bos>`` left out of the position mean, as the SAE method sees it)."""
    if not prompts:
        raise ValueError("need at least one prompt")
    L, H = _dims(model)
    x = head_outputs(model, prompts, position, use_cache=False)  # [P, L * H, d_model]
    return x.double().mean(dim=0).reshape(L, H, -1)


def output_diff_norm(
    model, task: Task, seed: int = 0, *, position: Literal["mean", "last"] = "mean"
) -> CircuitResult:
    """``|| mean output on positives - mean output on negatives ||`` per head."""
    t0 = time.perf_counter()
    pos = mean_head_outputs(model, list(task.positives), position)
    neg = mean_head_outputs(model, list(task.negatives), position)
    scores = (pos - neg).norm(dim=-1).double().cpu().numpy()
    return _result("output_diff_norm", scores, task, time.perf_counter() - t0, seed=seed, position=position)


TRIVIAL_METHODS = {
    "random": random_scores,
    "layer_index": layer_index,
    "layer_index_reversed": layer_index_reversed,
    "output_diff_norm": output_diff_norm,
}
