"""Interventions on attention heads: mean and resample ablation, faithfulness, path patching.

Every intervention edits the per-head attention output ``blocks.{l}.attn.hook_z``
(``[batch, pos, head, d_head]``) of a TransformerBridge. A head is *ablated* by replacing
its ``z`` with a replacement value:

- **mean ablation**: the head's mean ``z`` over a set of reference prompts
  (:func:`head_means`, :func:`mean_replacement`). By default the reference set is every
  prompt of the task (positives and negatives), so the replacement is the head's average
  behaviour on the task distribution and carries no prompt-specific information. When
  all of the task's prompts share one token length, the mean is taken per position
  (``[L, pos, H, d_head]``), the usual choice for templated tasks; otherwise positions
  are pooled into a single vector per head, since prompts of different lengths have no
  common position grid. The pool leaves out position 0 when it is the BOS token: a
  causal model computes the same value there on every prompt, so that position keeps
  its value (mean ablation of a constant is a no-op) instead of being overwritten by
  an average of other positions, which would disturb every head that attends to BOS.
- **resample ablation**: on positive ``i`` the head's ``z`` is replaced by its ``z`` on
  the paired negative ``i`` (the pairs are aligned and have the same token count).

The score of an intervention is the change in the task's mean logit difference
(:meth:`Task.metric` at the final position, averaged over the positives): negative
values mean the head helps the task.

**Faithfulness** of a head set keeps those heads and mean-ablates every other head, and
reports ``mean metric (ablated) / mean metric (clean)``: 1.0 keeps the whole behaviour.

**Path patching** (Wang et al. 2022) measures one path: the sender heads' output on the
negatives reaches the receivers only, everything else sees the clean sender. It runs in
two passes. Pass A runs the positives with the senders' ``z`` taken from the negatives
and every other head frozen to its clean ``z``, so the residual stream is
``clean + delta(senders)`` everywhere; the receivers' ``z`` computed in that pass (their
inputs saw the delta) is recorded. Pass B runs the positives normally with only the
receivers' ``z`` replaced by the recorded values (and, for the ``"logits"`` receiver, the
direct delta added to the input of the final norm). A receiver at or before the sender's
layer cannot see the sender, so its path effect is exactly zero.

Batching: metrics are read at each prompt's final position, and the model is causal
with absolute positions, so prompts of different lengths share one right-padded batch
(:func:`padded_prompts`, :func:`pair_groups`); interventions are stacked along the
batch too, so ``M`` interventions on ``n`` prompts cost about ``M * n / 512`` forwards,
never one per prompt. Averages over positions (:func:`head_means`) group prompts by
length instead, so padding never enters a mean. Nothing here needs gradients;
everything runs under ``torch.no_grad()``.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> from sae_circuits_widget.tasks import get_task
    >>> model = tiny_model(); task = get_task("ioi", model, n=4)
    >>> ablation_effects(model, task, kind="resample").shape
    (2, 4)
    >>> round(faithfulness(model, task, {(l, h) for l in range(2) for h in range(4)}), 4)
    1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from typing import Literal, Optional, Union

import numpy as np
import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from .task import Head, Task

Z_HOOK = "blocks.{}.attn.hook_z"
FINAL_IN_HOOK = "ln_final.hook_in"
MAX_BATCH_ROWS = 512
"""Largest batch (prompts x stacked interventions) sent through the model at once."""

Reference = Literal["both", "positives", "negatives"]
PerPosition = Union[bool, Literal["auto"]]


# --------------------------------------------------------------------------- helpers
def _dims(model) -> tuple[int, int, int]:
    return int(model.cfg.n_layers), int(model.cfg.n_heads), int(model.cfg.d_head)


def _tokens(model, prompt: str) -> Int[Tensor, "1 pos"]:
    toks = model.to_tokens(prompt)
    if toks.ndim == 1:
        toks = toks[None]
    return toks


def length_groups(model, prompts: Sequence[str]) -> list[tuple[list[int], Int[Tensor, "b pos"]]]:
    """Group prompts by token count: ``[(indices, tokens [b, pos]), ...]``, shortest first.

    Example:
        >>> [idx for idx, _ in length_groups(model, ["a b", "a b c", "b a"])]  # doctest: +SKIP
        [[0, 2], [1]]
    """
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings, not one string; wrap it in a list")
    toks = [_tokens(model, p) for p in prompts]
    by_len: dict[int, list[int]] = {}
    for i, t in enumerate(toks):
        by_len.setdefault(int(t.shape[1]), []).append(i)
    return [(idx, torch.cat([toks[i] for i in idx], dim=0)) for _, idx in sorted(by_len.items())]


def _pad_id(model) -> int:
    tok = getattr(model, "tokenizer", None)
    pad = getattr(tok, "pad_token_id", None) if tok is not None else None
    return int(pad) if pad is not None else 0


def _right_pad(model, toks: list[Tensor]) -> tuple[Int[Tensor, "b pos"], Int[Tensor, "b"]]:
    T = max(int(t.shape[1]) for t in toks)
    out = torch.full((len(toks), T), _pad_id(model), dtype=toks[0].dtype)
    last = torch.zeros(len(toks), dtype=torch.long)
    for i, t in enumerate(toks):
        out[i, : t.shape[1]] = t[0]
        last[i] = t.shape[1] - 1
    return out, last


def padded_prompts(model, prompts: Sequence[str]) -> tuple[Int[Tensor, "n pos"], Int[Tensor, "n"]]:
    """All prompts in one right-padded batch, with each prompt's final position.

    The model is causal and positions are absolute, so padding on the right leaves every
    real position unchanged: the logits at ``last[i]`` are those of prompt ``i`` alone.
    Use it for metrics at the final position, not for averages over positions.
    """
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings, not one string; wrap it in a list")
    return _right_pad(model, [_tokens(model, p) for p in prompts])


def pair_groups(
    model, task: Task, pad: bool = True
) -> list[tuple[list[int], Int[Tensor, "b pos"], Int[Tensor, "b pos"], Int[Tensor, "b"]]]:
    """Positives and their paired negatives as batches: ``[(pair indices, pos, neg, last), ...]``.

    ``pad=True`` (default): one batch, right-padded (see :func:`padded_prompts`); a pair's
    two prompts have the same length, so position ``t`` of a positive lines up with
    position ``t`` of its negative. ``pad=False``: one batch per token length. ``last[i]``
    is the final real position of row ``i``. Raises ValueError when a pair's two prompts
    tokenize to different lengths.
    """
    n = task.n_pairs
    if n == 0:
        raise ValueError(f"task {task.name!r} has no prompt pairs; give positives and negatives")
    pos = [_tokens(model, p) for p in task.positives[:n]]
    neg = [_tokens(model, p) for p in task.negatives[:n]]
    by_len: dict[int, list[int]] = {}
    for i, (a, b) in enumerate(zip(pos, neg)):
        if a.shape[1] != b.shape[1]:
            raise ValueError(
                f"pair {i} of task {task.name!r} is not aligned: the positive has {a.shape[1]} "
                f"tokens and the negative {b.shape[1]}; give negatives with the same token count "
                "as their positives"
            )
        by_len.setdefault(int(a.shape[1]), []).append(i)
    if pad:
        p_toks, last = _right_pad(model, pos)
        n_toks, _ = _right_pad(model, neg)
        return [(list(range(n)), p_toks, n_toks, last)]
    out = []
    for T, idx in sorted(by_len.items()):
        out.append((idx, torch.cat([pos[i] for i in idx]), torch.cat([neg[i] for i in idx]),
                    torch.full((len(idx),), T - 1, dtype=torch.long)))
    return out


def final_logits(logits: Float[Tensor, "b pos d_vocab"], last: Int[Tensor, "b"]) -> Float[Tensor, "b d_vocab"]:
    """The logits at each row's final real position."""
    return logits[torch.arange(logits.shape[0], device=logits.device), last.to(logits.device)]


