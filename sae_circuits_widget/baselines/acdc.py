"""ACDC: automatic circuit discovery by greedy edge pruning (Conmy et al. 2023).

Start from the full computational graph of the model (see :mod:`.eap`: senders =
embeddings, heads and MLPs, receivers = every head's Q/K/V input, every MLP's input and
the logits; an attention-only model has no MLP nodes). Visit the receivers in reverse
topological order (logits first, then the MLP of the last layer, then its heads, ...,
down to layer 0; within a layer, heads and Q/K/V channels in descending name order) and,
for each incoming edge (senders in descending order, so later components first), try
removing it: the edge then carries the sender's
output on the *corrupted* prompt (the matched negative) instead of its output in the
current, partly pruned run. Keep the removal when the distance from the clean model
rises by at most the threshold ``tau``:

    score(circuit without e) - score(current circuit) <= tau,

otherwise put the edge back. ``score`` is the KL divergence from the full model's
next-token distribution to the circuit's at each prompt's final position, averaged over
prompts (``metric="kl"``, ACDC's default), or ``|mean logit difference of the circuit -
mean logit difference of the full model|`` (``metric="logit_diff"``). Every step is
deterministic: edges have a fixed order and no randomness is involved.

Cost: one forward pass per edge test (components before the receiver are cached and
only the receiver head or MLP is recomputed, then everything after it). That is what makes
ACDC slow on large models: the number of edges grows with the square of the number of
heads, and a ROC curve needs a run per threshold.

Threshold sweep and scores. One run gives one circuit. For ROC curves, ACDC is run at
several thresholds: by default ``tau = f * D`` for ``f`` in a geometric grid from 1e-4
to 1, where ``D`` is the score of the fully corrupted model (so the grid adapts to the
model and metric). A head is *in the circuit* at a threshold if it keeps an outgoing
edge to the logits or to a head that is itself in the circuit (heads cut off from the
output are dropped, as in ACDC; an MLP is in the circuit on the same terms, and a head
that only feeds an MLP in the circuit stays). Its node score is the largest threshold at
which it is in the circuit (0 if never); an edge's score is the largest threshold at
which it is kept (for head -> head edges, the max over Q/K/V). Ranking by these scores
reproduces the sweep's ROC points. Heads are the nodes scored; MLPs' scores are in
``extras``.

Example:
    >>> result = acdc(model, task, thresholds=[0.01, 0.1])  # doctest: +SKIP
    >>> result.extras["n_edge_tests"], result.extras["seconds_per_edge_test"]  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Optional, Sequence

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ..engine.result import CircuitResult
from ..tasks.task import Task
from .eap import PairBatch, PatchableModel, QKVMode, edge_head_scores, tokenize_pairs

Metric = Literal["kl", "logit_diff"]
DEFAULT_FRACTIONS: tuple[float, ...] = tuple(float(x) for x in np.geomspace(1e-4, 1.0, 10))


class _Scorer:
    """Distance of a patched run from the full model, for one prompt batch."""

    def __init__(self, pm: PatchableModel, batch: PairBatch, metric: Metric):
        if metric not in ("kl", "logit_diff"):
            raise ValueError(f"metric must be 'kl' or 'logit_diff', got {metric!r}")
        if metric == "logit_diff" and batch.metric_weights is None:
            raise ValueError("metric='logit_diff' needs a task with correct_ids and incorrect_ids")
        self.pm, self.batch, self.metric = pm, batch, metric
        self.ctx = pm.context(batch)
        g = pm.graph
        self.full_masks = [torch.ones(g.n_channels, g.senders_before(layer), pm.n_heads)
                           for layer in range(pm.n_layers)]
        self.full_final = torch.ones(g.n_senders)
        self.full_mlp_masks = pm.full_mlp_masks()
        with torch.no_grad():
            ref = pm.run_patched(self.ctx, self.full_masks, self.full_final, 0)
        self.ref_logprobs = ref.log_softmax(-1)
        self.ref_probs = self.ref_logprobs.exp()
        self.ref_metric = self._logit_diff(ref) if batch.metric_weights is not None else None
        self.n_calls = 0

    def _logit_diff(self, logits: Tensor) -> float:
        weights = self.batch.metric_weights
        assert weights is not None  # called only when the batch has them (checked in __init__)
        return float((logits * weights).sum(-1).mean())

    def score(self, masks: list[Tensor], final_mask: Tensor, start_layer: int,
              given_output: Optional[Tensor] = None, mlp_masks: Optional[list[Tensor]] = None,
              start_at_mlp: bool = False) -> float:
        """Distance of the run with these masks (see :meth:`.eap.PatchableModel.run_patched`)."""
        self.n_calls += 1
        with torch.no_grad():
            logits = self.pm.run_patched(self.ctx, masks, final_mask, start_layer, given_output,
                                         mlp_masks=mlp_masks, start_at_mlp=start_at_mlp)
            if self.metric == "kl":
                lp = logits.log_softmax(-1)
                return float((self.ref_probs * (self.ref_logprobs - lp)).sum(-1).mean())
            assert self.ref_metric is not None  # metric="logit_diff" needs metric_weights (checked in __init__)
            return abs(self._logit_diff(logits) - self.ref_metric)

    def fully_corrupted(self) -> float:
        zeros = [torch.zeros_like(m) for m in self.full_masks]
        mlp_zeros = [torch.zeros_like(m) for m in self.full_mlp_masks]
        return self.score(zeros, torch.zeros_like(self.full_final), 0, mlp_masks=mlp_zeros)


@dataclass
class PrunedCircuit:
    """The edges one ACDC run keeps (1 = kept) and its final score."""

    masks: list[Tensor]
    """``masks[l]``: ``[channel, senders_before(l), head]``, the edges into layer l's heads."""
    final: Tensor
    """``[n_senders]``: the edges into the logits."""
    score: float
    mlp_masks: list[Tensor]
    """``mlp_masks[l]``: ``[mlp_senders_before(l)]``, the edges into MLP l (empty without MLPs)."""


