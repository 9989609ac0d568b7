"""Circuit discovery with a discrete sparse autoencoder, end to end.

    prompts -> head outputs [P, heads, d_model] -> one SAE (fit on a few prompts)
            -> codes [P, heads] -> node scores [layers, heads], edge scores [heads, heads]

1. Check the prompts (``validation.check_prompts``): errors stop here, before compute.
2. Head outputs for every prompt (``activations.head_outputs``, cached by prompt text).
3. Fit one SAE on the head outputs of ``n_train`` prompts (half positives, half
   negatives, drawn with ``seed``), as in the paper (10 prompts). Fewer training
   prompts keep the dictionary coarse, which is what makes codes comparable across
   prompts; the paper finds AUC falls as this number grows past ~25. The fit is most
   of a run's time: a pre-fitted SAE can be passed (``sae=``), and a ``Session`` keeps
   its fits (``sae_cache``) keyed by the training prompts' texts and the settings, so
   editing a prompt outside the training set skips the fit. The training prompts are
   chosen by index, so editing one prompt never changes which indices are chosen.
4. Encode every (prompt, head) vector to a code (``-1`` when no feature fires).
5. Score heads and head pairs (``scoring``).

If the SAE has no live feature, or every vector gets the same code, the scores would
rank heads by nothing: ``DegenerateCodesError`` is raised instead of returning a
ranking.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import torch

from .activations import POSITIONS, HeadOutputCache, _is_small, check_finite, few_threads, head_outputs
from .errors import DegenerateCodesError, SettingsError, SettingsTypeError
from .model import check_hookable
from .result import CircuitResult
from .sae import RECIPES, DiscreteSAE, SAECache, fit_key, fit_sae
from .scoring import pool_edge_scores, unique_positive_codes, unique_positive_pairs
from .task import Task
from .validation import check_prompts

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "n_features": 200,
    "l1": 0.02,
    "position": "mean",
    "recipe": "paper",
    "n_train": 10,
    "edges": True,
}


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SettingsTypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_settings(
    seed: Any, n_features: Any, l1: Any, position: Any, recipe: Any, n_train: Any
) -> dict[str, Any]:
    """Validate discovery settings; return them normalised (ints as int, l1 as float)."""
    seed = _check_int("seed", seed, 0)
    n_features = _check_int("n_features", n_features, 2)
    n_train = _check_int("n_train", n_train, 2)
    if isinstance(l1, bool) or not isinstance(l1, (int, float, np.floating, np.integer)):
        raise SettingsTypeError(f"l1 must be a number, got {type(l1).__name__}")
    l1 = float(l1)
    if not math.isfinite(l1) or l1 < 0:
        raise SettingsError(f"l1 must be a finite number >= 0, got {l1}")
    if position not in POSITIONS:
        raise SettingsError(f"position must be one of {POSITIONS}, got {position!r}")
    if recipe not in RECIPES:
        raise SettingsError(f"recipe must be one of {RECIPES}, got {recipe!r}")
    return {"seed": seed, "n_features": n_features, "l1": l1, "position": position, "recipe": recipe, "n_train": n_train}


def training_rows(is_positive: np.ndarray, n_train: int, seed: int) -> np.ndarray:
    """Indices of the prompts the SAE is fit on: ``n_train`` drawn with ``seed``, half
    positives and half negatives (as many as exist), in increasing order.

    Example:
        >>> training_rows(np.array([True] * 6 + [False] * 6), 4, 0).size
        4
    """
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(is_positive)
    neg = np.flatnonzero(~is_positive)
    if n_train >= len(is_positive):
        return np.arange(len(is_positive))
    n_pos = min(len(pos), (n_train + 1) // 2)
    n_neg = min(len(neg), n_train - n_pos)
    n_pos = min(len(pos), n_train - n_neg)
    chosen = np.concatenate([rng.permutation(pos)[:n_pos], rng.permutation(neg)[:n_neg]])
    return np.sort(chosen)


def discover(
    model: Any,
    task: Optional[Task] = None,
    *,
    positives: Optional[Sequence[str]] = None,
    negatives: Optional[Sequence[str]] = None,
    seed: int = 0,
    n_features: int = 200,
    l1: float = 0.02,
    position: str = "mean",
    recipe: str = "paper",
    n_train: int = 10,
    edges: bool = True,
    answers: Optional[Sequence[str]] = None,
    cache: Optional[HeadOutputCache] = None,
    sae: Optional[DiscreteSAE] = None,
    sae_cache: Optional[SAECache] = None,
) -> CircuitResult:
    """Find the heads that do task-specific work, with a discrete SAE.

    Args:
        model: a TransformerBridge (``load_model()``).
        task: a ``Task`` (its positives/negatives are used), or give ``positives`` and
            ``negatives`` as lists of strings instead. At least 2 prompts per side. The
            two lists may differ in length (scores compare *sets* of codes; no pairing),
            and duplicate prompts are allowed: a repeated prompt's codes count once, so
            duplicates never inflate a score (``validate_prompts`` warns about them).
        seed: seeds the choice of training prompts and the SAE initialisation.
        n_features: SAE dictionary size (the paper: 200).
        l1: sparsity coefficient (the paper: 0.02; 0.05 for docstring).
        position: head outputs averaged over positions (``"mean"``) or at the last token.
        recipe: ``"paper"`` (reference recipe, 500 epochs) or ``"stable"`` (scaled inputs,
            data-mean bias, convergence stop); see ``sae``.
        n_train: number of prompts the SAE is fit on (the paper: 10).
        edges: also compute head-pair scores (costs ``O(P * heads^2)`` memory).
        answers: optional answer per positive, checked to be single tokens.
        cache: head-output cache (``Session`` passes its own).
        sae: a fitted ``DiscreteSAE`` (``fit_sae``, or an earlier result's ``.sae``) to
            encode with instead of fitting one; its ``d_model`` must be the model's.
            ``n_features``, ``l1``, ``recipe`` and ``n_train`` then play no part, and the
            result's settings record the SAE's own ``n_features``, ``l1`` and ``recipe``.
        sae_cache: fitted SAEs to reuse (``Session`` passes its own): a fit with the same
            training prompts, settings and training vectors is taken from it, a new fit
            is stored in it.

    Returns:
        A ``CircuitResult`` with ``method="sae"``, ``node_scores [n_layers, n_heads]``,
        ``edge_scores [heads, heads]``, ``codes [P, heads]`` (positives first),
        ``extras["edge_head_scores"]`` (edge scores pooled per head), the SAE, timings,
        ``extras["sae_source"]``: ``"fit"``, ``"cache"`` (from ``sae_cache``) or ``"given"``.

    Raises:
        PromptError / PromptTypeError: bad prompt lists (messages name the prompts).
        SettingsError / SettingsTypeError: bad settings, or an ``sae`` that is not a
            ``DiscreteSAE`` or was fit on vectors of another width.
        NonFiniteActivationsError: NaN/inf head outputs.
        DegenerateCodesError: no live SAE feature or all codes identical.

    Example:
        >>> model = load_model()                                   # doctest: +SKIP
        >>> result = discover(model, get_task("ioi", model))        # doctest: +SKIP
        >>> result.top_heads(3)                                     # doctest: +SKIP
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    settings = check_settings(seed, n_features, l1, position, recipe, n_train)
    if not isinstance(edges, bool):
        raise SettingsTypeError(f"edges must be True or False, got {type(edges).__name__}")
    if task is not None:
        if not isinstance(task, Task):
            raise SettingsTypeError(
                f"task must be a Task (from get_task), got {type(task).__name__}; to pass "
                "prompt lists use positives=[...], negatives=[...]"
            )
        if positives is not None or negatives is not None:
            raise SettingsError("give either a task or positives/negatives, not both")
        positives, negatives = task.positives, task.negatives
        if answers is None:
            answers = task.answers
    check_hookable(model)
    if sae is not None:
        _check_sae(sae, model)
    if sae_cache is not None and not isinstance(sae_cache, SAECache):
        raise SettingsTypeError(f"sae_cache must be an SAECache, got {type(sae_cache).__name__}")
    pos, neg = check_prompts(model, positives, negatives, answers)
    prompts = pos + neg
    is_positive = np.array([True] * len(pos) + [False] * len(neg))
    timings["validate"] = time.perf_counter() - t0

    t = time.perf_counter()
    # A small model on the CPU runs every stage on one thread (see ``few_threads``): on
    # busy cores even the cache gather and the encoding are many-fold slower on two.
    small = _is_small(model)
    with few_threads(small):
        x = head_outputs(model, prompts, settings["position"], cache=cache)  # [P, heads, d_model]
        check_finite(x, prompts)
    timings["activations"] = time.perf_counter() - t

    t = time.perf_counter()
    rows = training_rows(is_positive, settings["n_train"], settings["seed"])
    if sae is not None:
        source = "given"
        settings.update(n_features=int(sae.cfg.n_features), l1=float(sae.cfg.l1), recipe=str(sae.cfg.recipe))
    else:
        with few_threads(small):
            sae, source = _fitted_sae(model, x, rows, [prompts[i] for i in rows], settings, sae_cache)
    timings["sae_fit"] = time.perf_counter() - t

    t = time.perf_counter()
    sae_device = sae.b_pre.device
    with few_threads(small):
        codes = sae.codes(x.to(sae_device)).cpu().numpy().astype(np.int64)  # [P, heads]
    timings["encode"] = time.perf_counter() - t
    _check_codes(codes, settings)

    t = time.perf_counter()
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    node = unique_positive_codes(codes, is_positive).reshape(n_layers, n_heads).astype(np.float64)
    edge = pooled = None
    if edges:
        edge = unique_positive_pairs(codes, is_positive).astype(np.float64)
        pooled = pool_edge_scores(edge).reshape(n_layers, n_heads)
    timings["scores"] = time.perf_counter() - t

    notes = []
    if not node.any():
        notes.append(
            "no head has a code unique to the positives: positives and negatives look the "
            "same to the SAE, so this ranking carries no signal (try more contrasting "
            "negatives, position='last', or a different l1)"
        )
        warnings.warn(notes[-1], stacklevel=2)
    dead = int((codes < 0).sum())
    return CircuitResult(
        method="sae",
        node_scores=node,
        edge_scores=edge,
        codes=codes,
        is_positive=is_positive,
        prompts=prompts,
        timings=timings,
        sae=sae,
        settings={**settings, "edges": edges, "model": _model_name(model)},
        task_name=task.name if task is not None else None,
        extras={
            "edge_head_scores": pooled,
            "train_rows": rows.tolist() if source != "given" else None,
            "sae_source": source,
            "n_codes": int(len(np.unique(codes[codes >= 0]))),
            "n_dead_vectors": dead,
            "sae_epochs": sae.epochs_run,
            "sae_final_loss": sae.losses[-1] if sae.losses else None,
            "warnings": notes,
        },
    )


def _check_sae(sae: Any, model: Any) -> None:
    if not isinstance(sae, DiscreteSAE):
        raise SettingsTypeError(
            f"sae must be a DiscreteSAE (from fit_sae or an earlier result's .sae), got "
            f"{type(sae).__name__}; leave it out to fit one"
        )
    d_model = int(model.cfg.d_model)
    if int(sae.cfg.d_model) != d_model:
        raise SettingsError(
            f"sae was fit on vectors of width d_model={sae.cfg.d_model}, but this model's head "
            f"outputs have d_model={d_model}: pass an SAE fit on this model, or leave sae out to fit one"
        )


def _fitted_sae(
    model: Any,
    x: torch.Tensor,
    rows: np.ndarray,
    train_texts: list[str],
    settings: dict[str, Any],
    sae_cache: Optional[SAECache],
) -> tuple[DiscreteSAE, str]:
    """Fit the SAE on the training rows of ``x``, or take it from ``sae_cache``."""
    x_train = x[torch.as_tensor(rows)].reshape(-1, x.shape[-1])  # [n_train * heads, d_model]
    key = None
    if sae_cache is not None:
        key = sae_fit_key(model, train_texts, x_train, settings)
        hit = sae_cache.get(key)
        if hit is not None:
            return hit, "cache"
    sae = fit_sae(
        x_train, n_features=settings["n_features"], l1=settings["l1"], seed=settings["seed"],
        recipe=settings["recipe"], device=_model_device(model),
    )
    if sae_cache is not None:
        sae_cache.put(key, sae)
    return sae, "fit"


def sae_fit_key(model: Any, train_texts: list[str], x_train: torch.Tensor, settings: dict[str, Any]) -> tuple:
    """The ``SAECache`` key of the fit ``discover`` makes on these training prompts and
    vectors ``[n, d_model]`` under ``settings`` (seed, n_features, l1, position, recipe)."""
    return fit_key(
        train_texts, x_train, position=settings["position"], device=_model_device(model).type,
        n_features=settings["n_features"], l1=settings["l1"], seed=settings["seed"], recipe=settings["recipe"],
    )


def _model_device(model: Any) -> torch.device:
    """Where to fit the SAE: the model's device when it is a GPU, else the CPU."""
    try:
        device = next(model.parameters()).device
    except (StopIteration, AttributeError, TypeError):
        return torch.device("cpu")
    return device if device.type == "cuda" else torch.device("cpu")


def _model_name(model: Any) -> str:
    from .model import model_name

    return model_name(model)


def _check_codes(codes: np.ndarray, settings: dict[str, Any]) -> None:
    live = np.unique(codes[codes >= 0])
    fix = (
        f"lower l1 (now {settings['l1']}), use recipe='stable', or change the seed"
        if settings["recipe"] == "paper"
        else f"lower l1 (now {settings['l1']}) or change the seed"
    )
    if live.size == 0:
        raise DegenerateCodesError(
            "the SAE has no live feature: no feature fires on any head output, so there are "
            f"no codes and any head ranking would be meaningless; {fix}"
        )
    if live.size == 1:
        raise DegenerateCodesError(
            f"every head output got the same code ({int(live[0])}): codes cannot tell heads or "
            f"prompts apart, so scores would be meaningless; {fix}"
        )
