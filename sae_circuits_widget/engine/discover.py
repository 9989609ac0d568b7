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
   With ``n_saes`` > 1 (the default is 3, see ``settings``) this is done for each SAE of
   an ensemble, each with its own seed, so its own training prompts and initial weights.
4. Encode every (prompt, head) vector to a code (``-1`` when no feature fires).
5. Score heads and head pairs (``scoring``); with an ensemble, a head's score is the mean
   of its scores under each SAE (``result.sae_run.member_node_scores`` keeps them all),
   ``result.stability`` says how often each head is in an SAE's top 5, and the result's
   ``codes`` and ``sae`` are the first SAE's.
6. Check that the model does the task on these prompts (``task_check.check_task``): the
   result's ``task_check`` and ``warnings`` say when it does not.

If the SAE has no live feature, or every vector gets the same code, the scores would
rank heads by nothing: ``DegenerateCodesError`` is raised instead of returning a
ranking.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np
import torch

from ..errors import Cancelled, DegenerateCodesError, SettingsError, SettingsTypeError
from ..settings import FIT_FIELDS, Settings, member_seeds, recommended
from ..tasks.task import Task
from .activations import HeadOutputCache, check_finite, few_threads, head_outputs, is_small_model
from .model import check_hookable
from .result import CircuitResult, SAERun, stability
from .sae import DiscreteSAE, SAECache, fit_key, fit_saes
from .scoring import pool_edge_scores, pool_edge_scores_reference, unique_positive_codes, unique_positive_pairs
from .task_check import check_task
from .validation import check_prompts

DEFAULTS: dict[str, Any] = Settings().to_dict()
"""The default settings as a plain dict (``Settings()``)."""


def check_settings(**values: Any) -> dict[str, Any]:
    """Validate discovery settings; return the fit settings normalised (see ``Settings``)."""
    s = Settings(**values)
    return {k: getattr(s, k) for k in FIT_FIELDS}


def training_rows(is_positive: np.ndarray, n_train: int, seed: int, recipe: str = "stable") -> np.ndarray:
    """Indices of the prompts the SAE is fit on.

    ``recipe="paper"``: the reference's draw, the first ``n_train`` entries of
    ``torch.randperm(n_prompts)`` from a generator seeded with ``seed`` (positives and
    negatives mixed as they fall), in that order. Otherwise ``n_train`` drawn with
    ``seed``, half positives and half negatives (as many as exist), in increasing order.

    Example:
        >>> training_rows(np.array([True] * 6 + [False] * 6), 4, 0).size
        4
    """
    if recipe == "paper":
        return _paper_draw(len(is_positive), n_train, seed)[0]
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


def _training_draw(
    is_positive: np.ndarray, n_train: int, seed: int, recipe: str
) -> tuple[np.ndarray, Optional[torch.Generator]]:
    """The training rows of one SAE, and (paper recipe) the generator for its weights."""
    if recipe == "paper":
        return _paper_draw(len(is_positive), n_train, seed)
    return training_rows(is_positive, n_train, seed, recipe), None


def _paper_draw(n_prompts: int, n_train: int, seed: int) -> tuple[np.ndarray, torch.Generator]:
    """The reference's training draw, and the generator it leaves for the SAE's weights."""
    gen = torch.Generator().manual_seed(int(seed))
    rows = torch.randperm(n_prompts, generator=gen)[:n_train]
    return rows.numpy().astype(np.int64), gen