def _device(model) -> torch.device:
    return next(model.parameters()).device


def head_z(model, tokens: Int[Tensor, "b pos"], extra: Sequence[str] = ()) -> tuple[Float[Tensor, "L b pos H d_head"], dict]:
    """Every head's ``hook_z`` on ``tokens``, stacked over layers, plus any ``extra`` hooks."""
    L, _, _ = _dims(model)
    names = {Z_HOOK.format(l) for l in range(L)} | set(extra)
    _, cache = model.run_with_cache(tokens.to(_device(model)), names_filter=lambda n: n in names)
    z = torch.stack([cache[Z_HOOK.format(l)] for l in range(L)])
    return z, {k: cache[k] for k in extra}


def _check_metric(task: Task) -> None:
    if not task.has_metric:
        raise ValueError(
            f"task {task.name!r} has no correct_ids/incorrect_ids, so it has no logit-difference "
            "metric; build it with get_task or give correct_ids and incorrect_ids"
        )


def _as_heads(heads: Union[Head, Iterable[Head]], L: int, H: int, what: str) -> list[Head]:
    if isinstance(heads, tuple) and len(heads) == 2 and all(isinstance(x, (int, np.integer)) for x in heads):
        heads = [heads]
    out = []
    for h in heads:
        if not (isinstance(h, tuple) and len(h) == 2):
            raise TypeError(f"{what} must be (layer, head) tuples, got {h!r}")
        l, k = int(h[0]), int(h[1])
        if not (0 <= l < L and 0 <= k < H):
            raise ValueError(f"{what} {h!r} is outside the model's {L} layers x {H} heads")
        out.append((l, k))
    return out