def prune(scorer: _Scorer, threshold: float, progress: Optional[tqdm] = None) -> PrunedCircuit:
    """One ACDC run at ``threshold``, MLP receivers included.

    Receivers are visited in reverse topological order (logits, then per layer from the
    last: its MLP, then its heads), so every receiver before the one being tested is
    still unpatched: only the receiver and what follows it are recomputed per test.

    Example:
        >>> circuit = prune(_Scorer(pm, batch, "kl"), 0.01)  # doctest: +SKIP
    """
    pm = scorer.pm
    g = pm.graph
    masks = [m.clone() for m in scorer.full_masks]
    mlp_masks = [m.clone() for m in scorer.full_mlp_masks]
    final = scorer.full_final.clone()
    current = scorer.score(masks, final, pm.n_layers, mlp_masks=mlp_masks)
    # receiver = logits
    for s in reversed(range(g.n_senders)):
        final[s] = 0.0
        new = scorer.score(masks, final, pm.n_layers, mlp_masks=mlp_masks)
        if new - current <= threshold:
            current = new
        else:
            final[s] = 1.0
        if progress is not None:
            progress.update(1)
    H = pm.n_heads
    ctx = scorer.ctx
    for layer in reversed(range(pm.n_layers)):
        if pm.has_mlps:  # receiver = the MLP of this layer (its inputs are all unpatched)
            for s in reversed(range(g.mlp_senders_before(layer))):
                mlp_masks[layer][s] = 0.0
                with torch.no_grad():
                    trial_m = pm.mlp_output(ctx, mlp_masks, layer)
                new = scorer.score(masks, final, layer, given_output=trial_m, mlp_masks=mlp_masks,
                                   start_at_mlp=True)
                if new - current <= threshold:
                    current = new
                else:
                    mlp_masks[layer][s] = 1.0
                if progress is not None:
                    progress.update(1)
        # outputs of this layer in the current circuit; a test changes one head only
        s0 = g.head_sender(layer, 0)
        state = ctx.clean[:, :, s0: s0 + H].clone()
        if layer == pm.n_layers - 1:  # the last layer is only read at the final positions
            state = state[torch.arange(state.shape[0]), ctx.last].unsqueeze(1)
        for head in reversed(range(H)):
            for c in reversed(range(g.n_channels)):
                for s in reversed(range(g.senders_before(layer))):
                    masks[layer][c, s, head] = 0.0
                    with torch.no_grad():
                        trial = state.clone()
                        trial[:, :, head] = pm.head_output(ctx, masks, layer, head)[:, :, 0]
                    new = scorer.score(masks, final, layer, given_output=trial, mlp_masks=mlp_masks)
                    if new - current <= threshold:
                        current = new
                        state = trial
                    else:
                        masks[layer][c, s, head] = 1.0
                    if progress is not None:
                        progress.update(1)
    return PrunedCircuit(masks, final, current, mlp_masks)