def discover(
    model: Any,
    task: Optional[Task] = None,
    *,
    positives: Optional[Sequence[str]] = None,
    negatives: Optional[Sequence[str]] = None,
    settings: Optional[Settings] = None,
    seed: Optional[int] = None,
    n_features: Optional[int] = None,
    l1: Optional[float] = None,
    position: Optional[str] = None,
    recipe: Optional[str] = None,
    n_train: Optional[int] = None,
    n_saes: Optional[int] = None,
    edges: Optional[bool] = None,
    fit: Optional[str] = None,
    answers: Optional[Sequence[str]] = None,
    cache: Optional[HeadOutputCache] = None,
    sae: Optional[DiscreteSAE] = None,
    sae_cache: Optional[SAECache] = None,
    stop: Optional[Callable[[], bool]] = None,
) -> CircuitResult:
    """Find the heads that do task-specific work, with a discrete SAE.

    Args:
        model: a TransformerBridge (``load_model()``).
        task: a ``Task`` (its positives/negatives are used), or give ``positives`` and
            ``negatives`` as lists of strings instead. At least 2 prompts per side. The
            two lists may differ in length (scores compare *sets* of codes; no pairing),
            and duplicate prompts are allowed: a repeated prompt's codes count once, so
            duplicates never inflate a score (``validate_prompts`` warns about them).
        settings: a ``Settings``; without it, the task's recommended settings
            (``settings.recommended(task.name)``; the defaults for prompt lists).
        seed, n_features, l1, position, recipe, n_train, n_saes, edges, fit: override single
            settings (see ``Settings``; a value given here always wins).
        answers: optional answer per positive, checked to be single tokens.
        cache: head-output cache (``Session`` passes its own).
        sae: a fitted ``DiscreteSAE`` (``fit_sae``, or an earlier result's ``.sae``) to
            encode with instead of fitting one; its ``d_model`` must be the model's.
            ``n_features``, ``l1``, ``recipe`` and ``n_train`` then play no part, and the
            result's settings record the SAE's own ``n_features``, ``l1`` and ``recipe``.
        sae_cache: fitted SAEs to reuse (``Session`` passes its own): a fit with the same
            training prompts, settings and training vectors is taken from it, a new fit
            is stored in it.
        stop: a callable polled before each SAE fit and every epoch of one; when it
            returns True the run stops with ``Cancelled`` (the explorer passes one that
            says a newer edit has arrived).

    Returns:
        A ``CircuitResult`` with ``method="sae"``, ``node_scores [n_layers, n_heads]``,
        ``edge_scores [heads, heads]``, ``codes [P, heads]`` (positives first),
        ``edge_head_scores`` (edge scores pooled per head), the SAE, timings, ``sae_run``
        (``sae_run.source``: ``"fit"``, ``"cache"`` (from ``sae_cache``) or ``"given"``),
        ``stability``, ``task_check`` and ``warnings``.

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
    overrides = dict(
        seed=seed, n_features=n_features, l1=l1, position=position, recipe=recipe, n_train=n_train,
        n_saes=n_saes, edges=edges, fit=fit,
    )
    if settings is not None:
        if not isinstance(settings, Settings):
            raise SettingsTypeError(f"settings must be a Settings, got {type(settings).__name__}")
        chosen = settings.replace(**{k: v for k, v in overrides.items() if v is not None})
    else:
        chosen = recommended(task.name if isinstance(task, Task) else None, **overrides)
    edges = chosen.edges
    fit_settings = {k: getattr(chosen, k) for k in FIT_FIELDS}  # what a fit depends on, as a dict
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
    # a missing list (None) is refused there with PromptTypeError; its signature says Sequence[str]
    pos, neg = check_prompts(model, positives, negatives, answers)  # pyright: ignore[reportArgumentType]
    prompts = pos + neg
    is_positive = np.array([True] * len(pos) + [False] * len(neg))
    timings["validate"] = time.perf_counter() - t0

    t = time.perf_counter()
    # A small model on the CPU runs every stage on one thread (see ``few_threads``): on
    # busy cores even the cache gather and the encoding are many-fold slower on two.
    small = is_small_model(model)
    with few_threads(small):
        x = head_outputs(model, prompts, fit_settings["position"], cache=cache)  # [P, heads, d_model]
        check_finite(x, prompts)
    timings["activations"] = time.perf_counter() - t

    t = time.perf_counter()
    members: list[tuple[DiscreteSAE, Optional[np.ndarray], str]] = []  # (SAE, training rows, source)
    if sae is not None:
        members.append((sae, None, "given"))
        fit_settings.update(
            n_features=int(sae.cfg.n_features), l1=float(sae.cfg.l1), recipe=str(sae.cfg.recipe), n_saes=1
        )
    else:
        # the ensemble's members fit in parallel threads, one intra-op thread each
        # (``sae.fit_saes``: bitwise the SAEs of fitting them one after another): all at
        # once when more than one torch thread is allowed (three fits on two cores end
        # sooner as three threads than in two rounds), one after another on one thread
        workers = fit_settings["n_saes"] if torch.get_num_threads() > 1 else 1
        with few_threads(small):
            if stop is not None and stop():
                raise Cancelled("the run was cancelled before its SAE fits finished")
            members = _fitted_saes(model, x, is_positive, prompts, fit_settings, sae_cache, stop, workers)
    timings["sae_fit"] = time.perf_counter() - t

    t = time.perf_counter()
    with few_threads(small):
        member_codes = [m.codes(x.to(m.b_pre.device)).cpu().numpy().astype(np.int64) for m, _, _ in members]
    timings["encode"] = time.perf_counter() - t
    for codes in member_codes:
        _check_codes(codes, fit_settings)

    t = time.perf_counter()
    n_layers, n_heads = int(model.cfg.n_layers), int(model.cfg.n_heads)
    node_each = np.stack(
        [unique_positive_codes(c, is_positive).reshape(n_layers, n_heads) for c in member_codes]
    ).astype(np.float64)
    node = node_each.mean(axis=0)
    edge = pooled = None
    if edges:
        pool = pool_edge_scores_reference if fit_settings["recipe"] == "paper" else pool_edge_scores
        edge_each = [unique_positive_pairs(c, is_positive).astype(np.float64) for c in member_codes]
        edge = np.mean(edge_each, axis=0)
        pooled = np.mean([pool(e) for e in edge_each], axis=0).reshape(n_layers, n_heads)
    timings["scores"] = time.perf_counter() - t
    # the first SAE stands for the ensemble where one SAE's codes are shown (codes, the
    # code inspector); the scores are the ensemble's
    sae, rows, _ = members[0]
    codes = member_codes[0]
    sources = {src for _, _, src in members}
    source = "given" if "given" in sources else ("fit" if "fit" in sources else "cache")

    t = time.perf_counter()
    with few_threads(small):
        check = check_task(model, task) if task is not None else check_task(
            model, positives=pos, negatives=neg, answers=answers
        )
    timings["task_check"] = time.perf_counter() - t
    notes = list(check.warnings)
    if not node.any():
        notes.append(
            "no head has a code unique to the positives: positives and negatives look the "
            "same to the SAE, so this ranking carries no signal (try more contrasting "
            "negatives, position='last', or a different l1)"
        )
    for note in notes:
        warnings.warn(note, stacklevel=2)
    run = SAERun(
        n_saes=len(members),
        member_node_scores=node_each,
        train_rows=rows.tolist() if rows is not None else None,
        all_train_rows=sorted({int(i) for _, r, _ in members if r is not None for i in r}) if rows is not None else None,
        source=source,
        n_codes=int(len(np.unique(codes[codes >= 0]))),
        n_silent_vectors=int((codes < 0).sum()),
        silent_fraction=float(np.mean([(c < 0).mean() for c in member_codes])),
        epochs=int(sae.epochs_run),
        final_loss=float(sae.losses[-1]) if sae.losses else None,
    )
    return CircuitResult(
        method="sae",
        node_scores=node,
        edge_scores=edge,
        edge_head_scores=pooled,
        codes=codes,
        is_positive=is_positive,
        prompts=prompts,
        timings=timings,
        sae=sae,
        sae_run=run,
        stability=stability(node_each) if len(members) > 1 else None,
        task_check=check,
        warnings=notes,
        settings={**fit_settings, "edges": edges, "model": _model_name(model)},
        task_name=task.name if task is not None else None,
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


def _fitted_saes(
    model: Any,
    x: torch.Tensor,
    is_positive: np.ndarray,
    prompts: list[str],
    settings: dict[str, Any],
    sae_cache: Optional[SAECache],
    stop: Optional[Callable[[], bool]] = None,
    workers: int = 1,
) -> list[tuple[DiscreteSAE, Optional[np.ndarray], str]]:
    """``(SAE, training rows, source)`` of each member of the ensemble, in member order:
    each fit on its training rows of ``x``, or taken from ``sae_cache``; the fits that
    are not in the cache run together (``fit_saes``, ``workers`` at a time) and are
    stored in it."""
    members: list[Optional[tuple[DiscreteSAE, Optional[np.ndarray], str]]] = []
    todo: list[tuple[int, np.ndarray, torch.Tensor, int, Optional[torch.Generator], Any]] = []
    for k, member_seed in enumerate(member_seeds(settings["seed"], settings["n_saes"])):
        rows, generator = _training_draw(is_positive, settings["n_train"], member_seed, settings["recipe"])
        x_train = x[torch.as_tensor(rows)].reshape(-1, x.shape[-1])  # [n_train * heads, d_model]
        key = None
        if sae_cache is not None:
            key = sae_fit_key(model, [prompts[i] for i in rows], x_train, {**settings, "seed": member_seed})
            hit = sae_cache.get(key)
            if hit is not None:
                members.append((hit, rows, "cache"))
                continue
        members.append(None)
        todo.append((k, rows, x_train, member_seed, generator, key))
    if todo:
        fitted = fit_saes(
            [t[2] for t in todo], [t[3] for t in todo], generators=[t[4] for t in todo], workers=workers,
            stop=stop, n_features=settings["n_features"], l1=settings["l1"], recipe=settings["recipe"],
            fit=settings["fit"], device=_model_device(model),
        )
        for (k, rows, _, _, _, key), sae in zip(todo, fitted):
            members[k] = (sae, rows, "fit")
            if sae_cache is not None:
                sae_cache.put(key, sae)
    return [m for m in members if m is not None]


def sae_fit_key(model: Any, train_texts: list[str], x_train: torch.Tensor, settings: dict[str, Any]) -> tuple:
    """The ``SAECache`` key of the fit ``discover`` makes on these training prompts and
    vectors ``[n, d_model]`` under ``settings`` (seed, n_features, l1, position, recipe, fit)."""
    return fit_key(
        train_texts, x_train, position=settings["position"], device=_model_device(model).type,
        n_features=settings["n_features"], l1=settings["l1"], seed=settings["seed"], recipe=settings["recipe"],
        fit=settings["fit"],
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
