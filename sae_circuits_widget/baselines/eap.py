"""Edge attribution patching (EAP), and the edge graph it shares with ACDC.

The computational graph
-----------------------
In a GPT-2-style transformer (LayerNorm, learned positions, attention then MLP in each
block) the residual stream entering any component is exactly a sum: the token + position
embeddings, the output of every earlier head and MLP, and the output biases (``b_O``,
``b_out``) of those components. So every component's input can be written as a sum over
*senders*, and each term can be switched between its value on the clean (positive)
prompt and its value on the corrupted (negative) prompt independently of the others:

- senders: ``embed`` (token + positional embedding), every head ``A{l}.{h}`` (its
  ``z @ W_O`` contribution to the residual stream, without ``b_O``) and, in a model
  with MLPs, every MLP ``M{l}`` (its output without ``b_out``);
- receivers: every head's input (``A{l}.{h}``; or, with ``qkv="separate"``, its query,
  key and value inputs ``A{l}.{h}.Q/K/V`` as three receivers, as in ACDC and
  auto-circuit), every MLP's input ``M{l}``, and the logits (the residual stream
  entering the final LayerNorm);
- edges: (sender, receiver) for every sender before the receiver: a head of layer ``l``
  reads the embeddings and the heads and MLPs of layers ``< l``; the MLP of layer ``l``
  also reads the heads of layer ``l``; the logits read every sender. This is ACDC's
  GPT-2 graph (:func:`gpt2_small_edge_count`). An attention-only model has no MLP
  senders or receivers, and its graph is numbered as before MLPs were supported.

The biases are constant across clean and corrupted runs, so they are not edges: they
are always added. :class:`PatchableModel` runs the model as this explicit sum, which
makes "patch edge s -> r" a multiplication by a 0/1 mask; on unpatched input it
reproduces the bridge's logits (checked when it is built).

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
Q/K/V separate). ``node_scores`` is the absolute value of that sum per head (circuit
heads may raise or lower the metric; ranking uses magnitude); ``edge_scores`` holds
``|score|`` of head -> head edges (summed over Q/K/V first). Signed values, the MLPs'
scores and the edges from the embeddings, into and out of MLPs and to the logits are
in ``extras``.

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
from dataclasses import dataclass, field
from typing import Callable, Literal, NamedTuple, Optional

import numpy as np
import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from ..engine.result import CircuitResult
from ..tasks.task import Task

QKVMode = Literal["pooled", "separate"]
CHANNELS = ("Q", "K", "V")

SUPPORTED = (
    "edge patching supports GPT-2-style TransformerBridge models: LayerNorm, learned absolute "
    "positions, one key/value per head, attention-only or with sequential MLPs "
    "(activations gelu_new, gelu, relu, silu)"
)
"""What :class:`PatchableModel` accepts, named in its errors."""


# --------------------------------------------------------------------------------------
# The edge graph
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeGraph:
    """Names and indices of senders, receivers and edges of a model.

    Senders are numbered in topological order: ``0 = embed``, then per layer its heads
    and (with ``mlps``) its MLP: head (l, h) is ``1 + l * stride + h`` and MLP l is
    ``1 + l * stride + n_heads``, where ``stride = n_heads (+ 1 with MLPs)``. Receivers
    are numbered in topological order too (a layer's heads, then its MLP); the logits
    come last. Without MLPs (the default) this is the attention-only graph.

    Example:
        >>> g = EdgeGraph(n_layers=2, n_heads=2)
        >>> g.n_edges, g.edge_names()[:2]
        (13, ['embed->A0.0', 'embed->A0.1'])
        >>> m = EdgeGraph(n_layers=2, n_heads=2, mlps=True)
        >>> m.n_senders, m.sender_name(3), m.edge_names()[2]
        (7, 'M0', 'embed->M0')
    """

    n_layers: int
    n_heads: int
    qkv: QKVMode = "pooled"
    mlps: bool = False

    @property
    def n_channels(self) -> int:
        return 3 if self.qkv == "separate" else 1

    @property
    def stride(self) -> int:
        """Senders per layer: its heads, and its MLP when the graph has MLPs."""
        return self.n_heads + (1 if self.mlps else 0)

    @property
    def n_senders(self) -> int:
        return 1 + self.n_layers * self.stride

    def senders_before(self, layer: int) -> int:
        """Number of senders that feed the heads of layer ``layer`` (``n_layers`` = the logits)."""
        return 1 + layer * self.stride

    def mlp_senders_before(self, layer: int) -> int:
        """Number of senders that feed the MLP of layer ``layer`` (the heads of that layer included)."""
        if not self.mlps:
            raise ValueError("this graph has no MLPs (EdgeGraph(..., mlps=False))")
        return 1 + layer * self.stride + self.n_heads

    def head_sender(self, layer: int, head: int) -> int:
        """Sender index of head (layer, head)."""
        return 1 + layer * self.stride + head

    def mlp_sender(self, layer: int) -> int:
        """Sender index of the MLP of ``layer``."""
        if not self.mlps:
            raise ValueError("this graph has no MLPs (EdgeGraph(..., mlps=False))")
        return 1 + layer * self.stride + self.n_heads

    def head_senders(self, n: Optional[int] = None) -> np.ndarray:
        """Sender indices of the heads among the first ``n`` senders (all by default),
        in (layer, head) order: row ``l * n_heads + h`` of the ``[L*H, ...]`` arrays."""
        n = self.n_senders if n is None else n
        idx = np.array([self.head_sender(layer, h) for layer in range(self.n_layers)
                        for h in range(self.n_heads)], dtype=np.int64)
        return idx[idx < n]

    def sender_name(self, s: int) -> str:
        if s == 0:
            return "embed"
        layer, k = divmod(s - 1, self.stride)
        return f"M{layer}" if k == self.n_heads else f"A{layer}.{k}"

    def receivers(self) -> list[tuple[str, int, int, int]]:
        """(name, layer, head, channel) per receiver; an MLP is (``"M{l}"``, l, -1, -1),
        the logits are (``"logits"``, L, -1, -1)."""
        out = []
        for layer in range(self.n_layers):
            for head in range(self.n_heads):
                for c in range(self.n_channels):
                    suffix = f".{CHANNELS[c]}" if self.qkv == "separate" else ""
                    out.append((f"A{layer}.{head}{suffix}", layer, head, c))
            if self.mlps:
                out.append((f"M{layer}", layer, -1, -1))
        out.append(("logits", self.n_layers, -1, -1))
        return out

    def n_inputs(self, receiver: tuple[str, int, int, int]) -> int:
        """Number of senders feeding ``receiver`` (a tuple of :meth:`receivers`)."""
        name, layer, head, _ = receiver
        if head < 0 and name != "logits":
            return self.mlp_senders_before(layer)
        return self.senders_before(layer)

    @property
    def n_edges(self) -> int:
        per_head = sum(self.senders_before(layer) for layer in range(self.n_layers))
        n = per_head * self.n_heads * self.n_channels + self.n_senders
        if self.mlps:
            n += sum(self.mlp_senders_before(layer) for layer in range(self.n_layers))
        return n

    def edges(self) -> list[tuple[int, int]]:
        """(sender index, receiver index) for every edge, receivers in topological order."""
        out = []
        for r, rec in enumerate(self.receivers()):
            out.extend((s, r) for s in range(self.n_inputs(rec)))
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

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: F.gelu(x, approximate="tanh"),
    "gelu": F.gelu,
    "relu": F.relu,
    "silu": F.silu,
}
"""MLP activations by ``cfg.act_fn``; the tanh forms of GELU are one function up to rounding."""


def _refuse(why: str) -> ValueError:
    return ValueError(f"{why}; {SUPPORTED}")


class PatchableModel:
    """A TransformerBridge run as an explicit sum of sender outputs (heads, MLPs, embeddings).

    Every receiver's input is built from the senders that feed it, so any set of edges
    can be switched to their corrupted values with a mask, and gradients with respect to
    each receiver's own input are available. Built from the bridge's weights (attention
    ``W_Q/W_K/W_V/W_O`` and biases, and for a model with MLPs ``W_in, b_in, W_out,
    b_out`` and ``ln2`` of each block); on build, the unpatched forward is checked
    against ``model(tokens)`` on a probe prompt. ``has_mlps`` is False for an
    attention-only model (``cfg.attn_only``), whose graph has no MLP nodes.

    Raises ValueError, naming what is supported, for rotary or other non-learned
    positions, grouped-query attention, RMSNorm, parallel attention + MLP blocks, gated
    MLPs, an unknown activation, or a forward pass that the sum does not reproduce.

    Example:
        >>> pm = PatchableModel(model, qkv="separate")  # doctest: +SKIP
        >>> logits = pm.full_logits(tokens)  # doctest: +SKIP
    """

    def __init__(self, model, qkv: QKVMode = "pooled", check: bool = True):
        cfg = model.cfg
        if qkv not in ("pooled", "separate"):
            raise ValueError(f"qkv must be 'pooled' or 'separate', got {qkv!r}")
        pos_kind = (getattr(cfg, "positional_embedding_type", None) or "standard").lower()
        if pos_kind != "standard":
            raise _refuse(f"positional_embedding_type={pos_kind!r} is not supported")
        n_kv = getattr(cfg, "n_key_value_heads", None)
        if n_kv not in (None, cfg.n_heads):
            raise _refuse("grouped-query attention (n_key_value_heads) is not supported")
        norm = str(getattr(cfg, "normalization_type", "LN") or "LN").upper()
        if norm not in ("LN", "LNPRE"):
            raise _refuse(f"normalization_type={norm!r} is not supported")
        has_mlps = not getattr(cfg, "attn_only", False)
        if has_mlps:
            if getattr(cfg, "parallel_attn_mlp", False):
                raise _refuse("blocks with attention and MLP in parallel (parallel_attn_mlp) are not supported")
            if getattr(cfg, "gated_mlp", False):
                raise _refuse("gated MLPs (gated_mlp) are not supported")
            act = str(getattr(cfg, "act_fn", None) or "")
            if act not in _ACTIVATIONS:
                raise _refuse(f"MLP activation act_fn={act!r} is not supported")
            self.act = _ACTIVATIONS[act]
        self.model = model
        self.has_mlps = has_mlps
        self.graph = EdgeGraph(cfg.n_layers, cfg.n_heads, qkv, mlps=has_mlps)
        self.n_layers, self.n_heads = cfg.n_layers, cfg.n_heads
        with torch.no_grad():
            get = lambda t: t.detach().float().clone()  # noqa: E731
            self.W_E, self.W_pos = get(model.W_E), get(model.W_pos)
            self.W_Q, self.W_K, self.W_V, self.W_O = (get(model.W_Q), get(model.W_K),
                                                      get(model.W_V), get(model.W_O))
            self.b_Q, self.b_K, self.b_V, self.b_O = (get(model.b_Q), get(model.b_K),
                                                      get(model.b_V), get(model.b_O))
            self.W_U, self.b_U = get(model.W_U), get(model.b_U)
            if has_mlps:
                try:
                    self.W_in, self.b_in = get(model.W_in), get(model.b_in)
                    self.W_out, self.b_out = get(model.W_out), get(model.b_out)
                except (AttributeError, RuntimeError, KeyError) as err:
                    raise _refuse(f"this model's MLP weights (W_in, b_in, W_out, b_out) cannot be read ({err})") from None
                # bias_before[l] = sum of b_O and b_out of layers < l (always present, never patched)
                per_layer = self.b_O + self.b_out
                self.bias_before = torch.cat([torch.zeros(1, cfg.d_model), per_layer.cumsum(0)])
                # mlp_bias[l]: the biases in MLP l's input (those of layers < l, and b_O of layer l)
                self.mlp_bias = self.bias_before[:-1] + self.b_O
            else:
                # bias_before[l] = sum of b_O of layers < l (always present, never patched)
                self.bias_before = torch.cat([torch.zeros(1, cfg.d_model), self.b_O.cumsum(0)])
        self.ln1 = [self._norm(model.blocks[layer].ln1) for layer in range(cfg.n_layers)]
        self.ln2 = [self._norm(model.blocks[layer].ln2) for layer in range(cfg.n_layers)] if has_mlps else []
        self.ln_final = self._norm(model.ln_final)
        self.scales = [self._attn_scale(model, cfg, layer) for layer in range(cfg.n_layers)]
        self.scale = self.scales[0]
        if check:
            self._check_against_model()

    @staticmethod
    def _attn_scale(model, cfg, layer: int) -> float:
        """The divisor of the attention scores of ``layer``'s heads."""
        inner = getattr(model.blocks[layer].attn, "original_component", None)
        scale = getattr(inner, "scale", None)
        scaling = getattr(inner, "scaling", None)  # Hugging Face GPT-2: scores * scaling
        if scale is None and isinstance(scaling, (int, float)):
            scale = 1.0 / float(scaling)
        if scale is None:
            a = getattr(cfg, "attn_scale", -1.0)
            scale = a if (getattr(cfg, "use_attn_scale", True) and a and a > 0) else cfg.d_head ** 0.5
        return float(scale)

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
            what = "heads and MLPs" if self.has_mlps else "heads"
            raise _refuse(f"this model's forward pass differs from a sum of its {what} "
                          f"(max logit error {err:.3g})")

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
        scores = q @ k.transpose(-1, -2) / self.scales[layer]
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

    def mlp(self, layer: int, x: Float[Tensor, "... d_model"]) -> Float[Tensor, "... d_model"]:
        """Output of ``layer``'s MLP (without ``b_out``) from its residual input ``x``."""
        pre = self.ln2[layer](x) @ self.W_in[layer] + self.b_in[layer]
        return self.act(pre) @ self.W_out[layer]

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
                if self.has_mlps:
                    m = self.mlp(layer, resid + self.mlp_bias[layer])
                    outs.append(m.unsqueeze(2))
                    resid = resid + m
            return torch.cat(outs, dim=2)

    def full_logits(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos d_vocab"]:
        s = self.senders(tokens)
        return self.unembed(s.sum(2) + self.bias_before[self.n_layers])

    def context(self, batch: "PairBatch") -> "PatchContext":
        """Clean and corrupted sender outputs of a prompt batch, for :meth:`run_patched`."""
        clean = self.senders(batch.positives)
        corrupt = self.senders(batch.negatives)
        delta = clean - corrupt
        g = self.graph
        resid = [clean[:, :, : g.senders_before(layer)].sum(2) for layer in range(self.n_layers + 1)]
        corrupt_resid = [corrupt[:, :, : g.senders_before(layer)].sum(2) for layer in range(self.n_layers + 1)]
        rows = torch.arange(clean.shape[0], device=clean.device)
        ctx = PatchContext(clean, corrupt, delta, resid, corrupt_resid, batch.last, delta[rows, batch.last])
        if self.has_mlps:
            ctx.mlp_resid = [clean[:, :, : g.mlp_senders_before(layer)].sum(2) for layer in range(self.n_layers)]
            ctx.corrupt_mlp_resid = [corrupt[:, :, : g.mlp_senders_before(layer)].sum(2)
                                     for layer in range(self.n_layers)]
        return ctx

    def full_mlp_masks(self) -> list[Tensor]:
        """All-ones MLP masks (every edge into every MLP clean); empty without MLPs."""
        if not self.has_mlps:
            return []
        return [torch.ones(self.graph.mlp_senders_before(layer)) for layer in range(self.n_layers)]

    def run_patched(
        self,
        ctx: "PatchContext",
        masks: list[Tensor],
        final_mask: Float[Tensor, " sender"],
        start_layer: int = 0,
        given_output: Optional[Tensor] = None,
        mlp_masks: Optional[list[Tensor]] = None,
        start_at_mlp: bool = False,
    ) -> Float[Tensor, "batch d_vocab"]:
        """Final-position logits with edges patched, recomputing layers ``>= start_layer``.

        ``masks[l]`` is ``[channel, senders_before(l), head]`` with 1 = clean edge, 0 =
        corrupted (the sender's output on the negative prompt); ``mlp_masks[l]`` is
        ``[mlp_senders_before(l)]``, the same for the edges into MLP l (None: all clean;
        ignored without MLPs); ``final_mask`` the same for the edges into the logits.
        Every mask of a receiver before the starting point must be all ones (those
        components are taken from the clean run). ``start_at_mlp``: start at the MLP of
        ``start_layer`` (its heads are taken from the clean run too).

        ``given_output``: the output of the first recomputed component under the masks,
        when the caller already has it (ACDC recomputes only the receiver): the heads of
        ``start_layer`` (``[batch, pos, head, d_model]``), or its MLP with
        ``start_at_mlp`` (``[batch, pos, d_model]``). For the last layer, at the final
        positions only (``[batch, 1, head, d_model]``, or ``[batch, d_model]`` for its MLP).

        A receiver's input is the current residual sum minus ``(current - corrupted)``
        output of each patched sender (or the corrupted sum plus that of each kept
        sender, whichever is fewer), so a test costs little when few edges are patched
        or few are kept.
        """
        H = self.n_heads
        g = self.graph
        if start_at_mlp and not self.has_mlps:
            raise ValueError("start_at_mlp needs a model with MLPs")
        n_prefix = g.mlp_senders_before(start_layer) if start_at_mlp else g.senders_before(start_layer)
        resid = ctx.mlp_resid[start_layer] if start_at_mlp else ctx.resid[start_layer]
        new_delta: list[Tensor] = []  # current - corrupted outputs of recomputed components

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
            if not (start_at_mlp and layer == start_layer):
                if layer == start_layer and given_output is not None:
                    h = given_output
                else:
                    bias = self.bias_before[layer]
                    xs = self._inputs(masks[layer], resid + bias, ctx.corrupt_resid[layer] + bias,
                                      lambda idx: gather(idx, ctx.delta, new_delta))
                    h = self.layer(layer, *xs, query_rows=ctx.last if final_layer else None)
                s0 = g.head_sender(layer, 0)
                corrupt_l = ctx.corrupt[:, :, s0: s0 + H]
                if final_layer:
                    last_delta.append(h[:, 0] - corrupt_l[rows, ctx.last])
                    resid_last = resid_last + h[:, 0].sum(1)
                else:
                    new_delta.append(h - corrupt_l)
                    last_delta.append(new_delta[-1][rows, ctx.last])
                    resid = resid + h.sum(2)
                    resid_last = resid[rows, ctx.last]
            if not self.has_mlps:
                continue
            if start_at_mlp and layer == start_layer and given_output is not None:
                m = given_output
            else:
                mm = torch.ones(g.mlp_senders_before(layer)) if mlp_masks is None else mlp_masks[layer]
                bias = self.mlp_bias[layer]
                if final_layer:
                    x = self._mlp_input(mm, resid_last + bias, ctx.corrupt_mlp_resid[layer][rows, ctx.last] + bias,
                                        lambda idx: gather(idx, ctx.delta_last, last_delta))
                else:
                    x = self._mlp_input(mm, resid + bias, ctx.corrupt_mlp_resid[layer] + bias,
                                        lambda idx: gather(idx, ctx.delta, new_delta))
                m = self.mlp(layer, x)
            corrupt_m = ctx.corrupt[:, :, g.mlp_sender(layer)]
            if final_layer:
                last_delta.append((m - corrupt_m[rows, ctx.last]).unsqueeze(1))
                resid_last = resid_last + m
            else:
                new_delta.append((m - corrupt_m).unsqueeze(2))
                last_delta.append(new_delta[-1][rows, ctx.last])
                resid = resid + m
                resid_last = resid[rows, ctx.last]
        x = resid_last + self.bias_before[L]
        removed_w = 1.0 - final_mask
        removed = removed_w.nonzero().flatten()
        if removed.numel():
            d_r = gather(removed, ctx.delta_last, last_delta)  # [b, r, d]
            x = x - torch.einsum("brd,r->bd", d_r, removed_w[removed])
        return self.unembed(x)

    @staticmethod
    def _mlp_input(mask: Tensor, x: Tensor, x_corrupt: Tensor, gather) -> Tensor:
        """An MLP's input ``[..., d]`` under its edge mask ``[n_s]`` (as :meth:`_inputs`)."""
        removed, kept = mask < 1, mask > 0
        n_removed, n_kept = int(removed.sum()), int(kept.sum())
        if n_removed == 0:
            return x
        if n_kept == 0:
            return x_corrupt
        if n_removed <= n_kept:
            idx = removed.nonzero().flatten()
            return x - torch.einsum("...rd,r->...d", gather(idx), 1.0 - mask[idx])
        idx = kept.nonzero().flatten()
        return x_corrupt + torch.einsum("...rd,r->...d", gather(idx), mask[idx])

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


    def mlp_output(self, ctx: "PatchContext", mlp_masks: list[Tensor], layer: int) -> Tensor:
        """Output of ``layer``'s MLP under ``mlp_masks[layer]`` (every receiver before it unpatched).

        ``[batch, pos, d_model]``; for the last layer at the final positions only
        (``[batch, d_model]``), as :meth:`run_patched` takes it with ``start_at_mlp``.
        """
        bias = self.mlp_bias[layer]
        x, x_corrupt = ctx.mlp_resid[layer] + bias, ctx.corrupt_mlp_resid[layer] + bias
        if layer == self.n_layers - 1:
            rows = torch.arange(x.shape[0], device=x.device)
            x = self._mlp_input(mlp_masks[layer], x[rows, ctx.last], x_corrupt[rows, ctx.last],
                                lambda idx: ctx.delta_last.index_select(-2, idx))
        else:
            x = self._mlp_input(mlp_masks[layer], x, x_corrupt, lambda idx: ctx.delta.index_select(-2, idx))
        return self.mlp(layer, x)


PatchableAttentionOnly = PatchableModel
"""The former name of :class:`PatchableModel` (it handled attention-only models only)."""


@dataclass
class PatchContext:
    """Sender outputs of one batch of prompt pairs, reused by every patched run."""

    clean: Float[Tensor, "batch pos sender d_model"]
    corrupt: Float[Tensor, "batch pos sender d_model"]
    delta: Float[Tensor, "batch pos sender d_model"]
    """clean - corrupt."""
    resid: list[Tensor]
    """resid[l] = sum of the clean outputs of the senders before layer l's heads, [batch, pos, d_model]."""
    corrupt_resid: list[Tensor]
    """The same sums over the corrupted outputs."""
    last: Int[Tensor, " batch"]
    delta_last: Float[Tensor, "batch sender d_model"]
    """delta at each prompt's final position."""
    mlp_resid: list[Tensor] = field(default_factory=list)
    """mlp_resid[l] = sum of the clean outputs of the senders before MLP l (empty without MLPs)."""
    corrupt_mlp_resid: list[Tensor] = field(default_factory=list)
    """The same sums over the corrupted outputs."""


# --------------------------------------------------------------------------------------
# EAP
# --------------------------------------------------------------------------------------


class EdgeAttributions(NamedTuple):
    """Signed EAP scores of every edge (see :func:`edge_attributions`)."""

    per_layer: list[Tensor]
    """``per_layer[l]``: ``[channel, senders_before(l), head]``, sender -> head (l, h) via that channel."""
    to_logits: Tensor
    """``[n_senders]``: sender -> logits."""
    clean_metric: float
    per_mlp: list[Tensor]
    """``per_mlp[l]``: ``[mlp_senders_before(l)]``, sender -> MLP l (empty without MLPs)."""


def edge_attributions(pm: PatchableModel, batch: PairBatch) -> EdgeAttributions:
    """Signed EAP scores of every edge, from one forward pass per prompt set and one backward.

    Example:
        >>> att = edge_attributions(PatchableModel(model), tokenize_pairs(model, task))  # doctest: +SKIP
        >>> att.to_logits.shape  # doctest: +SKIP
    """
    if batch.metric_weights is None:
        raise ValueError("EAP needs a task metric: give the task correct_ids and incorrect_ids")
    g = pm.graph
    corrupt = pm.senders(batch.negatives)
    tokens = batch.positives
    b, p = tokens.shape
    d_model = pm.W_E.shape[1]
    probes: list[list[Tensor]] = []
    mlp_probes: list[Tensor] = []
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
        if pm.has_mlps:
            zm = torch.zeros(b, p, d_model, requires_grad=True)
            m = pm.mlp(layer, resid + pm.mlp_bias[layer] + zm)
            mlp_probes.append(zm)
            outs.append(m.unsqueeze(2))
            resid = resid + m
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
    per_mlp = [torch.einsum("bpsd,bpd->s", delta[:, :, : g.mlp_senders_before(layer)], zm.grad)
               for layer, zm in enumerate(mlp_probes)]
    to_logits = torch.einsum("bpsd,bpd->s", delta, z_final.grad)
    return EdgeAttributions(per_layer, to_logits, float(metric.detach()), per_mlp)


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
    attribution patching; the outgoing edges include those into MLPs); ``edge_scores[s,
    r]`` = ``|score|`` of head s -> head r summed over Q/K/V. ``edge_head_scores``: edge
    scores pooled per head (see :func:`edge_head_scores`). ``extras``:
    ``signed_node_scores``, ``signed_edge_scores``, ``embed_scores [LH]`` (embed -> head),
    ``logit_scores [LH]`` (head -> logits), ``edge_names`` and ``edge_values`` (every
    edge, signed, MLP edges included), ``clean_metric``; for a model with MLPs also
    ``mlp_scores [L]`` (``|sum of MLP l's outgoing edge scores|``), ``signed_mlp_scores``
    and ``head_mlp_scores [LH, L]`` (head -> MLP, signed). ``seed`` is accepted for a
    uniform interface; EAP is deterministic.

    Example:
        >>> result = eap(model, task)  # doctest: +SKIP
        >>> result.top_heads(3)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    pm = PatchableModel(model, qkv=qkv)
    batch = tokenize_pairs(model, task, n_pairs)
    t1 = time.perf_counter()
    per_layer, to_logits, clean_metric, per_mlp = edge_attributions(pm, batch)
    t2 = time.perf_counter()
    g = pm.graph
    L, H = pm.n_layers, pm.n_heads
    LH = L * H
    heads = g.head_senders()  # sender index of each head, in (layer, head) order
    signed_edges = np.zeros((LH, LH))
    embed_scores = np.zeros(LH)
    for layer, sc in enumerate(per_layer):
        pooled = sc.sum(0).numpy()  # [senders_before, head]
        embed_scores[layer * H:(layer + 1) * H] = pooled[0]
        if layer > 0:
            signed_edges[: layer * H, layer * H:(layer + 1) * H] = pooled[heads[: layer * H]]
    to_logits_np = to_logits.numpy()
    logit_scores = to_logits_np[heads]
    signed_nodes = signed_edges.sum(1) + logit_scores
    extras: dict = {}
    if pm.has_mlps:
        head_mlp = np.zeros((LH, L))
        mlp_out = to_logits_np[[g.mlp_sender(layer) for layer in range(L)]].astype(np.float64)
        for layer, sc in enumerate(per_mlp):
            v = sc.numpy()
            head_mlp[: (layer + 1) * H, layer] = v[heads[: (layer + 1) * H]]
            for earlier in range(layer):
                mlp_out[earlier] += v[g.mlp_sender(earlier)]
        for layer, sc in enumerate(per_layer):
            pooled = sc.sum(0).numpy()
            for earlier in range(layer):
                mlp_out[earlier] += pooled[g.mlp_sender(earlier)].sum()
        signed_nodes = signed_nodes + head_mlp.sum(1)
        extras = {"mlp_scores": np.abs(mlp_out), "signed_mlp_scores": mlp_out, "head_mlp_scores": head_mlp}
    names = g.edge_names()
    parts = []
    for layer, sc in enumerate(per_layer):
        parts.append(_flatten_layer(sc))
        if pm.has_mlps:
            parts.append(per_mlp[layer].numpy())
    values = np.concatenate(parts + [to_logits_np])
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
            **extras,
        },
    )


def _flatten_layer(sc: Tensor) -> np.ndarray:
    """Scores of one layer's heads in :meth:`EdgeGraph.edges` order (receiver-major, then sender)."""
    # sc: [channel, sender, head]; receivers are ordered (head, channel)
    return sc.permute(2, 0, 1).reshape(-1).numpy()