# --------------------------------------------------------------------------- means
def _reference_prompts(task_or_prompts, reference: Reference) -> list[str]:
    if isinstance(task_or_prompts, Task):
        t = task_or_prompts
        if reference == "both":
            return list(t.positives) + list(t.negatives)
        if reference == "positives":
            return list(t.positives)
        if reference == "negatives":
            return list(t.negatives)
        raise ValueError(f"reference must be 'both', 'positives' or 'negatives', got {reference!r}")
    if isinstance(task_or_prompts, str):
        raise TypeError("give a Task or a list of prompts, not one string")
    return list(task_or_prompts)


def _bos_first(model, groups) -> bool:
    """True when every prompt starts with the BOS token (position 0 is then prompt-independent)."""
    bos = getattr(getattr(model, "tokenizer", None), "bos_token_id", None)
    return bos is not None and all(bool((t[:, 0] == bos).all()) for _, t in groups)


@torch.no_grad()
def head_means(
    model,
    task_or_prompts: Union[Task, Sequence[str]],
    *,
    reference: Reference = "both",
    per_position: bool = False,
) -> Union[Float[Tensor, "L H d_head"], Float[Tensor, "L pos H d_head"]]:
    """Mean ``hook_z`` of every head over reference prompts, the value used by mean ablation.

    With ``per_position=False`` (default) the mean runs over all prompts and their token
    positions, giving one vector per head ``[L, H, d_head]`` that fits prompts of any
    length; position 0 is left out of the pool when every prompt starts with the BOS
    token (the model is causal, so position 0 computes the same value on every prompt
    and says nothing about the rest). With ``per_position=True`` every prompt must have
    the same token count and the mean runs over prompts only, giving
    ``[L, pos, H, d_head]``. For a Task the reference prompts are ``reference``
    ("both" = positives and negatives).

    Example:
        >>> head_means(model, ["When Mary and John", "When Tom and Anna"]).shape  # doctest: +SKIP
        torch.Size([2, 4, 8])
    """
    prompts = _reference_prompts(task_or_prompts, reference)
    if not prompts:
        raise ValueError("head_means needs at least one reference prompt")
    groups = length_groups(model, prompts)
    if per_position:
        if len(groups) > 1:
            lengths = sorted({int(t.shape[1]) for _, t in groups})
            raise ValueError(
                f"per-position means need prompts of one token length, got lengths {lengths}; "
                "use per_position=False to pool positions"
            )
        z, _ = head_z(model, groups[0][1])
        return z.mean(dim=1)
    start = 1 if _bos_first(model, groups) and min(int(t.shape[1]) for _, t in groups) > 1 else 0
    total, count = None, 0
    for _, toks in groups:
        z, _ = head_z(model, toks)  # [L, b, T, H, d]
        z = z[:, :, start:]
        s = z.sum(dim=(1, 2))
        total = s if total is None else total + s
        count += z.shape[1] * z.shape[2]
    return total / count


@torch.no_grad()
def mean_replacement(
    model, task: Task, *, reference: Reference = "both", per_position: PerPosition = "auto"
) -> Float[Tensor, "L pos H d_head"]:
    """The mean-ablation value used by :func:`ablation_effects` and :func:`faithfulness`.

    Always ``[L, pos, H, d_head]`` covering the task's longest prompt. Position-wise means
    when the reference prompts and the positives all share one token length
    (``per_position="auto"`` or True); otherwise the pooled means of :func:`head_means`
    at every position, except position 0 when it holds the BOS token: that position
    computes the same value on every prompt, so it keeps that value (its own mean) and
    mean ablation leaves it unchanged.
    """
    prompts = _reference_prompts(task, reference) + list(task.positives) + list(task.negatives)
    groups = length_groups(model, prompts)
    if per_position == "auto":
        per_position = len(groups) == 1
    if per_position:
        return head_means(model, task, reference=reference, per_position=True)
    pooled = head_means(model, task, reference=reference, per_position=False)
    T = max(int(t.shape[1]) for _, t in groups)
    out = pooled[:, None].repeat(1, T, 1, 1)
    if _bos_first(model, groups):
        z0, _ = head_z(model, groups[0][1][:1, :1])  # the BOS position alone
        out[:, 0] = z0[:, 0, 0]
    return out


