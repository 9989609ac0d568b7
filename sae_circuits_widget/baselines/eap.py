"""Edge attribution patching (EAP) on attention-only models, and the edge graph it shares with ACDC.

The computational graph
-----------------------
In an attention-only transformer the residual stream entering layer ``l`` is exactly the
sum of the token + position embeddings, the output of every head in layers ``< l`` and
the output biases ``b_O`` of those layers. So every head's input can be written as a sum
over *senders*, and each term can be switched between its value on the clean (positive)
prompt and its value on the corrupted (negative) prompt independently of the others:

- senders: ``embed`` (token + positional embedding) and every head ``A{l}.{h}`` (its
  ``z @ W_O`` contribution to the residual stream, without ``b_O``);
- receivers: every head's input (``A{l}.{h}``; or, with ``qkv="separate"``, its query,
  key and value inputs ``A{l}.{h}.Q/K/V`` as three receivers, as in ACDC and
  auto-circuit), and the logits (the residual stream entering the final LayerNorm);
- edges: (sender, receiver) for every sender strictly before the receiver's layer
  (and every sender for the logits).

The ``b_O`` biases are constant across clean and corrupted runs, so they are not edges:
they are always added. :class:`PatchableAttentionOnly` runs the model as this explicit
sum, which makes "patch edge s -> r" a multiplication by a 0/1 mask; on unpatched input
it reproduces the bridge's logits (checked when it is built).

Edge attribution patching (Syed, Rager & Conmy 2023)
----------------------------------------------------
Patching an edge replaces the sender's clean output ``a_s`` by its corrupted output
``a_s'`` in the receiver's input only. To first order the metric changes by

    score(s -> r) = (a_s' - a_s) . d metric / d x_r,

summed over prompts and positions, where ``x_r`` is the receiver's input on the clean
run. One forward pass on the negatives (``a'``), one on the positives (``a`` and the
graph) and one backward pass give every edge's score. The metric is the mean logit
difference of the task over the positives, so a score estimates the change of that mean.

Because the first-order term is linear in the receiver inputs, the sum of a sender's
outgoing edge scores is the attribution-patching estimate of patching the sender's
whole output (head-level attribution patching), whatever the receivers (pooled or
Q/K/V separate). ``node_scores`` is the absolute value of that sum (circuit heads may
raise or lower the metric; ranking uses magnitude); ``edge_scores`` holds ``|score|``
of head -> head edges (summed over Q/K/V first). Signed values and the edges from the
embeddings and to the logits are in ``extras``.

Example:
    >>> from sae_circuits_widget.testing import tiny_model
    >>> from sae_circuits_widget.baselines.eap import eap
    >>> model = tiny_model()  # doctest: +SKIP
    >>> result = eap(model, task)  # doctest: +SKIP
    >>> result.node_scores.shape  # doctest: +SKIP
    (2, 4)

Length: over 500 lines because the patchable forward pass, the edge graph and the
attribution share private shapes that a split would have to make public; ACDC
(``acdc.py``) reuses the first two.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from ..engine.result import CircuitResult
from ..tasks.task import Task

QKVMode = Literal["pooled", "separate"]
CHANNELS = ("Q", "K", "V")


# --------------------------------------------------------------------------------------
# The edge graph
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeGraph:
    """Names and indices of senders, receivers and edges of an attention-only model.

    Senders are numbered ``0 = embed`` and ``1 + l * n_heads + h`` for head (l, h).
    Receivers are numbered in topological order; the logits come last.

    Example:
        >>> g = EdgeGraph(n_layers=2, n_heads=2)
        >>> g.n_edges, g.edge_names()[:2]
        (13, ['embed->A0.0', 'embed->A0.1'])
    """

    n_layers: int
    n_heads: int
    qkv: QKVMode = "pooled"

    @property
    def n_channels(self) -> int:
        return 3 if self.qkv == "separate" else 1

    @property
    def n_senders(self) -> int:
        return 1 + self.n_layers * self.n_heads

    def senders_before(self, layer: int) -> int:
        """Number of senders that feed layer ``layer`` (``n_layers`` = the logits)."""
        return 1 + layer * self.n_heads

    def sender_name(self, s: int) -> str:
        if s == 0:
            return "embed"
        layer, head = divmod(s - 1, self.n_heads)
        return f"A{layer}.{head}"

    def receivers(self) -> list[tuple[str, int, int, int]]:
        """(name, layer, head, channel) per receiver; the logits are (``"logits"``, L, -1, -1)."""
        out = []
        for layer in range(self.n_layers):
            for head in range(self.n_heads):
                for c in range(self.n_channels):
                    suffix = f".{CHANNELS[c]}" if self.qkv == "separate" else ""
                    out.append((f"A{layer}.{head}{suffix}", layer, head, c))
        out.append(("logits", self.n_layers, -1, -1))
        return out

    @property
    def n_edges(self) -> int:
        per_head = sum(self.senders_before(layer) for layer in range(self.n_layers))
        return per_head * self.n_heads * self.n_channels + self.n_senders

    def edges(self) -> list[tuple[int, int]]:
        """(sender index, receiver index) for every edge, receivers in topological order."""
        out = []
        for r, (_, layer, _, _) in enumerate(self.receivers()):
            out.extend((s, r) for s in range(self.senders_before(layer)))
        return out

    def edge_names(self) -> list[str]:
        recv = self.receivers()
        return [f"{self.sender_name(s)}->{recv[r][0]}" for s, r in self.edges()]


def gpt2_small_edge_count(qkv_separate: bool = True, with_mlps: bool = True) -> int:
    """Edges of GPT-2 small's graph in ACDC's convention (12 layers x 12 heads, MLPs).

    Senders: embeddings, every head, every MLP. Receivers: every head's Q/K/V input,
    every MLP's input, the logits. A head in layer l sees the embeddings, the heads and
    MLPs of earlier layers; the MLP of layer l also sees the heads of layer l.

    Example:
        >>> gpt2_small_edge_count()
        32491
    """
    n_layers, n_heads = 12, 12
    ch = 3 if qkv_separate else 1
    total = 0
    for layer in range(n_layers):
        senders = 1 + n_heads * layer + (layer if with_mlps else 0)
        total += n_heads * ch * senders
        if with_mlps:
            total += 1 + n_heads * (layer + 1) + layer
    total += 1 + n_heads * n_layers + (n_layers if with_mlps else 0)
    return total


def edge_head_scores(edge_scores: Float[np.ndarray, "heads heads"], n_layers: int, n_heads: int) -> np.ndarray:
    """Edge scores pooled per head, ``[n_layers, n_heads]``, for the edge AUC.

    The SAE method's rule (``scoring.pool_edge_scores``: how often a head is in the top
    ``k`` pairs) with ``k`` = half of the head pairs that can be edges here (sender in an
    earlier layer than the receiver); the SAE's default ``k`` = half of *all* ordered
    pairs would count every edge of an attention-only graph and carry no signal.
    """
    from ..engine.scoring import pool_edge_scores

    layer_of = np.arange(n_layers * n_heads) // n_heads
    n_candidates = int((layer_of[:, None] < layer_of[None, :]).sum())
    return pool_edge_scores(edge_scores, top_k=max(1, n_candidates // 2)).reshape(n_layers, n_heads)


# --------------------------------------------------------------------------------------
# Tokens and the task metric
# --------------------------------------------------------------------------------------


@dataclass
class PairBatch:
    """Token ids of aligned positive/negative prompts, right-padded, with final positions."""

    positives: Int[Tensor, "batch pos"]
    negatives: Int[Tensor, "batch pos"]
    last: Int[Tensor, " batch"]
    """Index of each prompt's final token (the metric's position)."""
    metric_weights: Optional[Float[Tensor, "batch d_vocab"]]
    """Row i: +1/|correct| on correct ids, -1/|incorrect| on incorrect ids (logit difference)."""


def tokenize_pairs(model, task: Task, n: Optional[int] = None) -> PairBatch:
    """Tokenize the first ``n`` aligned pairs of ``task`` (all by default).

    Raises ValueError when a positive and its negative differ in token count (edge
    patching swaps activations position by position, so pairs must align).
    """
    n_pairs = task.n_pairs if n is None else min(n, task.n_pairs)
    if n_pairs == 0:
        raise ValueError(f"task {task.name!r} has no prompt pairs; give positives and negatives")
    pos, neg = [], []
    for i in range(n_pairs):
        p = model.to_tokens(task.positives[i])[0]
        q = model.to_tokens(task.negatives[i])[0]
        if p.shape[0] != q.shape[0]:
            raise ValueError(
                f"pair {i} of task {task.name!r} is not aligned: the positive has {p.shape[0]} "
                f"tokens and the negative {q.shape[0]}; use prompts of equal token count"
            )
        pos.append(p)
        neg.append(q)
    lengths = torch.tensor([t.shape[0] for t in pos])
    width = int(lengths.max())
    pad = lambda ts: torch.stack([F.pad(t, (0, width - t.shape[0]), value=0) for t in ts])  # noqa: E731
    weights = None
    if task.correct_ids is not None and task.incorrect_ids is not None:  # task.has_metric
        d_vocab = model.cfg.d_vocab
        weights = torch.zeros(n_pairs, d_vocab)
        for i in range(n_pairs):
            good, bad = list(task.correct_ids[i]), list(task.incorrect_ids[i])
            weights[i].index_add_(0, torch.tensor(good), torch.full((len(good),), 1.0 / len(good)))
            weights[i].index_add_(0, torch.tensor(bad), torch.full((len(bad),), -1.0 / len(bad)))
    device = next(iter(model.parameters())).device
    return PairBatch(pad(pos).to(device), pad(neg).to(device), (lengths - 1).to(device),
                     None if weights is None else weights.to(device))


# --------------------------------------------------------------------------------------
# The patchable forward pass
# --------------------------------------------------------------------------------------


class PatchableAttentionOnly:
    """An attention-only TransformerBridge run as an explicit sum of sender outputs.

    Every receiver's input is built from the senders that feed it, so any set of edges
    can be switched to their corrupted values with a mask, and gradients with respect to
    each receiver's own input are available. Built from the bridge's weights; on build,
    the unpatched forward is checked against ``model(tokens)`` on a probe prompt.

    Example:
        >>> pm = PatchableAttentionOnly(model, qkv="separate")  # doctest: +SKIP
        >>> logits = pm.logits(tokens, last)  # doctest: +SKIP
    """

    def __init__(self, model, qkv: QKVMode = "pooled", check: bool = True):
        cfg = model.cfg
        if qkv not in ("pooled", "separate"):
            raise ValueError(f"qkv must be 'pooled' or 'separate', got {qkv!r}")
        if not getattr(cfg, "attn_only", False):
            raise ValueError(
                "edge patching here needs an attention-only model (cfg.attn_only=True); "
                "models with MLPs need MLP senders/receivers, which this module does not build"
            )
        pos_kind = (getattr(cfg, "positional_embedding_type", None) or "standard").lower()
        if pos_kind != "standard":
            raise ValueError(
                f"positional_embedding_type={pos_kind!r} is not supported; use a model with "
                "learned absolute positions ('standard')"
            )
        n_kv = getattr(cfg, "n_key_value_heads", None)
        if n_kv not in (None, cfg.n_heads):
            raise ValueError("grouped-query attention (n_key_value_heads) is not supported")
        self.model = model
        self.graph = EdgeGraph(cfg.n_layers, cfg.n_heads, qkv)
        self.n_layers, self.n_heads = cfg.n_layers, cfg.n_heads
        with torch.no_grad():
            get = lambda t: t.detach().float().clone()  # noqa: E731
            self.W_E, self.W_pos = get(model.W_E), get(model.W_pos)
            self.W_Q, self.W_K, self.W_V, self.W_O = (get(model.W_Q), get(model.W_K),
                                                      get(model.W_V), get(model.W_O))
            self.b_Q, self.b_K, self.b_V, self.b_O = (get(model.b_Q), get(model.b_K),
                                                      get(model.b_V), get(model.b_O))
            self.W_U, self.b_U = get(model.W_U), get(model.b_U)
            # bias_before[l] = sum of b_O of layers < l (always present, never patched)
            self.bias_before = torch.cat([torch.zeros(1, cfg.d_model), self.b_O.cumsum(0)])
        self.ln1 = [self._norm(model.blocks[layer].ln1) for layer in range(cfg.n_layers)]
        self.ln_final = self._norm(model.ln_final)
        attn = model.blocks[0].attn
        inner = getattr(attn, "original_component", None)
        scale = getattr(inner, "scale", None)
        if scale is None:
            a = getattr(cfg, "attn_scale", -1.0)
            scale = a if (getattr(cfg, "use_attn_scale", True) and a and a > 0) else cfg.d_head ** 0.5
        self.scale = float(scale)
        if check:
            self._check_against_model()

    @staticmethod
    def _norm(bridge_module):
        inner = getattr(bridge_module, "original_component", None)
        return inner if inner is not None else bridge_module

    def _check_against_model(self) -> None:
        n_ctx = min(8, self.W_pos.shape[0])
        g = torch.Generator().manual_seed(0)
        tokens = torch.randint(0, self.W_E.shape[0], (2, n_ctx), generator=g).to(self.W_E.device)
        with torch.no_grad():
            ref = self.model(tokens).float()
            mine = self.full_logits(tokens)
        err = (ref - mine).abs().max().item()
        tol = 1e-3 * max(1.0, ref.abs().max().item())
        if not err <= tol:
            raise ValueError(
                f"this model's forward pass differs from an attention-only sum of heads "
                f"(max logit error {err:.3g}); edge patching supports plain attention-only "
                "TransformerBridge models (LayerNorm, learned positions, no MLPs)"
            )

    # -- pieces -------------------------------------------------------------------------

    def embed(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos d_model"]:
        return self.W_E[tokens] + self.W_pos[: tokens.shape[1]].unsqueeze(0)

    def layer(
        self,
        layer: int,
        xq: Float[Tensor, "batch pos head_or_1 d_model"],
        xk: Float[Tensor, "batch pos head_or_1 d_model"],
        xv: Float[Tensor, "batch pos head_or_1 d_model"],
        head: Optional[int] = None,
        query_rows: Optional[Int[Tensor, " batch"]] = None,
    ) -> Float[Tensor, "batch pos head d_model"]:
        """Per-head outputs (``z @ W_O``, no ``b_O``) of ``layer`` from per-head inputs.

        An input with a head axis of size 1 is shared by every head (computed once).
        With ``head``, only that head is computed (output ``[batch, pos, 1, d_model]``).
        With ``query_rows``, only the query at position ``query_rows[i]`` of prompt ``i``
        is computed (output ``[batch, 1, head, d_model]``): enough for the last layer,
        whose only reader is the final position's logits.
        """
        ln = self.ln1[layer]
        sel = slice(None) if head is None else slice(head, head + 1)
        H = self.n_heads if head is None else 1
        normed: dict[int, Tensor] = {}

        def proj(x: Tensor, W: Tensor, b: Tensor) -> Tensor:
            if id(x) not in normed:
                normed[id(x)] = ln(x)
            n = normed[id(x)]
            B, P, Hx, D = n.shape
            if Hx == 1:  # one input for all heads: a single matmul
                out = (n.reshape(B * P, D) @ W.permute(1, 0, 2).reshape(D, -1)).view(B, P, H, -1)
            else:  # one input per head: a batched matmul over heads
                out = torch.bmm(n.permute(2, 0, 1, 3).reshape(H, B * P, D), W).view(H, B, P, -1)
                out = out.permute(1, 2, 0, 3)
            return (out + b).transpose(1, 2)  # [b, head, p, d_head]

        if query_rows is not None:
            xq = xq[torch.arange(xq.shape[0], device=xq.device), query_rows].unsqueeze(1)
        q = proj(xq, self.W_Q[layer, sel], self.b_Q[layer, sel])
        k = proj(xk, self.W_K[layer, sel], self.b_K[layer, sel])
        v = proj(xv, self.W_V[layer, sel], self.b_V[layer, sel])
        scores = q @ k.transpose(-1, -2) / self.scale
        n = scores.shape[-1]
        if query_rows is None:
            causal = torch.triu(torch.ones(n, n, dtype=torch.bool, device=scores.device), diagonal=1)
        else:
            keys = torch.arange(n, device=scores.device)
            causal = (keys[None, :] > query_rows[:, None])[:, None, None, :]  # [b, 1, 1, keys]
        pattern = scores.masked_fill(causal, float("-inf")).softmax(-1)
        z = pattern @ v  # [b, head, p, d_head]
        B, _, P, dh = z.shape
        out = torch.bmm(z.transpose(0, 1).reshape(H, B * P, dh), self.W_O[layer, sel])  # [head, b*p, d]
        return out.view(H, B, P, -1).permute(1, 2, 0, 3)  # [b, p, head, d_model]

    def unembed(self, x: Float[Tensor, "batch d_model"]) -> Float[Tensor, "batch d_vocab"]:
        return self.ln_final(x) @ self.W_U + self.b_U

    # -- whole passes -----------------------------------------------------------------

    def senders(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos sender d_model"]:
        """Every sender's output on an unpatched run (the corrupted values for patching)."""
        with torch.no_grad():
            outs = [self.embed(tokens).unsqueeze(2)]
            resid = outs[0][:, :, 0]
            for layer in range(self.n_layers):
                x = (resid + self.bias_before[layer]).unsqueeze(2)
                h = self.layer(layer, x, x, x)
                outs.append(h)
                resid = resid + h.sum(2)
            return torch.cat(outs, dim=2)

    def full_logits(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos d_vocab"]:
        s = self.senders(tokens)
        return self.unembed(s.sum(2) + self.bias_before[self.n_layers])

    def context(self, batch: "PairBatch") -> "PatchContext":
        """Clean and corrupted sender outputs of a prompt batch, for :meth:`run_patched`."""
        clean = self.senders(batch.positives)
        corrupt = self.senders(batch.negatives)
        delta = clean - corrupt
        resid = [clean[:, :, : self.graph.senders_before(layer)].sum(2) for layer in range(self.n_layers + 1)]
        corrupt_resid = [corrupt[:, :, : self.graph.senders_before(layer)].sum(2) for layer in range(self.n_layers + 1)]
        rows = torch.arange(clean.shape[0], device=clean.device)
        return PatchContext(clean, corrupt, delta, resid, corrupt_resid, batch.last, delta[rows, batch.last])

    def run_patched(
        self,
        ctx: "PatchContext",
        masks: list[Tensor],
        final_mask: Float[Tensor, " sender"],
        start_layer: int = 0,
        given_output: Optional[Float[Tensor, "batch pos head d_model"]] = None,
    ) -> Float[Tensor, "batch d_vocab"]:
        """Final-position logits with edges patched, recomputing layers ``>= start_layer``.

        ``given_output``: the outputs of layer ``start_layer`` under ``masks``, when the
        caller already has them (ACDC recomputes only the receiver head); for the last
        layer, at the final positions only (``[batch, 1, head, d_model]``).

        ``masks[l]`` is ``[channel, senders_before(l), head]`` with 1 = clean edge, 0 =
        corrupted (the sender's output on the negative prompt); ``final_mask`` the same
        for the edges into the logits. Every mask of a layer below ``start_layer`` must
        be all ones (those layers are taken from the clean run). A receiver's input is
        the current residual sum minus ``(current - corrupted)`` output of each patched
        sender (or the corrupted sum plus that of each kept sender, whichever is fewer),
        so a test costs little when few edges are patched or few are kept.
        """
        H = self.n_heads
        n_prefix = self.graph.senders_before(start_layer)
        resid = ctx.resid[start_layer]
        new_delta: list[Tensor] = []  # current - corrupted outputs of recomputed layers

        def gather(idx: Tensor, prefix: Tensor, new: list[Tensor]) -> Tensor:
            old = idx[idx < n_prefix]
            parts = [prefix.index_select(-2, old)] if old.numel() else []
            fresh = idx[idx >= n_prefix] - n_prefix
            if fresh.numel():
                parts.append(torch.cat(new, dim=-2).index_select(-2, fresh))
            return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-2)

        L = self.n_layers
        rows = torch.arange(resid.shape[0], device=resid.device)
        last_delta: list[Tensor] = []  # the same at the final positions
        resid_last = resid[rows, ctx.last]
        for layer in range(start_layer, L):
            final_layer = layer == L - 1  # only the final positions matter there
            if layer == start_layer and given_output is not None:
                h = given_output
            else:
                bias = self.bias_before[layer]
                xs = self._inputs(masks[layer], resid + bias, ctx.corrupt_resid[layer] + bias,
                                  lambda idx: gather(idx, ctx.delta, new_delta))
                h = self.layer(layer, *xs, query_rows=ctx.last if final_layer else None)
            corrupt_l = ctx.corrupt[:, :, 1 + layer * H: 1 + (layer + 1) * H]
            if final_layer:
                last_delta.append(h[:, 0] - corrupt_l[rows, ctx.last])
                resid_last = resid_last + h[:, 0].sum(1)
            else:
                new_delta.append(h - corrupt_l)
                last_delta.append(new_delta[-1][rows, ctx.last])
                resid = resid + h.sum(2)
                resid_last = resid[rows, ctx.last]
        x = resid_last + self.bias_before[L]
        removed_w = 1.0 - final_mask
        removed = removed_w.nonzero().flatten()
        if removed.numel():
            d_r = gather(removed, ctx.delta_last, last_delta)  # [b, r, d]
            x = x - torch.einsum("brd,r->bd", d_r, removed_w[removed])
        return self.unembed(x)

    @staticmethod
    def _inputs(mask: Tensor, x: Tensor, x_corrupt: Tensor, gather) -> tuple[Tensor, Tensor, Tensor]:
        """Q/K/V inputs ``[b, p, head or 1, d]`` of one layer under its edge mask.

        ``x``: sum of the current outputs of the layer's senders (+ biases); ``x_corrupt``:
        the same sum with every sender corrupted. Either subtract ``current - corrupted``
        for the patched edges or add it for the kept ones, whichever set is smaller.
        """
        any_removed = (mask < 1).any(2).any(0)  # [n_s]
        any_kept = (mask > 0).any(2).any(0)
        n_removed, n_kept = int(any_removed.sum()), int(any_kept.sum())
        if n_removed == 0:
            x = x.unsqueeze(2)
            return x, x, x
        if n_kept == 0:
            x = x_corrupt.unsqueeze(2)
            return x, x, x
        if n_removed <= n_kept:
            idx = any_removed.nonzero().flatten()
            base, weights, sign = x, 1.0 - mask[:, idx], -1.0
        else:
            idx = any_kept.nonzero().flatten()
            base, weights, sign = x_corrupt, mask[:, idx], 1.0
        corr = torch.einsum("bprd,crh->cbphd", gather(idx), weights)
        base = base.unsqueeze(2)
        xs = [base + sign * corr[c] for c in range(corr.shape[0])]
        xq, xk, xv = xs * 3 if len(xs) == 1 else xs
        return xq, xk, xv

    def head_output(
        self, ctx: "PatchContext", masks: list[Tensor], layer: int, head: int
    ) -> Float[Tensor, "batch pos 1 d_model"]:
        """Output of one head of ``layer`` under ``masks`` (layers below must be unpatched).

        For the last layer, at the final positions only (``[batch, 1, 1, d_model]``).
        """
        bias = self.bias_before[layer]
        xs = self._inputs(masks[layer][:, :, head: head + 1], ctx.resid[layer] + bias,
                          ctx.corrupt_resid[layer] + bias, lambda idx: ctx.delta.index_select(-2, idx))
        rows = ctx.last if layer == self.n_layers - 1 else None
        return self.layer(layer, *xs, head=head, query_rows=rows)