def acdc_prune(
    scorer: _Scorer, threshold: float, progress: Optional[tqdm] = None
) -> tuple[list[Tensor], Tensor, float]:
    """One ACDC run at ``threshold``; returns (masks per layer, logits mask, final score).

    Masks are ``[channel, senders_before(l), head]`` with 1 = edge kept. For a model
    with MLPs the MLP masks are left out: use :func:`prune`.
    """
    p = prune(scorer, threshold, progress)
    return p.masks, p.final, p.score


def components_in_circuit(
    pm: PatchableModel, masks: list[Tensor], final: Tensor, mlp_masks: Sequence[Tensor] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """``([L, H], [L])`` bool: heads and MLPs with a kept path to the logits.

    Example:
        >>> heads, mlps = components_in_circuit(pm, c.masks, c.final, c.mlp_masks)  # doctest: +SKIP
    """
    g = pm.graph
    L, H = pm.n_layers, pm.n_heads
    alive = np.zeros((L, H), dtype=bool)
    mlp_alive = np.zeros(L, dtype=bool)
    use_mlps = pm.has_mlps and len(mlp_masks) == L

    def feeds(s: int, layer: int) -> bool:
        """Sender s has a kept edge to the logits or to a live receiver of a layer > ``layer``
        (and, for a head of ``layer``, to its live MLP)."""
        if final[s] > 0:
            return True
        if use_mlps and s < g.mlp_senders_before(layer) and mlp_alive[layer] and mlp_masks[layer][s] > 0:
            return True
        for later in range(layer + 1, L):
            used = (masks[later][:, s, :] > 0).any(0).numpy()  # [head]
            if (used & alive[later]).any():
                return True
            if use_mlps and mlp_alive[later] and mlp_masks[later][s] > 0:
                return True
        return False

    for layer in reversed(range(L)):
        if use_mlps:
            mlp_alive[layer] = feeds(g.mlp_sender(layer), layer)
        for head in range(H):
            alive[layer, head] = feeds(g.head_sender(layer, head), layer)
    return alive, mlp_alive


def heads_in_circuit(pm: PatchableModel, masks: list[Tensor], final: Tensor,
                     mlp_masks: Sequence[Tensor] = ()) -> np.ndarray:
    """``[L, H]`` bool: heads with a kept path to the logits (through MLPs too, given ``mlp_masks``)."""
    return components_in_circuit(pm, masks, final, mlp_masks)[0]


def acdc(
    model,
    task: Task,
    seed: int = 0,
    *,
    thresholds: Optional[Sequence[float]] = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    metric: Metric = "kl",
    qkv: QKVMode = "separate",
    n_pairs: Optional[int] = None,
    progress: bool = True,
) -> CircuitResult:
    """ACDC with a threshold sweep; node/edge scores = largest threshold still in the circuit.

    ``thresholds`` are absolute; if not given, ``fractions`` of the fully corrupted
    model's score are used. ``edge_head_scores``: edge scores pooled per head (see :func:`.eap.edge_head_scores`).
    ``extras``: ``thresholds``, ``circuits`` (per threshold: heads in circuit ``[L, H]``
    bool and number of kept edges), ``n_edges``, ``n_edge_tests``,
    ``seconds_per_edge_test``, ``full_corruption_score``, ``embed_scores``,
    ``logit_scores``, ``edge_names`` and ``edge_values`` (every edge's score, MLP edges
    included); for a model with MLPs also ``mlp_scores [L]`` (largest threshold at which
    each MLP is in the circuit; ``circuits`` then hold ``mlps [L]`` too). ``seed`` is
    accepted for a uniform interface; ACDC is deterministic.

    Example:
        >>> result = acdc(model, task, fractions=[0.01, 0.1, 1.0], progress=False)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    pm = PatchableModel(model, qkv=qkv)
    batch = tokenize_pairs(model, task, n_pairs)
    scorer = _Scorer(pm, batch, metric)
    full_score = scorer.fully_corrupted()
    if thresholds is None:
        thresholds = [f * full_score for f in fractions]
    thresholds = sorted(float(t) for t in thresholds)
    if not thresholds or any(not np.isfinite(t) or t < 0 for t in thresholds):
        raise ValueError(f"thresholds must be a non-empty list of finite numbers >= 0, got {thresholds}")
    t1 = time.perf_counter()
    g = pm.graph
    L, H = pm.n_layers, pm.n_heads
    LH = L * H
    node_scores = np.zeros((L, H))
    edge_scores = np.zeros((LH, LH))
    embed_scores = np.zeros(LH)
    logit_scores = np.zeros(LH)
    mlp_scores = np.zeros(L)
    edge_values = np.zeros(g.n_edges)
    heads = g.head_senders()
    circuits = []
    calls_before = scorer.n_calls
    bar = tqdm(total=len(thresholds) * g.n_edges, desc=f"ACDC {task.name}", disable=not progress,
               unit="edge")
    for tau in thresholds:
        circuit = prune(scorer, tau, bar)
        masks, final, mlp_masks = circuit.masks, circuit.final, circuit.mlp_masks
        alive, mlp_alive = components_in_circuit(pm, masks, final, mlp_masks)
        node_scores[alive] = np.maximum(node_scores[alive], tau)
        mlp_scores[mlp_alive] = np.maximum(mlp_scores[mlp_alive], tau)
        n_kept = int(final.sum()) + int(sum(m.sum() for m in masks)) + int(sum(m.sum() for m in mlp_masks))
        flat = []
        for layer in range(L):
            kept = (masks[layer] > 0).any(0).numpy()  # [senders_before, head]
            cols = slice(layer * H, (layer + 1) * H)
            embed_scores[cols] = np.where(kept[0], np.maximum(embed_scores[cols], tau), embed_scores[cols])
            if layer > 0:
                block = edge_scores[: layer * H, cols]
                edge_scores[: layer * H, cols] = np.where(kept[heads[: layer * H]], np.maximum(block, tau), block)
            flat.append(masks[layer].permute(2, 0, 1).reshape(-1).numpy())  # edges() order
            if mlp_masks:
                flat.append(mlp_masks[layer].numpy())
        flat.append(final.numpy())
        kept_edges = np.concatenate(flat) > 0
        edge_values[kept_edges] = np.maximum(edge_values[kept_edges], tau)
        kept_logits = final.numpy()[heads] > 0
        logit_scores[kept_logits] = np.maximum(logit_scores[kept_logits], tau)
        entry = {"threshold": tau, "heads": alive, "n_edges_kept": n_kept, "score": circuit.score}
        if pm.has_mlps:
            entry["mlps"] = mlp_alive
        circuits.append(entry)
    bar.close()
    t2 = time.perf_counter()
    n_tests = scorer.n_calls - calls_before
    return CircuitResult(
        method="acdc",
        node_scores=node_scores,
        edge_scores=edge_scores,
        timings={"setup": t1 - t0, "pruning": t2 - t1},
        settings={"seed": seed, "metric": metric, "qkv": qkv, "n_thresholds": len(thresholds),
                  "n_pairs": batch.positives.shape[0]},
        task_name=task.name,
        edge_head_scores=edge_head_scores(edge_scores, L, H),
        extras={
            "thresholds": thresholds,
            "circuits": circuits,
            "n_edges": g.n_edges,
            "n_edge_tests": n_tests,
            "seconds_per_edge_test": (t2 - t1) / max(n_tests, 1),
            "full_corruption_score": full_score,
            "embed_scores": embed_scores,
            "logit_scores": logit_scores,
            "edge_names": g.edge_names(),
            "edge_values": edge_values,
            **({"mlp_scores": mlp_scores} if pm.has_mlps else {}),
        },
    )