# --------------------------------------------------------------------------- ablation
def ablation_hooks(
    model,
    mask: Union[Bool[Tensor, "L H"], Bool[Tensor, "batch L H"]],
    replacement: Tensor,
) -> list[tuple[str, object]]:
    """Forward hooks that replace the masked heads' ``z`` by ``replacement``.

    ``mask``: ``[L, H]`` (same heads for every row) or ``[batch, L, H]`` (per row), True =
    ablate. ``replacement``: ``[L, H, d_head]``, ``[L, pos, H, d_head]`` or
    ``[L, batch, pos, H, d_head]``; a per-position replacement may be longer than the
    prompts (its first positions are used). The hooks keep gradients flowing through the
    heads that are not ablated.
    """
    L, H, D = _dims(model)
    mask = torch.as_tensor(mask, dtype=torch.bool)
    if mask.shape[-2:] != (L, H) or mask.ndim not in (2, 3):
        raise ValueError(f"mask must have shape [{L}, {H}] or [batch, {L}, {H}], got {tuple(mask.shape)}")
    if replacement.ndim not in (3, 4, 5) or replacement.shape[0] != L or replacement.shape[-2:] != (H, D):
        raise ValueError(
            f"replacement must be [L, H, d_head], [L, pos, H, d_head] or [L, batch, pos, H, d_head] "
            f"with L={L}, H={H}, d_head={D}; got {tuple(replacement.shape)}"
        )
    dev = _device(model)
    hooks = []
    for l in range(L):
        m_l = mask[..., l, :]
        if not bool(m_l.any()):
            continue
        m_l = m_l.to(dev)
        m_l = m_l[None, None, :, None] if m_l.ndim == 1 else m_l[:, None, :, None]
        rep = replacement[l].to(dev)

        def hook(z, hook, m_l=m_l, rep=rep):
            if rep.ndim >= 3:  # per position: [pos, H, d] or [batch, pos, H, d]
                T = z.shape[1]
                if rep.shape[-3] < T:
                    raise ValueError(
                        f"per-position replacement has {rep.shape[-3]} positions but the prompts have "
                        f"{T}; use pooled means (per_position=False) for longer prompts"
                    )
                rep = rep[..., :T, :, :]
            return torch.where(m_l, rep.to(z.dtype), z)

        hooks.append((Z_HOOK.format(l), hook))
    return hooks


@contextmanager
def frozen_parameters(model):
    """Turn off ``requires_grad`` on the model's parameters for the block, then restore it.

    Gradient methods only need gradients with respect to head masks; this keeps autograd
    from computing (and storing) parameter gradients.
    """
    flags = [(p, p.requires_grad) for p in model.parameters()]
    try:
        for p, _ in flags:
            p.requires_grad_(False)
        yield model
    finally:
        for p, f in flags:
            p.requires_grad_(f)


def scaled_head_hooks(
    model,
    scale: Union[Float[Tensor, "L H"], Float[Tensor, "batch L H"]],
    baseline: Optional[Tensor] = None,
) -> list[tuple[str, object]]:
    """Hooks that set each head's ``z`` to ``baseline + scale * (z - baseline)``.

    ``scale`` is a continuous head mask (1 = keep, 0 = ablate), ``[L, H]`` or per row
    ``[batch, L, H]``; gradients flow to it (head-mask gradients for HISP, learned masks
    for subnetwork probing). ``baseline``: None (zero ablation) or a replacement shaped
    as in :func:`ablation_hooks`.
    """
    L, H, D = _dims(model)
    if scale.shape[-2:] != (L, H) or scale.ndim not in (2, 3):
        raise ValueError(f"scale must have shape [{L}, {H}] or [batch, {L}, {H}], got {tuple(scale.shape)}")
    hooks = []
    for l in range(L):
        s_l = scale[..., l, :]
        s_l = s_l[None, None, :, None] if s_l.ndim == 1 else s_l[:, None, :, None]
        base = None if baseline is None else baseline[l]

        def hook(z, hook, s_l=s_l, base=base):
            if base is None:
                return z * s_l.to(z.dtype)
            b = base.to(z.dtype)
            return b + s_l.to(z.dtype) * (z - b)

        hooks.append((Z_HOOK.format(l), hook))
    return hooks


def run_with_heads_ablated(
    model,
    tokens: Int[Tensor, "batch pos"],
    mask: Union[Bool[Tensor, "L H"], Bool[Tensor, "batch L H"]],
    replacement: Tensor,
    extra_hooks: Sequence[tuple[str, object]] = (),
) -> Float[Tensor, "batch pos d_vocab"]:
    """Logits with the heads in ``mask`` (True = ablate) replaced by ``replacement``.

    Shapes as in :func:`ablation_hooks`. Runs with gradients only if the caller enables them.

    Example:
        >>> mask = torch.zeros(2, 4, dtype=torch.bool); mask[1, 0] = True      # doctest: +SKIP
        >>> logits = run_with_heads_ablated(model, toks, mask, head_means(model, prompts))  # doctest: +SKIP
    """
    hooks = ablation_hooks(model, mask, replacement) + list(extra_hooks)
    return model.run_with_hooks(tokens.to(_device(model)), fwd_hooks=hooks)