@dataclass
class PatchContext:
    """Sender outputs of one batch of prompt pairs, reused by every patched run."""

    clean: Float[Tensor, "batch pos sender d_model"]
    corrupt: Float[Tensor, "batch pos sender d_model"]
    delta: Float[Tensor, "batch pos sender d_model"]
    """clean - corrupt."""
    resid: list[Tensor]
    """resid[l] = sum of the clean outputs of the senders before layer l, [batch, pos, d_model]."""
    corrupt_resid: list[Tensor]
    """The same sums over the corrupted outputs."""
    last: Int[Tensor, " batch"]
    delta_last: Float[Tensor, "batch sender d_model"]
    """delta at each prompt's final position."""


# --------------------------------------------------------------------------------------
# EAP
# --------------------------------------------------------------------------------------


def edge_attributions(
    pm: PatchableAttentionOnly, batch: PairBatch
) -> tuple[list[Tensor], Tensor, float]:
    """Signed EAP scores of every edge.

    Returns ``(per_layer, to_logits, clean_metric)``: ``per_layer[l]`` is ``[channel,
    senders_before(l), head]`` (score of sender -> head (l, h) via that channel),
    ``to_logits`` is ``[n_senders]``, and the clean mean metric.
    """
    if batch.metric_weights is None:
        raise ValueError("EAP needs a task metric: give the task correct_ids and incorrect_ids")
    g = pm.graph
    corrupt = pm.senders(batch.negatives)
    tokens = batch.positives
    b, p = tokens.shape
    d_model = pm.W_E.shape[1]
    probes: list[list[Tensor]] = []
    outs = [pm.embed(tokens).unsqueeze(2)]
    resid = outs[0][:, :, 0]
    for layer in range(pm.n_layers):
        x = (resid + pm.bias_before[layer]).unsqueeze(2)
        zs = [torch.zeros(b, p, pm.n_heads, d_model, requires_grad=True) for _ in range(g.n_channels)]
        xs = [x + z for z in zs]
        xq, xk, xv = xs * 3 if len(xs) == 1 else xs
        h = pm.layer(layer, xq, xk, xv)
        probes.append(zs)
        outs.append(h)
        resid = resid + h.sum(2)
    z_final = torch.zeros(b, p, d_model, requires_grad=True)
    final_in = resid + pm.bias_before[pm.n_layers] + z_final
    rows = torch.arange(b)
    logits = pm.unembed(final_in[rows, batch.last])
    metric = (logits * batch.metric_weights).sum(-1).mean()
    metric.backward()
    clean = torch.cat(outs, dim=2).detach()
    delta = corrupt - clean  # [b, p, sender, d]
    per_layer = []
    for layer in range(pm.n_layers):
        n_s = g.senders_before(layer)
        per_layer.append(torch.stack([
            torch.einsum("bpsd,bphd->sh", delta[:, :, :n_s], z.grad) for z in probes[layer]
        ]))
    to_logits = torch.einsum("bpsd,bpd->s", delta, z_final.grad)
    return per_layer, to_logits, float(metric.detach())


