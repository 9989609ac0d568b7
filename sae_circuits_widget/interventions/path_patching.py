"""Path patching (Wang et al. 2022): the effect of one sender head through one path.

The sender heads' output on the negatives reaches the receivers only, everything else
sees the clean sender. It runs in two passes. Pass A runs the positives with the
senders' ``z`` taken from the negatives and every other head frozen to its clean ``z``,
so the residual stream is ``clean + delta(senders)`` everywhere; the receivers' ``z``
computed in that pass (their inputs saw the delta) is recorded. Pass B runs the
positives normally with only the receivers' ``z`` replaced by the recorded values (and,
for the ``"logits"`` receiver, the direct delta added to the input of the final norm).
A receiver at or before the sender's layer cannot see the sender, so its path effect is
exactly zero.

MLPs. In a model with MLPs, pass A freezes the heads only (the units patched here): the
MLPs recompute from ``clean + delta(senders)``, so the effect counts the paths sender ->
MLPs -> receiver as well as the direct one. ``freeze_mlps=True`` also freezes every MLP
to its clean output in pass A, leaving the direct path only: then the effect on a head
receiver is that of patching the edges sender -> receiver (Q, K and V) of the edge graph
in :mod:`sae_circuits_widget.baselines.eap`, and on ``"logits"`` that of the edge sender -> logits.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..tasks.task import Head, Task
from .ablation import clean_metric
from .hooks import (
    FINAL_IN_HOOK,
    MAX_BATCH_ROWS,
    MLP_OUT_HOOK,
    Z_HOOK,
    as_heads,
    check_metric,
    chunks,
    final_logits,
    has_mlps,
    head_z,
    model_device,
    model_dims,
    pair_groups,
    progress_bar,
)


# --------------------------------------------------------------------------- path patching
def _as_receivers(receiver, L: int, H: int) -> tuple[list[Head], bool]:
    if isinstance(receiver, str) or receiver is None:
        if receiver in (None, "logits"):
            return [], True
        raise ValueError(f"receiver must be a head, a set of heads or 'logits', got {receiver!r}")
    if isinstance(receiver, tuple) and len(receiver) == 2 and not isinstance(receiver[0], (tuple, str)):
        return as_heads(receiver, L, H, "receiver"), False
    items = list(receiver)
    to_logits = any(isinstance(r, str) for r in items)
    bad = [r for r in items if isinstance(r, str) and r != "logits"]
    if bad:
        raise ValueError(f"receiver names must be heads or 'logits', got {bad!r}")
    return as_heads([r for r in items if not isinstance(r, str)], L, H, "receiver"), to_logits


def _mlp_freeze_hooks(clean: dict[str, Tensor], repeat: int = 1) -> list[tuple[str, object]]:
    """Hooks that set each MLP's output to its clean value (``clean``: hook name -> tensor),
    repeated ``repeat`` times along the batch."""
    return [(name, lambda x, hook, v=v: v.repeat(repeat, 1, 1).to(x.dtype)) for name, v in clean.items()]


def _mlp_names(model, freeze_mlps: bool) -> list[str]:
    """The MLP output hooks to freeze: every MLP's with ``freeze_mlps`` on a model with MLPs."""
    if not (freeze_mlps and has_mlps(model)):
        return []
    return [MLP_OUT_HOOK.format(layer) for layer in range(int(model.cfg.n_layers))]


@torch.no_grad()
def path_patching(model, task: Task, sender, receiver, *, freeze_mlps: bool = False) -> float:
    """Metric change when only the path sender -> receiver carries the negatives' sender output.

    ``sender``: a head or a set of heads. ``receiver``: a head, a set of heads, ``"logits"``
    (the direct path to the unembedding), or a set mixing heads and ``"logits"``.
    Returns ``mean metric(patched) - mean metric(clean)`` over the positives; exactly 0
    when no receiver is after the sender. ``freeze_mlps``: keep only the direct path,
    not the paths through MLPs (see the module docstring; no effect without MLPs).

    Example:
        >>> path_patching(model, task, sender=(0, 1), receiver=(2, 3))   # doctest: +SKIP
        -0.42
    """
    check_metric(task)
    L, H, _ = model_dims(model)
    senders = as_heads(sender, L, H, "sender")
    receivers, to_logits = _as_receivers(receiver, L, H)
    base = clean_metric(model, task).double()
    total = torch.zeros((), dtype=torch.float64)
    dev = model_device(model)
    mlp_names = _mlp_names(model, freeze_mlps)
    for idx, pos, neg, last in pair_groups(model, task):
        z_clean, extra = head_z(model, pos, extra=[FINAL_IN_HOOK, *mlp_names])
        z_neg, _ = head_z(model, neg)
        resid_clean = extra[FINAL_IN_HOOK]
        frozen_mlps = _mlp_freeze_hooks({n: extra[n] for n in mlp_names})
        recorded: dict[int, Tensor] = {}
        final: dict[str, Tensor] = {}

        def freeze(z, hook, layer):
            recorded[layer] = z.clone()  # what each head computes with input clean + delta(senders)
            out = z_clean[layer].clone()
            for sl, sh in senders:
                if sl == layer:
                    out[:, :, sh] = z_neg[layer][:, :, sh]
            return out

        def grab(x, hook):
            final["resid"] = x.clone()
            return x

        hooks_a = [(Z_HOOK.format(layer), (lambda z, hook, layer=layer: freeze(z, hook, layer))) for layer in range(L)]
        model.run_with_hooks(pos.to(dev), fwd_hooks=hooks_a + frozen_mlps + [(FINAL_IN_HOOK, grab)])
        delta_final = final["resid"] - resid_clean

        hooks_b = []
        for layer in sorted({r[0] for r in receivers}):
            heads_l = [h for rl, h in receivers if rl == layer]

            def patch(z, hook, layer=layer, heads_l=heads_l):
                z = z.clone()
                z[:, :, heads_l] = recorded[layer][:, :, heads_l]
                return z

            hooks_b.append((Z_HOOK.format(layer), patch))
        if to_logits:
            hooks_b.append((FINAL_IN_HOOK, lambda x, hook: x + delta_final))
        logits = final_logits(model.run_with_hooks(pos.to(dev), fwd_hooks=hooks_b), last)
        total += task.metric(logits, rows=idx).double().cpu().sum()
    return float(total / task.n_pairs - base.mean())