def _chunks(n: int, size: int) -> Iterable[range]:
    for s in range(0, n, size):
        yield range(s, min(n, s + size))


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)


@torch.no_grad()
def clean_metric(model, task: Task) -> Float[Tensor, "n_pairs"]:
    """The task metric (logit difference) of every positive on the unmodified model."""
    _check_metric(task)
    out = torch.zeros(task.n_pairs)
    for idx, pos, _, last in pair_groups(model, task):
        logits = final_logits(model(pos.to(_device(model))), last)
        out[idx] = task.metric(logits, rows=idx).float().cpu()
    return out


@torch.no_grad()
def metric_under_masks(
    model,
    task: Task,
    masks: Bool[Tensor, "M L H"],
    kind: Literal["mean", "resample"] = "mean",
    *,
    reference: Reference = "both",
    per_position: PerPosition = "auto",
    means: Optional[Tensor] = None,
    progress: bool = False,
    max_batch: int = MAX_BATCH_ROWS,
) -> Float[Tensor, "M"]:
    """Mean metric over the positives for each of ``M`` ablation masks (True = ablate).

    Interventions are stacked along the batch (``M`` copies of each length group, chunked
    to ``max_batch`` rows), so ``M`` masks cost about ``M * n / max_batch`` forwards.
    ``kind="resample"`` takes each ablated head's ``z`` from the paired negative.
    """
    _check_metric(task)
    L, H, _ = _dims(model)
    masks = torch.as_tensor(masks, dtype=torch.bool)
    if masks.ndim != 3 or masks.shape[1:] != (L, H):
        raise ValueError(f"masks must have shape [M, {L}, {H}], got {tuple(masks.shape)}")
    if kind not in ("mean", "resample"):
        raise ValueError(f"kind must be 'mean' or 'resample', got {kind!r}")
    M = masks.shape[0]
    if kind == "mean" and means is None:
        means = mean_replacement(model, task, reference=reference, per_position=per_position)
    sums = torch.zeros(M, dtype=torch.float64)
    groups = pair_groups(model, task)
    plan = []
    for idx, pos, neg, last in groups:
        per = max(1, max_batch // len(idx))
        plan += [(idx, pos, neg, last, ch) for ch in _chunks(M, per)]
    z_neg_cache: dict[int, Tensor] = {}
    for gi, (idx, pos, neg, last, ch) in enumerate(_progress(plan, len(plan), "ablation", progress)):
        b, m = len(idx), len(ch)
        toks = pos.repeat(m, 1)  # row r * b + i = intervention ch[r], prompt idx[i]
        row_mask = masks[list(ch)].repeat_interleave(b, dim=0)
        if kind == "resample":
            key = id(neg)
            if key not in z_neg_cache:
                z_neg_cache.clear()
                z_neg_cache[key] = head_z(model, neg)[0]
            rep = z_neg_cache[key].repeat(1, m, 1, 1, 1)
        else:
            rep = means
        logits = final_logits(run_with_heads_ablated(model, toks, row_mask, rep), last.repeat(m))
        met = task.metric(logits, rows=list(idx) * m).double().cpu().reshape(m, b)
        sums[list(ch)] += met.sum(dim=1)
    return (sums / task.n_pairs).float()


def _one_hot_masks(L: int, H: int) -> Bool[Tensor, "LH L H"]:
    return torch.eye(L * H, dtype=torch.bool).reshape(L * H, L, H)


@torch.no_grad()
def ablation_effects(
    model,
    task: Task,
    kind: Literal["mean", "resample"] = "mean",
    *,
    reference: Reference = "both",
    per_position: PerPosition = "auto",
    progress: bool = False,
    max_batch: int = MAX_BATCH_ROWS,
) -> np.ndarray:
    """Change in the task's mean logit difference when each head alone is ablated: ``[L, H]``.

    ``effect[l, h] = mean_i metric(positive_i, head (l, h) ablated) - mean_i metric(positive_i)``;
    negative = the head supports the behaviour. ``kind="mean"`` uses :func:`mean_replacement`,
    ``kind="resample"`` the paired negative's activation.

    Example:
        >>> ablation_effects(model, task, kind="resample").shape   # doctest: +SKIP
        (4, 8)
    """
    L, H, _ = _dims(model)
    base = float(clean_metric(model, task).double().mean())
    ablated = metric_under_masks(
        model, task, _one_hot_masks(L, H), kind,
        reference=reference, per_position=per_position, progress=progress, max_batch=max_batch,
    )
    return (ablated.double().numpy() - base).reshape(L, H)


def _keep_masks(L: int, H: int, keeps: Sequence[Iterable[Head]]) -> Bool[Tensor, "M L H"]:
    masks = torch.ones(len(keeps), L, H, dtype=torch.bool)
    for m, heads in enumerate(keeps):
        for l, h in _as_heads(list(heads), L, H, "head"):
            masks[m, l, h] = False
    return masks


def _ratio(kept: Tensor, base: float, task: Task) -> np.ndarray:
    if abs(base) < 1e-8:
        raise ValueError(
            f"the clean logit difference of task {task.name!r} is {base:.3g}, so the fraction kept "
            "is undefined; faithfulness needs a model that does the task"
        )
    return kept.double().numpy() / base


@torch.no_grad()
def faithfulness(
    model,
    task: Task,
    heads: Iterable[Head],
    *,
    reference: Reference = "both",
    per_position: PerPosition = "auto",
) -> float:
    """Fraction of the clean logit difference kept when every head outside ``heads`` is mean-ablated.

    ``mean metric(only heads kept) / mean metric(clean)``; 1.0 for the full model.

    Example:
        >>> faithfulness(model, task, {(0, 1), (1, 2)})   # doctest: +SKIP
        0.83
    """
    L, H, _ = _dims(model)
    base = float(clean_metric(model, task).double().mean())
    kept = metric_under_masks(
        model, task, _keep_masks(L, H, [list(heads)]), "mean", reference=reference, per_position=per_position
    )
    return float(_ratio(kept, base, task)[0])


def top_k_heads(scores: Union[np.ndarray, Tensor], k: int) -> list[Head]:
    """The ``k`` best heads of an ``[L, H]`` score array, ties broken by head index."""
    scores = np.asarray(scores.detach().cpu() if isinstance(scores, Tensor) else scores, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [n_layers, n_heads], got shape {scores.shape}")
    H = scores.shape[1]
    order = np.argsort(-scores.reshape(-1), kind="stable")[: int(k)]
    return [(int(i) // H, int(i) % H) for i in order]


@torch.no_grad()
def faithfulness_curve(
    model,
    task: Task,
    scores,
    ks: Optional[Sequence[int]] = None,
    *,
    reference: Reference = "both",
    per_position: PerPosition = "auto",
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Faithfulness of the top-``k`` heads by ``scores`` for each ``k`` in ``ks``.

    ``scores``: ``[L, H]`` array or a CircuitResult (its node scores). ``ks`` defaults to
    ``0 .. L*H``. Returns ``(ks, fractions)``; all ``k`` run stacked in the same forwards.

    Example:
        >>> ks, frac = faithfulness_curve(model, task, result, ks=[4, 8])   # doctest: +SKIP
    """
    L, H, _ = _dims(model)
    if hasattr(scores, "node_scores"):
        scores = scores.node_scores
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (L, H):
        raise ValueError(f"scores must have shape [{L}, {H}], got {scores.shape}")
    ks = list(range(L * H + 1)) if ks is None else [int(k) for k in ks]
    if any(k < 0 or k > L * H for k in ks):
        raise ValueError(f"every k must be between 0 and {L * H}, got {ks}")
    base = float(clean_metric(model, task).double().mean())
    masks = _keep_masks(L, H, [top_k_heads(scores, k) for k in ks])
    kept = metric_under_masks(
        model, task, masks, "mean", reference=reference, per_position=per_position, progress=progress
    )
    return np.asarray(ks), _ratio(kept, base, task)


@torch.no_grad()
def faithfulness_curves(
    model,
    task: Task,
    scores_by_method: dict,
    ks: Optional[Sequence[int]] = None,
    *,
    reference: Reference = "both",
    per_position: PerPosition = "auto",
    progress: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`faithfulness_curve` for several methods at once, all keep-sets in shared forwards.

    ``scores_by_method``: name -> ``[L, H]`` scores or CircuitResult. Returns
    ``(ks, {name: fractions})``.

    Example:
        >>> ks, curves = faithfulness_curves(model, task, {"hisp": r1, "sp": r2}, ks=[2, 4])  # doctest: +SKIP
    """
    L, H, _ = _dims(model)
    ks = list(range(L * H + 1)) if ks is None else [int(k) for k in ks]
    if any(k < 0 or k > L * H for k in ks):
        raise ValueError(f"every k must be between 0 and {L * H}, got {ks}")
    names, keeps = [], []
    for name, scores in scores_by_method.items():
        if hasattr(scores, "node_scores"):
            scores = scores.node_scores
        scores = np.asarray(scores, dtype=float)
        if scores.shape != (L, H):
            raise ValueError(f"scores of {name!r} must have shape [{L}, {H}], got {scores.shape}")
        names.append(name)
        keeps += [top_k_heads(scores, k) for k in ks]
    base = float(clean_metric(model, task).double().mean())
    kept = metric_under_masks(
        model, task, _keep_masks(L, H, keeps), "mean",
        reference=reference, per_position=per_position, progress=progress,
    )
    frac = _ratio(kept, base, task).reshape(len(names), len(ks))
    return np.asarray(ks), {name: frac[i] for i, name in enumerate(names)}


# --------------------------------------------------------------------------- path patching
def _as_receivers(receiver, L: int, H: int) -> tuple[list[Head], bool]:
    if isinstance(receiver, str) or receiver is None:
        if receiver in (None, "logits"):
            return [], True
        raise ValueError(f"receiver must be a head, a set of heads or 'logits', got {receiver!r}")
    if isinstance(receiver, tuple) and len(receiver) == 2 and not isinstance(receiver[0], (tuple, str)):
        return _as_heads(receiver, L, H, "receiver"), False
    items = list(receiver)
    to_logits = any(isinstance(r, str) for r in items)
    bad = [r for r in items if isinstance(r, str) and r != "logits"]
    if bad:
        raise ValueError(f"receiver names must be heads or 'logits', got {bad!r}")
    return _as_heads([r for r in items if not isinstance(r, str)], L, H, "receiver"), to_logits


@torch.no_grad()
def path_patching(model, task: Task, sender, receiver) -> float:
    """Metric change when only the path sender -> receiver carries the negatives' sender output.

    ``sender``: a head or a set of heads. ``receiver``: a head, a set of heads, ``"logits"``
    (the direct path to the unembedding), or a set mixing heads and ``"logits"``.
    Returns ``mean metric(patched) - mean metric(clean)`` over the positives; exactly 0
    when no receiver is after the sender.

    Example:
        >>> path_patching(model, task, sender=(0, 1), receiver=(2, 3))   # doctest: +SKIP
        -0.42
    """
    _check_metric(task)
    L, H, _ = _dims(model)
    senders = _as_heads(sender, L, H, "sender")
    receivers, to_logits = _as_receivers(receiver, L, H)
    base = clean_metric(model, task).double()
    total = torch.zeros((), dtype=torch.float64)
    dev = _device(model)
    for idx, pos, neg, last in pair_groups(model, task):
        z_clean, extra = head_z(model, pos, extra=[FINAL_IN_HOOK])
        z_neg, _ = head_z(model, neg)
        resid_clean = extra[FINAL_IN_HOOK]
        recorded: dict[int, Tensor] = {}
        final: dict[str, Tensor] = {}

        def freeze(z, hook, l):
            recorded[l] = z.clone()  # what each head computes with input clean + delta(senders)
            out = z_clean[l].clone()
            for sl, sh in senders:
                if sl == l:
                    out[:, :, sh] = z_neg[l][:, :, sh]
            return out

        def grab(x, hook):
            final["resid"] = x.clone()
            return x

        hooks_a = [(Z_HOOK.format(l), (lambda z, hook, l=l: freeze(z, hook, l))) for l in range(L)]
        model.run_with_hooks(pos.to(dev), fwd_hooks=hooks_a + [(FINAL_IN_HOOK, grab)])
        delta_final = final["resid"] - resid_clean

        hooks_b = []
        for l in sorted({r[0] for r in receivers}):
            heads_l = [h for rl, h in receivers if rl == l]

            def patch(z, hook, l=l, heads_l=heads_l):
                z = z.clone()
                z[:, :, heads_l] = recorded[l][:, :, heads_l]
                return z

            hooks_b.append((Z_HOOK.format(l), patch))
        if to_logits:
            hooks_b.append((FINAL_IN_HOOK, lambda x, hook: x + delta_final))
        logits = final_logits(model.run_with_hooks(pos.to(dev), fwd_hooks=hooks_b), last)
        total += task.metric(logits, rows=idx).double().cpu().sum()
    return float(total / task.n_pairs - base.mean())


@torch.no_grad()
def path_patching_matrix(
    model, task: Task, *, progress: bool = False, max_batch: int = MAX_BATCH_ROWS
) -> np.ndarray:
    """Path-patching effect of every sender head on every receiver: ``[L*H, L*H + 1]``.

    Entry ``[s, r]`` is ``path_patching(model, task, sender_s, receiver_r)`` with heads
    numbered ``layer * n_heads + head``; the last column is the direct path to the logits.
    Receivers at or before the sender's layer are 0. Senders are stacked along the batch
    in pass A and (sender, receiver) pairs in pass B.
    """
    _check_metric(task)
    L, H, _ = _dims(model)
    N = L * H
    out = np.zeros((N, N + 1))
    base = clean_metric(model, task).double()
    dev = _device(model)
    sums = torch.zeros(N, N + 1, dtype=torch.float64)
    # every (sender, receiver) pair with a path: later-layer heads and the logits (index N)
    pairs_of = {s: [r for r in range(N) if r // H > s // H] + [N] for s in range(N)}
    groups = pair_groups(model, task)
    steps = sum(len(list(_chunks(N, max(1, max_batch // len(g[0]))))) for g in groups)
    bar = _progress(range(steps), steps, "path patching", progress)
    bar_it = iter(bar)
    for idx, pos, neg, last in groups:
        b = len(idx)
        z_clean, extra = head_z(model, pos, extra=[FINAL_IN_HOOK])
        z_neg, _ = head_z(model, neg)
        resid_clean = extra[FINAL_IN_HOOK]
        per = max(1, max_batch // b)
        for s_chunk in _chunks(N, per):
            next(bar_it, None)
            m = len(s_chunk)
            toks = pos.repeat(m, 1)
            recorded: dict[int, Tensor] = {}
            final: dict[str, Tensor] = {}

            def freeze(z, hook, l, s_chunk=s_chunk, m=m):
                recorded[l] = z.clone()
                out_z = z_clean[l].repeat(m, 1, 1, 1)
                for r, s in enumerate(s_chunk):
                    if s // H == l:
                        out_z[r * b:(r + 1) * b, :, s % H] = z_neg[l][:, :, s % H]
                return out_z

            def grab(x, hook):
                final["resid"] = x.clone()
                return x

            hooks_a = [(Z_HOOK.format(l), (lambda z, hook, l=l: freeze(z, hook, l))) for l in range(L)]
            model.run_with_hooks(toks.to(dev), fwd_hooks=hooks_a + [(FINAL_IN_HOOK, grab)])
            delta = final["resid"] - resid_clean.repeat(m, 1, 1)  # [m*b, T, d_model]

            plist = [(r, s, rc) for r, s in enumerate(s_chunk) for rc in pairs_of[s]]
            per_b = max(1, max_batch // b)
            for p_chunk in _chunks(len(plist), per_b):
                sel = [plist[i] for i in p_chunk]
                q = len(sel)
                toks_b = pos.repeat(q, 1)
                hooks_b = []
                for l in range(1, L):
                    rows = [(j, r, rc % H) for j, (r, s, rc) in enumerate(sel) if rc < N and rc // H == l]
                    if not rows:
                        continue

                    def patch(z, hook, l=l, rows=rows):
                        z = z.clone()
                        for j, r, h in rows:
                            z[j * b:(j + 1) * b, :, h] = recorded[l][r * b:(r + 1) * b, :, h]
                        return z

                    hooks_b.append((Z_HOOK.format(l), patch))
                add = torch.zeros(q * b, *resid_clean.shape[1:], device=resid_clean.device, dtype=resid_clean.dtype)
                for j, (r, s, rc) in enumerate(sel):
                    if rc == N:
                        add[j * b:(j + 1) * b] = delta[r * b:(r + 1) * b]
                hooks_b.append((FINAL_IN_HOOK, lambda x, hook, add=add: x + add))
                logits = final_logits(model.run_with_hooks(toks_b.to(dev), fwd_hooks=hooks_b), last.repeat(q))
                met = task.metric(logits, rows=list(idx) * q).double().cpu().reshape(q, b).sum(dim=1)
                for j, (r, s, rc) in enumerate(sel):
                    sums[s, rc] += met[j]
    mean_base = float(base.mean())
    for s in range(N):
        for rc in pairs_of[s]:
            out[s, rc] = float(sums[s, rc] / task.n_pairs) - mean_base
    return out


__all__ = [
    "head_means",
    "mean_replacement",
    "ablation_hooks",
    "run_with_heads_ablated",
    "scaled_head_hooks",
    "frozen_parameters",
    "clean_metric",
    "metric_under_masks",
    "ablation_effects",
    "faithfulness",
    "faithfulness_curve",
    "faithfulness_curves",
    "top_k_heads",
    "path_patching",
    "path_patching_matrix",
    "length_groups",
    "pair_groups",
    "padded_prompts",
    "final_logits",
    "head_z",
]
