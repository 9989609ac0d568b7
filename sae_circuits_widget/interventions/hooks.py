"""Hooks and batching for interventions on attention heads.

Every intervention edits the per-head attention output ``blocks.{l}.attn.hook_z``
(``[batch, pos, head, d_head]``) of a TransformerBridge. Heads are the units: in a model
with MLPs (GPT-2 style) the MLPs are never ablated here, they recompute from whatever the
heads write. A head is *ablated* by replacing its ``z`` with a replacement value:

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

Batching: metrics are read at each prompt's final position, and the model is causal
with absolute positions, so prompts of different lengths share one right-padded batch
(:func:`padded_prompts`, :func:`pair_groups`); interventions are stacked along the
batch too, so ``M`` interventions on ``n`` prompts cost about ``M * n / 512`` forwards,
never one per prompt. Averages over positions (:func:`head_means`) group prompts by
length instead, so padding never enters a mean.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> model = tiny_model()
    >>> tokens, last = padded_prompts(model, ["When Mary and John went", "Mary"])
    >>> tokens.shape[0], last.tolist()
    (2, [5, 1])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Optional, Union

import numpy as np
import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from ..tasks.task import Head, Task

Z_HOOK = "blocks.{}.attn.hook_z"
MLP_OUT_HOOK = "blocks.{}.mlp.hook_out"
"""A block's MLP output (bias included), on models with MLPs."""
FINAL_IN_HOOK = "ln_final.hook_in"
MAX_BATCH_ROWS = 512
"""Largest batch (prompts x stacked interventions) sent through the model at once."""

Reference = Literal["both", "positives", "negatives"]
PerPosition = Union[bool, Literal["auto"]]


def model_dims(model) -> tuple[int, int, int]:
    return int(model.cfg.n_layers), int(model.cfg.n_heads), int(model.cfg.d_head)


def has_mlps(model) -> bool:
    """True when the model's blocks have MLPs (``cfg.attn_only`` is False)."""
    return not bool(getattr(model.cfg, "attn_only", False))


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


def _right_pad(model, toks: list[Tensor]) -> tuple[Int[Tensor, "b pos"], Int[Tensor, " b"]]:
    T = max(int(t.shape[1]) for t in toks)
    out = torch.full((len(toks), T), _pad_id(model), dtype=toks[0].dtype)
    last = torch.zeros(len(toks), dtype=torch.long)
    for i, t in enumerate(toks):
        out[i, : t.shape[1]] = t[0]
        last[i] = t.shape[1] - 1
    return out, last


def padded_prompts(model, prompts: Sequence[str]) -> tuple[Int[Tensor, "n pos"], Int[Tensor, " n"]]:
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
) -> list[tuple[list[int], Int[Tensor, "b pos"], Int[Tensor, "b pos"], Int[Tensor, " b"]]]:
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


def final_logits(logits: Float[Tensor, "b pos d_vocab"], last: Int[Tensor, " b"]) -> Float[Tensor, "b d_vocab"]:
    """The logits at each row's final real position."""
    return logits[torch.arange(logits.shape[0], device=logits.device), last.to(logits.device)]


def model_device(model) -> torch.device:
    return next(model.parameters()).device


def head_z(model, tokens: Int[Tensor, "b pos"], extra: Sequence[str] = ()) -> tuple[Float[Tensor, "L b pos H d_head"], dict]:
    """Every head's ``hook_z`` on ``tokens``, stacked over layers, plus any ``extra`` hooks."""
    L, _, _ = model_dims(model)
    names = {Z_HOOK.format(layer) for layer in range(L)} | set(extra)
    _, cache = model.run_with_cache(tokens.to(model_device(model)), names_filter=lambda n: n in names)
    z = torch.stack([cache[Z_HOOK.format(layer)] for layer in range(L)])
    return z, {k: cache[k] for k in extra}


def check_metric(task: Task) -> None:
    if not task.has_metric:
        raise ValueError(
            f"task {task.name!r} has no correct_ids/incorrect_ids, so it has no logit-difference "
            "metric; build it with get_task or give correct_ids and incorrect_ids"
        )


def as_heads(heads: Union[Head, Iterable[Head]], L: int, H: int, what: str) -> list[Head]:
    one = isinstance(heads, tuple) and len(heads) == 2 and all(isinstance(x, (int, np.integer)) for x in heads)
    items: Iterable[Any] = [heads] if one else heads
    out = []
    for h in items:
        if not (isinstance(h, tuple) and len(h) == 2):
            raise TypeError(f"{what} must be (layer, head) tuples, got {h!r}")
        layer, k = int(h[0]), int(h[1])
        if not (0 <= layer < L and 0 <= k < H):
            raise ValueError(f"{what} {h!r} is outside the model's {L} layers x {H} heads")
        out.append((layer, k))
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
    assert total is not None  # at least one length group: prompts is not empty (checked above)
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
    L, H, D = model_dims(model)
    mask = torch.as_tensor(mask, dtype=torch.bool)
    if mask.shape[-2:] != (L, H) or mask.ndim not in (2, 3):
        raise ValueError(f"mask must have shape [{L}, {H}] or [batch, {L}, {H}], got {tuple(mask.shape)}")
    if replacement.ndim not in (3, 4, 5) or replacement.shape[0] != L or replacement.shape[-2:] != (H, D):
        raise ValueError(
            f"replacement must be [L, H, d_head], [L, pos, H, d_head] or [L, batch, pos, H, d_head] "
            f"with L={L}, H={H}, d_head={D}; got {tuple(replacement.shape)}"
        )
    dev = model_device(model)
    hooks = []
    for layer in range(L):
        m_l = mask[..., layer, :]
        if not bool(m_l.any()):
            continue
        m_l = m_l.to(dev)
        m_l = m_l[None, None, :, None] if m_l.ndim == 1 else m_l[:, None, :, None]
        rep = replacement[layer].to(dev)

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

        hooks.append((Z_HOOK.format(layer), hook))
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
    L, H, D = model_dims(model)
    if scale.shape[-2:] != (L, H) or scale.ndim not in (2, 3):
        raise ValueError(f"scale must have shape [{L}, {H}] or [batch, {L}, {H}], got {tuple(scale.shape)}")
    hooks = []
    for layer in range(L):
        s_l = scale[..., layer, :]
        s_l = s_l[None, None, :, None] if s_l.ndim == 1 else s_l[:, None, :, None]
        base = None if baseline is None else baseline[layer]

        def hook(z, hook, s_l=s_l, base=base):
            if base is None:
                return z * s_l.to(z.dtype)
            b = base.to(z.dtype)
            return b + s_l.to(z.dtype) * (z - b)

        hooks.append((Z_HOOK.format(layer), hook))
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
    return model.run_with_hooks(tokens.to(model_device(model)), fwd_hooks=hooks)


def chunks(n: int, size: int) -> Iterable[range]:
    for s in range(0, n, size):
        yield range(s, min(n, s + size))


def progress_bar(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False)