@torch.no_grad()
def path_patching_matrix(
    model, task: Task, *, progress: bool = False, max_batch: int = MAX_BATCH_ROWS, freeze_mlps: bool = False
) -> np.ndarray:
    """Path-patching effect of every sender head on every receiver: ``[L*H, L*H + 1]``.

    Entry ``[s, r]`` is ``path_patching(model, task, sender_s, receiver_r)`` with heads
    numbered ``layer * n_heads + head``; the last column is the direct path to the logits.
    Receivers at or before the sender's layer are 0. Senders are stacked along the batch
    in pass A and (sender, receiver) pairs in pass B. ``freeze_mlps`` as in :func:`path_patching`.
    """
    check_metric(task)
    L, H, _ = model_dims(model)
    N = L * H
    out = np.zeros((N, N + 1))
    base = clean_metric(model, task).double()
    dev = model_device(model)
    sums = torch.zeros(N, N + 1, dtype=torch.float64)
    # every (sender, receiver) pair with a path: later-layer heads and the logits (index N)
    pairs_of = {s: [r for r in range(N) if r // H > s // H] + [N] for s in range(N)}
    groups = pair_groups(model, task)
    steps = sum(len(list(chunks(N, max(1, max_batch // len(g[0]))))) for g in groups)
    bar = progress_bar(range(steps), steps, "path patching", progress)
    bar_it = iter(bar)
    mlp_names = _mlp_names(model, freeze_mlps)
    for idx, pos, neg, last in groups:
        b = len(idx)
        z_clean, extra = head_z(model, pos, extra=[FINAL_IN_HOOK, *mlp_names])
        z_neg, _ = head_z(model, neg)
        resid_clean = extra[FINAL_IN_HOOK]
        clean_mlps = {n: extra[n] for n in mlp_names}
        per = max(1, max_batch // b)
        for s_chunk in chunks(N, per):
            next(bar_it, None)
            m = len(s_chunk)
            toks = pos.repeat(m, 1)
            recorded: dict[int, Tensor] = {}
            final: dict[str, Tensor] = {}

            def freeze(z, hook, layer, s_chunk=s_chunk, m=m):
                recorded[layer] = z.clone()
                out_z = z_clean[layer].repeat(m, 1, 1, 1)
                for r, s in enumerate(s_chunk):
                    if s // H == layer:
                        out_z[r * b:(r + 1) * b, :, s % H] = z_neg[layer][:, :, s % H]
                return out_z

            def grab(x, hook):
                final["resid"] = x.clone()
                return x

            hooks_a = [(Z_HOOK.format(layer), (lambda z, hook, layer=layer: freeze(z, hook, layer))) for layer in range(L)]
            frozen_mlps = _mlp_freeze_hooks(clean_mlps, repeat=m)
            model.run_with_hooks(toks.to(dev), fwd_hooks=hooks_a + frozen_mlps + [(FINAL_IN_HOOK, grab)])
            delta = final["resid"] - resid_clean.repeat(m, 1, 1)  # [m*b, T, d_model]

            plist = [(r, s, rc) for r, s in enumerate(s_chunk) for rc in pairs_of[s]]
            per_b = max(1, max_batch // b)
            for p_chunk in chunks(len(plist), per_b):
                sel = [plist[i] for i in p_chunk]
                q = len(sel)
                toks_b = pos.repeat(q, 1)
                hooks_b = []
                for layer in range(1, L):
                    rows = [(j, r, rc % H) for j, (r, s, rc) in enumerate(sel) if rc < N and rc // H == layer]
                    if not rows:
                        continue

                    def patch(z, hook, layer=layer, rows=rows):
                        z = z.clone()
                        for j, r, h in rows:
                            z[j * b:(j + 1) * b, :, h] = recorded[layer][r * b:(r + 1) * b, :, h]
                        return z

                    hooks_b.append((Z_HOOK.format(layer), patch))
                add = torch.zeros(q * b, *resid_clean.shape[1:], device=resid_clean.device, dtype=resid_clean.dtype)
                for j, (r, _s, rc) in enumerate(sel):
                    if rc == N:
                        add[j * b:(j + 1) * b] = delta[r * b:(r + 1) * b]
                hooks_b.append((FINAL_IN_HOOK, lambda x, hook, add=add: x + add))
                logits = final_logits(model.run_with_hooks(toks_b.to(dev), fwd_hooks=hooks_b), last.repeat(q))
                met = task.metric(logits, rows=list(idx) * q).double().cpu().reshape(q, b).sum(dim=1)
                for j, (_r, s, rc) in enumerate(sel):
                    sums[s, rc] += met[j]
    mean_base = float(base.mean())
    for s in range(N):
        for rc in pairs_of[s]:
            out[s, rc] = float(sums[s, rc] / task.n_pairs) - mean_base
    return out