def eap(
    model,
    task: Task,
    seed: int = 0,
    *,
    qkv: QKVMode = "separate",
    n_pairs: Optional[int] = None,
) -> CircuitResult:
    """Edge attribution patching: per-edge and per-head attribution scores.

    ``node_scores[l, h]`` = ``|sum of head (l, h)'s outgoing edge scores|`` (head-level
    attribution patching); ``edge_scores[s, r]`` = ``|score|`` of head s -> head r summed
    over Q/K/V. ``edge_head_scores``: edge scores pooled per head (see
    :func:`edge_head_scores`). ``extras``: ``signed_node_scores``, ``signed_edge_scores``,
    ``embed_scores [LH]`` (embed -> head), ``logit_scores [LH]`` (head -> logits),
    ``edge_names`` and ``edge_values`` (every edge, signed), ``clean_metric``.
    ``seed`` is accepted for a uniform interface; EAP is deterministic.

    Example:
        >>> result = eap(model, task)  # doctest: +SKIP
        >>> result.top_heads(3)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    pm = PatchableAttentionOnly(model, qkv=qkv)
    batch = tokenize_pairs(model, task, n_pairs)
    t1 = time.perf_counter()
    per_layer, to_logits, clean_metric = edge_attributions(pm, batch)
    t2 = time.perf_counter()
    L, H = pm.n_layers, pm.n_heads
    LH = L * H
    signed_edges = np.zeros((LH, LH))
    embed_scores = np.zeros(LH)
    for layer, sc in enumerate(per_layer):
        pooled = sc.sum(0).numpy()  # [senders_before, head]
        embed_scores[layer * H:(layer + 1) * H] = pooled[0]
        if layer > 0:
            signed_edges[: layer * H, layer * H:(layer + 1) * H] = pooled[1:]
    logit_scores = to_logits[1:].numpy()
    signed_nodes = signed_edges.sum(1) + logit_scores
    names = pm.graph.edge_names()
    values = np.concatenate([_flatten_layer(sc) for sc in per_layer] + [to_logits.numpy()])
    return CircuitResult(
        method="eap",
        node_scores=np.abs(signed_nodes).reshape(L, H),
        edge_scores=np.abs(signed_edges),
        timings={"setup": t1 - t0, "attribution": t2 - t1},
        settings={"seed": seed, "qkv": qkv, "n_pairs": batch.positives.shape[0]},
        task_name=task.name,
        edge_head_scores=edge_head_scores(np.abs(signed_edges), L, H),
        extras={
            "signed_node_scores": signed_nodes.reshape(L, H),
            "signed_edge_scores": signed_edges,
            "embed_scores": embed_scores,
            "logit_scores": logit_scores,
            "edge_names": names,
            "edge_values": values,
            "clean_metric": clean_metric,
        },
    )


def _flatten_layer(sc: Tensor) -> np.ndarray:
    """Scores of one layer in :meth:`EdgeGraph.edges` order (receiver-major, then sender)."""
    # sc: [channel, sender, head]; receivers are ordered (head, channel)
    return sc.permute(2, 0, 1).reshape(-1).numpy()
