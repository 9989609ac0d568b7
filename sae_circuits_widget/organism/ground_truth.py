"""Derive the organism's ground-truth circuits by causal analysis only.

``python -m sae_circuits_widget.organism.ground_truth --model DIR`` writes
``DIR/circuits.json`` (circuits plus the full evidence table) and ``DIR/MODEL_CARD.md``
(written by ``card.py``; ``--card-only`` rewrites the card from the files already there).

A circuit is the smallest set of heads that keeps the behaviour when every other head is
knocked out; what "knocked out" means decides which heads it holds. Two knock-outs are
used, so the organism has two ground truths per task, found and checked the same way:

- ``mean_ablation``: a head outside the circuit takes its mean ``z`` over the task's
  positives and negatives. It removes everything prompt-specific the head computes, so
  the circuit holds every head the behaviour needs, including heads whose work is the
  same on a positive and on its matched negative.
- ``patching``: a head outside the circuit takes its ``z`` on the matched negative prompt
  (resample ablation from the paired negative, the corruption that defines the
  negatives), as the published IOI, greater-than and docstring circuits were found. It
  only removes what changes with the corruption, so the circuit holds the heads whose
  contribution differs between a positive and its negative: the heads a contrastive
  method, which compares positives with negatives, can see at all.

Definition (per task, on N_GT = 32 held-out prompt pairs from ``get_task(..., seed=GT_SEED = 1000)``;
``mean_ablation`` is ``tasks[name]["heads"]`` and ``["edges"]`` of circuits.json and
``Task.ground_truth``; ``patching`` is ``tasks[name]["patching"]``; both are in
``Task.ground_truths``):

1. Evidence: the change of the task's mean logit difference when each head alone is
   mean-ablated (replacement = the head's mean ``z`` over the task's positives and
   negatives; per position when all prompts share a length, pooled over positions
   otherwise) and resample-ablated (``z`` from the paired negative);
   see ``sae_circuits_widget.interventions.ablation``.
2. Circuit (the ground truth): the smallest head set ``S`` whose faithfulness (mean
   logit difference with every head outside ``S`` replaced, by its mean for
   ``mean_ablation`` or by its value on the paired negative for ``patching``, divided by
   the clean one) is at least ``THRESHOLD`` = 0.9. Search: (a) greedy backward pruning from all
   heads, removing at each step the head whose removal keeps faithfulness highest,
   while it stays >= 0.9; (b) greedy forward selection adding the head that raises
   faithfulness most until >= 0.9, followed by the same pruning; the smaller result
   wins (ties: higher faithfulness). Verification: every single-head removal from ``S``
   must drop below 0.9 (1-minimality, always checked), and when the number of head sets
   of size ``|S| - 1`` is at most ``EXHAUSTIVE_BUDGET`` (6000) all of them are evaluated; if one
   reaches 0.9 the search restarts from it (so the reported size is then a proven
   minimum).
3. Edges: path patching (``ablation.path_patching_matrix``; the sender's value comes
   from the paired negative, for both definitions) of every sender head to
   every later head; an edge ``(s, r)`` with both heads in the circuit is part of the
   edge ground truth when ``|effect| >= EDGE_FRACTION`` (3%) of the clean logit difference.
   Edges into the logits are reported in the evidence only. Composition (property 3):
   path patching from all circuit heads of layers < l to all circuit heads of layer l;
   the circuit composes when some layer's grouped path carries >= ``COMPOSITION_FRACTION``
   = 10% of the clean logit difference.
4. Heads in one circuit only (``tasks[name]["patching"]["only_mean_ablation"]`` and
   ``["only_patching"]``): each gets a contrast profile (``contrast_profile`` here): its
   effect alone when mean-ablated and when patched from the negative, when mean-ablated
   only on the pair's shared prefix (the positions before the first token where the
   positive and its negative differ, where every head computes the same on both) and
   only from that token on, when its ``z`` comes from another pair's positive, and how
   far its ``z`` on the positives is from its ``z`` on the negatives and from its mean.

5. MLPs (a model that has them, such as ``organism-gpt2``): the circuit is a set of heads,
   the nodes every method scores, and MLPs stay in the model in every head set tested.
   Each MLP's effect alone, mean-ablated and patched from the negative, is recorded as
   ``tasks[name]["mlp_ablation_effect"]`` (``organism.mlps``).

The script also prints and records the model-card numbers (the properties listed in the
model card): accuracies, negatives against chance, circuit sizes/layers/composition,
pairwise Jaccard, and ROC AUC of trivial scores against each circuit.

Length: a little over 500 lines because both definitions of the circuit (mean ablation and
patching) share the search, the evaluator and the edge analysis kept here; the printed
report and the model card are in ``card.py``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from .. import interventions as A
from ..baselines import trivial as T
from ..evaluation.metrics import evaluate_scores
from ..tasks import TASK_NAMES, get_task
from .card import checklist_lines, overall_lines, summary_lines, write_card
from .mlps import has_mlps, mlp_ablation_effects
from .model import load_organism

THRESHOLD = 0.9
EDGE_FRACTION = 0.03
COMPOSITION_FRACTION = 0.1
EXHAUSTIVE_BUDGET = 6000
N_GT = 32
GT_SEED = 1000
N_EVAL = 200
EVAL_SEED = 2000


# ----------------------------------------------------------------------------- behaviour
@torch.no_grad()
def behaviour(model, name: str, n: int = N_EVAL, seed: int = EVAL_SEED) -> dict:
    """Properties 1-2: accuracy on held-out positives and on their negatives, with chance."""
    task = get_task(name, model, n=n, seed=seed)
    correct, incorrect = task.correct_ids, task.incorrect_ids
    if correct is None or incorrect is None:
        raise ValueError(f"task {name!r} has no answer tokens (correct_ids, incorrect_ids); behaviour needs them")
    res: dict[str, Any] = {"n": n, "seed": seed}
    for side, prompts in (("positives", task.positives), ("negatives", task.negatives)):
        tokens, last = A.padded_prompts(model, prompts)
        logits = A.final_logits(model(tokens), last).float()
        probs = logits.softmax(-1)
        if name == "greater_than":
            above = [float(probs[i, list(correct[i])].sum()) for i in range(n)]
            mass = [float(probs[i, list(correct[i]) + list(incorrect[i])].sum()) for i in range(n)]
            res[side] = {"prob_above_start_year": float(np.mean(above)),
                         "prob_on_years": float(np.mean(mass)),
                         "top1_above": float(np.mean([int(logits[i].argmax()) in correct[i] for i in range(n)]))}
        else:
            top1 = [int(logits[i].argmax()) == correct[i][0] for i in range(n)]
            res[side] = {"top1": float(np.mean(top1))}
            if name == "ioi":
                two = [float(logits[i, correct[i][0]] > logits[i, incorrect[i][0]]) for i in range(n)]
                res[side]["io_over_s"] = float(np.mean(two))
        res[side]["logit_diff"] = float(task.metric(logits).mean())
    if name == "greater_than":
        res["chance"] = {"prob_above_start_year": task.meta["chance_prob_above"]}
    elif name == "ioi":
        res["chance"] = {"top1": 0.5, "io_over_s": 0.5}
    else:
        res["chance"] = {"top1": task.meta["chance_top1"]}
    res["chance_note"] = task.meta["chance_note"]
    return res


# ----------------------------------------------------------------------------- circuit search
Kind = Literal["mean", "resample"]
"""How heads outside a keep-set are replaced (``metric_under_masks``'s ``kind``)."""

DEFINITIONS: dict[str, Kind] = {"mean_ablation": "mean", "patching": "resample"}
"""Ground-truth name -> how heads outside the circuit are replaced (``metric_under_masks`` kind)."""


class KeepSetEvaluator:
    """Faithfulness of many keep-sets at once (batched through ``metric_under_masks``).

    ``kind="mean"``: heads outside the keep-set take their mean ``z`` (the
    ``mean_ablation`` ground truth); ``kind="resample"``: they take their ``z`` on the
    paired negative (the ``patching`` ground truth).
    """

    def __init__(self, model, task, kind: Kind = "mean"):
        if kind not in ("mean", "resample"):
            raise ValueError(f"kind must be 'mean' or 'resample', got {kind!r}")
        self.model, self.task = model, task
        self.kind: Kind = kind
        self.L, self.H = int(model.cfg.n_layers), int(model.cfg.n_heads)
        self.means = A.mean_replacement(model, task) if kind == "mean" else None
        self.base = float(A.clean_metric(model, task).double().mean())
        self.cache: dict[frozenset, float] = {}
        self.calls = 0

    def __call__(self, sets: list[frozenset]) -> list[float]:
        todo = [s for s in dict.fromkeys(sets) if s not in self.cache]
        for start in range(0, len(todo), 2048):
            chunk = todo[start:start + 2048]
            masks = torch.ones(len(chunk), self.L, self.H, dtype=torch.bool)
            for m, s in enumerate(chunk):
                for layer, h in s:
                    masks[m, layer, h] = False
            vals = A.metric_under_masks(self.model, self.task, masks, self.kind, means=self.means)
            self.calls += len(chunk)
            for s, v in zip(chunk, vals.tolist()):
                self.cache[s] = v / self.base
        return [self.cache[s] for s in sets]


def prune(ev: KeepSetEvaluator, S: frozenset) -> frozenset:
    """Greedy backward pruning: drop the head whose removal keeps faithfulness highest."""
    while len(S) > 1:
        cands = [S - {h} for h in sorted(S)]
        vals = ev(cands)
        best = int(np.argmax(vals))
        if vals[best] < THRESHOLD:
            break
        S = cands[best]
    return S


def grow(ev: KeepSetEvaluator, heads: list) -> frozenset:
    S: frozenset = frozenset()
    while ev([S])[0] < THRESHOLD and len(S) < len(heads):
        cands = [S | {h} for h in heads if h not in S]
        vals = ev(cands)
        S = cands[int(np.argmax(vals))]
    return S


def minimal_keep_set(model, task, kind: Kind = "mean", ev: KeepSetEvaluator | None = None) -> dict:
    """The smallest keep-set with faithfulness >= THRESHOLD under ``kind``, with its checks.

    Greedy backward and forward searches, the smaller result verified 1-minimal and, when
    affordable, against every smaller head set (see the module docstring). ``ev``: an
    evaluator of the same ``kind`` to reuse (its cache); a fresh one by default.
    """
    ev = KeepSetEvaluator(model, task, kind) if ev is None else ev
    if ev.kind != kind:
        raise ValueError(f"the evaluator replaces heads by {ev.kind!r}, the search asked for {kind!r}")
    heads = [(layer, h) for layer in range(ev.L) for h in range(ev.H)]
    full = frozenset(heads)
    backward = prune(ev, full)
    forward = prune(ev, grow(ev, heads))
    cands = sorted([backward, forward], key=lambda s: (len(s), -ev([s])[0]))
    S = cands[0]
    exhaustive = []
    while True:
        k = len(S) - 1
        n_sets = math.comb(len(heads), k) if k >= 0 else 0
        if k < 0 or n_sets > EXHAUSTIVE_BUDGET:
            exhaustive.append({"size": k, "n_sets": n_sets, "checked": False})
            break
        sets = [frozenset(c) for c in itertools.combinations(heads, k)]
        vals = ev(sets)
        best = int(np.argmax(vals))
        exhaustive.append({"size": k, "n_sets": n_sets, "checked": True, "best": float(vals[best])})
        if vals[best] < THRESHOLD:
            break
        S = prune(ev, sets[best])
    drops = {f"{layer}.{h}": ev([S - {(layer, h)}])[0] for layer, h in sorted(S)}
    return {
        "heads": sorted(S),
        "faithfulness": ev([S])[0],
        "clean_logit_diff": ev.base,
        "backward": {"heads": sorted(backward), "faithfulness": ev([backward])[0]},
        "forward": {"heads": sorted(forward), "faithfulness": ev([forward])[0]},
        "one_minimal": all(v < THRESHOLD for v in drops.values()),
        "faithfulness_without_each_head": drops,
        "exhaustive_smaller": exhaustive,
        "keep_sets_evaluated": ev.calls,
        "complement_faithfulness": ev([full - S])[0],
    }


# ----------------------------------------------------------------------------- trivial scores
def trivial_aucs(model, task, heads: set) -> dict:
    """ROC AUC of each trivial score (``baselines.trivial``) against the circuit ``heads``
    (NaN for every score when ``heads`` is empty or every head)."""
    n_heads = int(model.cfg.n_layers) * int(model.cfg.n_heads)

    def auc(result) -> float:
        if not 0 < len(heads) < n_heads:
            return float("nan")
        return evaluate_scores(result.node_scores, heads)["node_auc"]

    out = {}
    out["layer_index"] = auc(T.layer_index(model, task))
    out["layer_index_reverse"] = auc(T.layer_index_reverse(model, task))
    out["output_diff_norm_mean"] = auc(T.output_diff_norm(model, task, position="mean"))
    out["output_diff_norm_last"] = auc(T.output_diff_norm(model, task, position="last"))
    rand = [auc(T.random_scores(model, task, seed=s)) for s in range(100)]
    out["random_mean"] = float(np.mean(rand))
    out["random_p95"] = float(np.percentile(rand, 95))
    return out


# ----------------------------------------------------------------------------- edges
def edges_for(model, task, heads: list, clean: float, pp: np.ndarray | None = None) -> tuple[list, dict]:
    """Edges of the circuit ``heads`` from the path-patching matrix ``pp`` (computed when None)."""
    pp = A.path_patching_matrix(model, task) if pp is None else pp
    H = int(model.cfg.n_heads)
    N = pp.shape[0]
    S = {layer * H + h for layer, h in heads}
    edges, table = [], {}
    for s in sorted(S):
        for r in sorted(S) + [N]:
            if r < N and r // H <= s // H:
                continue
            eff = float(pp[s, r])
            rname = "logits" if r == N else f"{r // H}.{r % H}"
            table[f"{s // H}.{s % H}->{rname}"] = eff
            if r < N and abs(eff) >= EDGE_FRACTION * abs(clean):
                edges.append([[s // H, s % H], [r // H, r % H]])
    return edges, {"within_circuit": table, "matrix": np.round(pp, 5).tolist()}


def composition(model, task, heads: list, clean: float) -> dict:
    """Grouped path patching: circuit heads of layers < l -> circuit heads of layer l.

    Single edges of a distributed circuit can each be small; the grouped path says
    whether later circuit heads read earlier ones at all.
    """
    out = {}
    layers = sorted({layer for layer, _ in heads})
    for layer in layers[1:]:
        senders = [tuple(h) for h in heads if h[0] < layer]
        receivers = [tuple(h) for h in heads if h[0] == layer]
        eff = A.path_patching(model, task, senders, receivers)
        out[str(layer)] = {"effect": float(eff), "fraction_of_clean": float(abs(eff) / abs(clean))}
    return out


def jaccard(a, b) -> float:
    a, b = set(map(tuple, a)), set(map(tuple, b))
    return len(a & b) / max(1, len(a | b))


def circuit_properties(heads: list, comp: dict, L: int, H: int) -> dict:
    """Size, layers and composition of one circuit (property 3)."""
    layers = sorted({layer for layer, _ in heads})
    comp_max = max([c["fraction_of_clean"] for c in comp.values()], default=0.0)
    return {
        "fraction_of_heads": len(heads) / (L * H),
        "layers": layers,
        "n_layers_spanned": len(layers),
        "composition_fraction": comp_max,
        "composition": comp_max >= COMPOSITION_FRACTION,
    }


# ----------------------------------------------------------------------------- the two definitions
def _shared_prefix(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """``[b, T]`` True before the first position where a positive and its negative differ.

    The model is causal, so on those positions every head computes exactly the same on
    the positive and on its negative.
    """
    differs = pos != neg
    T = pos.shape[1]
    first = torch.where(differs.any(1), differs.float().argmax(1), torch.full((pos.shape[0],), T))
    return torch.arange(T)[None] < first[:, None]


@torch.no_grad()
def contrast_profile(model, task, head, means: torch.Tensor | None = None) -> dict:
    """What one head contributes that is, and is not, specific to the positives.

    Effects are changes of the mean logit difference over the positives (negative = the
    head helps), with only ``head`` intervened on:

    - ``mean_ablated``: ``z`` replaced by its mean (``ablation.mean_replacement``);
    - ``patched_from_negative``: ``z`` from the paired negative;
    - ``mean_ablated_on_shared_prefix`` / ``mean_ablated_after_shared_prefix``: mean
      ablation only before / only from the first token where the pair differs;
    - ``from_another_pairs_positive``: ``z`` from the next pair of the same token length
      (its own for a pair without one), a prompt with other content.

    Plus ``z_change_negative`` = ||z(pos) - z(neg)|| / ||z(pos)|| and ``z_change_mean`` =
    ||z(pos) - mean|| / ||z(pos)|| over all positions and positives, and
    ``attention_change_negative``, the mean total-variation distance between the head's
    attention patterns on a positive and on its negative (per query position).

    Example:
        >>> contrast_profile(model, task, (0, 3))["patched_from_negative"]   # doctest: +SKIP
        0.002
    """
    layer, h = int(head[0]), int(head[1])
    means = A.mean_replacement(model, task) if means is None else means
    dev = next(model.parameters()).device
    base = float(A.clean_metric(model, task).double().mean())
    names = ("mean_ablated", "patched_from_negative", "mean_ablated_on_shared_prefix",
             "mean_ablated_after_shared_prefix", "from_another_pairs_positive")
    sums = torch.zeros(len(names), dtype=torch.float64)
    d_neg = d_mean = norm = tv = 0.0
    n_q = 0
    hook_z, hook_p = A.Z_HOOK.format(layer), f"blocks.{layer}.attn.hook_pattern"
    for idx, pos, neg, last in A.pair_groups(model, task, pad=False):
        b, T = pos.shape
        _, cp = model.run_with_cache(pos.to(dev), names_filter=lambda n: n in (hook_z, hook_p))
        _, cn = model.run_with_cache(neg.to(dev), names_filter=lambda n: n in (hook_z, hook_p))
        zp, zn = cp[hook_z][:, :, h].cpu(), cn[hook_z][:, :, h].cpu()  # [b, T, d_head]
        mu = means[layer, :T, h].cpu()[None].expand_as(zp)
        shared = _shared_prefix(pos.cpu(), neg.cpu())[..., None]
        other = zp[torch.roll(torch.arange(b), 1)]
        reps = torch.cat([mu, zn, torch.where(shared, mu, zp), torch.where(shared, zp, mu), other])
        toks = pos.repeat(len(names), 1)

        def put(z, hook, reps=reps):
            z = z.clone()
            z[:, :, h] = reps.to(z.device, z.dtype)
            return z

        logits = A.final_logits(model.run_with_hooks(toks.to(dev), fwd_hooks=[(hook_z, put)]),
                                last.repeat(len(names)))
        met = task.metric(logits, rows=list(idx) * len(names)).double().cpu().reshape(len(names), b)
        sums += met.sum(1)
        d_neg += float(((zp - zn) ** 2).sum())
        d_mean += float(((zp - mu) ** 2).sum())
        norm += float((zp ** 2).sum())
        tv += float(0.5 * (cp[hook_p][:, h] - cn[hook_p][:, h]).abs().sum(-1).sum())
        n_q += b * T
    out = {k: float(v / task.n_pairs - base) for k, v in zip(names, sums)}
    out["z_change_negative"] = math.sqrt(d_neg / norm) if norm > 0 else 0.0
    out["z_change_mean"] = math.sqrt(d_mean / norm) if norm > 0 else 0.0
    out["attention_change_negative"] = tv / n_q
    return out


def patching_definition(model, task, mean_search: dict, pp: np.ndarray | None) -> dict:
    """The ``patching`` ground truth of one task, with its evidence (module docstring, 2-4).

    ``mean_search``: :func:`minimal_keep_set`'s result for the ``mean_ablation`` ground
    truth, for the comparison; ``pp``: the path-patching matrix (None = no edges).
    """
    t0 = time.time()
    L, H = int(model.cfg.n_layers), int(model.cfg.n_heads)
    ev = KeepSetEvaluator(model, task, "resample")
    search = minimal_keep_set(model, task, kind="resample", ev=ev)
    heads = [list(x) for x in search["heads"]]
    clean = search["clean_logit_diff"]
    out: dict = {"heads": heads, "search": search}
    if pp is not None:
        e, evidence = edges_for(model, task, search["heads"], clean, pp=pp)
        out["edges"] = e
        out["path_patching"] = {"within_circuit": evidence["within_circuit"]}
    comp = composition(model, task, heads, clean)
    out["composition_paths"] = comp
    out["properties"] = circuit_properties(heads, comp, L, H)
    out["trivial_auc"] = trivial_aucs(model, task, set(map(tuple, heads)))
    mean_heads = frozenset(map(tuple, mean_search["heads"]))
    patch_heads = frozenset(map(tuple, search["heads"]))
    mean_ev = KeepSetEvaluator(model, task, "mean")
    out["cross"] = {
        "mean_ablation_circuit_under_patching": ev([mean_heads])[0],
        "patching_circuit_under_mean_ablation": mean_ev([patch_heads])[0],
    }
    out["jaccard_with_mean_ablation"] = jaccard(mean_heads, patch_heads)
    out["only_mean_ablation"] = {f"{layer}.{h}": contrast_profile(model, task, (layer, h), mean_ev.means)
                                 for layer, h in sorted(mean_heads - patch_heads)}
    out["only_patching"] = {f"{layer}.{h}": contrast_profile(model, task, (layer, h), mean_ev.means)
                            for layer, h in sorted(patch_heads - mean_heads)}
    out["seconds"] = time.time() - t0
    return out


# ----------------------------------------------------------------------------- main
def definition_text() -> str:
    """The definition paragraphs of this module's docstring (circuits.json's ``definition``)."""
    if __doc__ is None:
        raise RuntimeError("docstrings were stripped (python -OO); run without -OO to write circuits.json")
    start = "A circuit is the smallest"
    return start + __doc__.split(start, 1)[1].split("The script also")[0].rstrip()


def analyse(model, tasks=TASK_NAMES, edges: bool = True, log=print, n: int | None = None) -> dict:
    L, H = int(model.cfg.n_layers), int(model.cfg.n_heads)
    n = N_GT if n is None else n
    out = {"definition": definition_text(),
           "definitions": {
               "mean_ablation": "tasks[name]: heads, edges, search, path_patching, composition_paths, "
                                "properties, trivial_auc (heads outside the circuit take their mean z)",
               "patching": "tasks[name]['patching']: heads, edges, search, path_patching, composition_paths, "
                           "properties, trivial_auc, cross, only_mean_ablation, only_patching (heads outside "
                           "the circuit take their z on the paired negative)"},
           "threshold": THRESHOLD, "edge_fraction": EDGE_FRACTION, "n_prompts": n, "seed": GT_SEED,
           "n_layers": L, "n_heads": H, "tasks": {}}
    for name in tasks:
        t0 = time.time()
        task = get_task(name, model, n=n, seed=GT_SEED)
        beh = behaviour(model, name)
        mean_eff = A.ablation_effects(model, task, kind="mean")
        res_eff = A.ablation_effects(model, task, kind="resample")
        search = minimal_keep_set(model, task)
        heads = [list(h) for h in search["heads"]]
        entry = {"heads": heads, "behaviour": beh, "search": search,
                 "mean_ablation_effect": np.round(mean_eff, 5).tolist(),
                 "resample_ablation_effect": np.round(res_eff, 5).tolist()}
        if has_mlps(model):
            entry["mlp_ablation_effect"] = mlp_ablation_effects(model, task)
        pp = A.path_patching_matrix(model, task) if edges else None
        if edges:
            e, evidence = edges_for(model, task, search["heads"], search["clean_logit_diff"], pp=pp)
            entry["edges"] = e
            entry["path_patching"] = evidence
        comp = composition(model, task, heads, search["clean_logit_diff"])
        entry["composition_paths"] = comp
        entry["properties"] = circuit_properties(heads, comp, L, H)
        entry["trivial_auc"] = trivial_aucs(model, task, set(map(tuple, heads)))
        entry["patching"] = patching_definition(model, task, search, pp)
        entry["seconds"] = time.time() - t0
        out["tasks"][name] = entry
        log(summary_lines(name, entry))
    names = [n for n in ("ioi", "greater_than", "docstring") if n in out["tasks"]]
    out["jaccard"] = {f"{a}|{b}": jaccard(out["tasks"][a]["heads"], out["tasks"][b]["heads"])
                      for a, b in itertools.combinations(list(out["tasks"]), 2)}
    out["jaccard_max_ioi_gt_doc"] = max([out["jaccard"][f"{a}|{b}"] for a, b in itertools.combinations(names, 2)], default=0.0)
    out["jaccard_patching"] = {f"{a}|{b}": jaccard(out["tasks"][a]["patching"]["heads"], out["tasks"][b]["patching"]["heads"])
                               for a, b in itertools.combinations(list(out["tasks"]), 2)}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Derive the organism's ground-truth circuits.")
    ap.add_argument("--model", required=True, help="directory written by organism.train")
    ap.add_argument("--tasks", nargs="*", default=list(TASK_NAMES))
    ap.add_argument("--no-edges", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="print only (diagnostics)")
    ap.add_argument("--n", type=int, default=N_GT, help="prompt pairs per task for the analysis")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--card-only", action="store_true",
                    help="only rewrite MODEL_CARD.md from the circuits.json and config.json in --model "
                         "(after editing config.json or the card's hand-written sections)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    directory = Path(args.model)
    if args.card_only:
        if not (directory / "circuits.json").exists():
            ap.error(f"no circuits.json in {directory}; run without --card-only to derive it")
        write_card(directory, json.loads((directory / "circuits.json").read_text()))
        print(f"wrote {directory / 'MODEL_CARD.md'}")
        return
    model = load_organism(directory=directory)
    t0 = time.time()
    result = analyse(model, args.tasks, edges=not args.no_edges, log=lambda s: print(s, flush=True), n=args.n)
    print(overall_lines(result), flush=True)
    print(checklist_lines(result), flush=True)
    print(f"ground truth derived in {time.time() - t0:.0f} s", flush=True)
    if not args.no_write:
        (directory / "circuits.json").write_text(json.dumps(result, indent=None) + "\n")
        write_card(directory, result)
        print(f"wrote {directory / 'circuits.json'} and MODEL_CARD.md")


if __name__ == "__main__":
    main()
