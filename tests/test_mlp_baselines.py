"""Every baseline and intervention on a model with MLPs: a tiny random GPT-2 (Hugging Face
GPT2LMHeadModel: learned positions, LayerNorm, gelu_new MLPs) loaded
through ``load_model``, with the bundled organism's word-level vocabulary.

The edge machinery (``baselines.eap``) is checked against independent computations: the
bridge's own forward pass, edge patching built sender by sender, finite differences of
edge patching (EAP is its exact first-order term), and attribution patching through the
bridge's hooks (a sender's outgoing edges sum to it). Path patching with frozen MLPs is
checked against edge patching in the sum-of-senders model.
"""

from __future__ import annotations

import types
from typing import Optional

import numpy as np
import pytest
import torch
import transformers

from sae_circuits_widget import load_model
from sae_circuits_widget.baselines.acdc import _Scorer, acdc, components_in_circuit, prune
from sae_circuits_widget.baselines.eap import (
    EdgeGraph,
    PatchableModel,
    eap,
    gpt2_small_edge_count,
    tokenize_pairs,
)
from sae_circuits_widget.organism.model import new_tokenizer
from sae_circuits_widget.tasks import get_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")

L, H = 2, 4


@pytest.fixture(scope="module")
def gpt2():
    """A random 2-layer x 4-head GPT-2 (d_model 32, MLPs) over the organism's words."""
    tok = new_tokenizer()
    config = transformers.GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=L, n_head=H, n_positions=32,
                                     initializer_range=0.2)
    torch.manual_seed(0)
    return load_model(transformers.GPT2LMHeadModel(config).eval(), tokenizer=tok)


@pytest.fixture(scope="module")
def task(gpt2):
    return get_task("ioi", gpt2, n=8, seed=0)


def mean_metric(logits: torch.Tensor, weights: Optional[torch.Tensor]) -> float:
    assert weights is not None  # the IOI task has a metric
    return float((logits.double() * weights.double()).sum(-1).mean())


def full_masks(pm: PatchableModel):
    g = pm.graph
    return ([torch.ones(g.n_channels, g.senders_before(layer), H) for layer in range(L)],
            pm.full_mlp_masks(), torch.ones(g.n_senders))


def set_edge(receiver, s: int, masks, mlp_masks, final, value: float) -> None:
    """Set the mask entry of edge (sender s -> receiver) to ``value``."""
    name, layer, head, c = receiver
    if head >= 0:
        masks[layer][c, s, head] = value
    elif name == "logits":
        final[s] = value
    else:
        mlp_masks[layer][s] = value


# ----------------------------------------------------------------------------- graph


def test_graph_with_mlps_counts_and_names():
    assert EdgeGraph(12, 12, "separate", mlps=True).n_edges == gpt2_small_edge_count() == 32491
    assert EdgeGraph(12, 12, "pooled", mlps=True).n_edges == gpt2_small_edge_count(qkv_separate=False)
    g = EdgeGraph(L, H, "separate", mlps=True)
    names = g.edge_names()
    assert len(names) == len(set(names)) == g.n_edges == len(g.edges())
    # heads read earlier layers' MLPs; an MLP reads its own layer's heads; logits read all
    for present in ("embed->M0", "A0.3->M0", "M0->A1.2.K", "M0->M1", "A1.0->M1", "M1->logits", "embed->logits"):
        assert present in names
    for absent in ("M1->A1.0.Q", "A1.0->A1.1.Q", "M0->A0.0.Q", "M1->M1"):
        assert absent not in names
    assert [g.sender_name(s) for s in range(g.n_senders)] == [
        "embed", "A0.0", "A0.1", "A0.2", "A0.3", "M0", "A1.0", "A1.1", "A1.2", "A1.3", "M1"]
    assert g.mlp_sender(1) == 10 and g.head_sender(1, 0) == 6
    assert g.head_senders().tolist() == [1, 2, 3, 4, 6, 7, 8, 9]
    # the attention-only graph keeps its numbering
    a = EdgeGraph(L, H, "separate")
    assert a.stride == H and a.head_senders().tolist() == list(range(1, 9))
    with pytest.raises(ValueError, match="no MLPs"):
        a.mlp_sender(0)


# ----------------------------------------------------------------------------- forward pass


@pytest.mark.parametrize("qkv", ["pooled", "separate"])
def test_patchable_forward_matches_the_gpt2_bridge(gpt2, task, qkv):
    pm = PatchableModel(gpt2, qkv=qkv)
    assert pm.has_mlps and pm.graph.mlps
    tokens = tokenize_pairs(gpt2, task).positives
    with torch.no_grad():
        ref = gpt2(tokens)
    assert torch.allclose(pm.full_logits(tokens), ref, atol=1e-4)
    # an MLP sender is the block's MLP output without its bias
    _, cache = gpt2.run_with_cache(tokens)
    mlp0 = pm.senders(tokens)[:, :, pm.graph.mlp_sender(0)]
    assert torch.allclose(mlp0 + pm.b_out[0], cache["blocks.0.mlp.hook_out"], atol=1e-5)


def naive_patched_logits(pm: PatchableModel, batch, masks, mlp_masks, final):
    """Reference: build every receiver input sender by sender, clean or corrupted."""
    g = pm.graph
    corrupt = pm.senders(batch.negatives)
    cur = [pm.embed(batch.positives)]

    def pick(s, keep):
        return cur[s] if keep > 0 else corrupt[:, :, s]

    for layer in range(L):
        xs = []
        for c in range(masks[layer].shape[0]):
            per_head = []
            for h in range(H):
                x = pm.bias_before[layer].clone()
                for s in range(g.senders_before(layer)):
                    x = x + pick(s, masks[layer][c, s, h])
                per_head.append(x)
            xs.append(torch.stack(per_head, dim=2))
        out = pm.layer(layer, *(xs * 3 if len(xs) == 1 else xs))
        cur.extend(out[:, :, h] for h in range(H))
        x = pm.mlp_bias[layer].clone()
        for s in range(g.mlp_senders_before(layer)):
            x = x + pick(s, mlp_masks[layer][s])
        cur.append(pm.mlp(layer, x))
    x = pm.bias_before[L].clone()
    for s in range(g.n_senders):
        x = x + pick(s, final[s])
    rows = torch.arange(x.shape[0])
    return pm.unembed(x[rows, batch.last])


@pytest.mark.parametrize("qkv", ["pooled", "separate"])
@pytest.mark.parametrize("keep", [0.6, 0.03])  # few patched edges / few kept edges
def test_run_patched_with_mlps_matches_naive_patching(gpt2, task, qkv, keep):
    pm = PatchableModel(gpt2, qkv=qkv)
    batch = tokenize_pairs(gpt2, task)
    ctx = pm.context(batch)
    g = pm.graph
    gen = torch.Generator().manual_seed(1)
    masks = [(torch.rand(g.n_channels, g.senders_before(layer), H, generator=gen) < keep).float()
             for layer in range(L)]
    mlp_masks = [(torch.rand(g.mlp_senders_before(layer), generator=gen) < keep).float() for layer in range(L)]
    final = (torch.rand(g.n_senders, generator=gen) < keep).float()
    final[g.mlp_sender(0)] = 1.0
    with torch.no_grad():
        fast = pm.run_patched(ctx, masks, final, mlp_masks=mlp_masks)
        assert torch.allclose(fast, naive_patched_logits(pm, batch, masks, mlp_masks, final), atol=1e-4)
        # start at layer 1 (layer 0 and MLP 0 unpatched), then at MLP 1 (heads of layer 1 too)
        masks[0] = torch.ones_like(masks[0])
        mlp_masks[0] = torch.ones_like(mlp_masks[0])
        slow = naive_patched_logits(pm, batch, masks, mlp_masks, final)
        assert torch.allclose(pm.run_patched(ctx, masks, final, 1, mlp_masks=mlp_masks), slow, atol=1e-4)
        given = torch.stack([pm.head_output(ctx, masks, 1, h)[:, :, 0] for h in range(H)], dim=2)
        assert torch.allclose(pm.run_patched(ctx, masks, final, 1, given, mlp_masks=mlp_masks), slow, atol=1e-4)
        masks[1] = torch.ones_like(masks[1])
        slow = naive_patched_logits(pm, batch, masks, mlp_masks, final)
        from_mlp = pm.run_patched(ctx, masks, final, 1, mlp_masks=mlp_masks, start_at_mlp=True)
        assert torch.allclose(from_mlp, slow, atol=1e-4)
        given_mlp = pm.mlp_output(ctx, mlp_masks, 1)
        assert given_mlp.shape == (batch.positives.shape[0], 32)  # last layer: final positions only
        assert torch.allclose(pm.run_patched(ctx, masks, final, 1, given_mlp, mlp_masks=mlp_masks,
                                             start_at_mlp=True), slow, atol=1e-4)


# ----------------------------------------------------------------------------- EAP


@pytest.mark.parametrize("qkv", ["pooled", "separate"])
def test_eap_is_the_derivative_of_edge_patching(gpt2, task, qkv):
    """Every edge (heads, MLPs, embeddings, logits): the EAP score equals the derivative of
    the patched metric along the edge's clean -> corrupted interpolation (finite differences)."""
    pm = PatchableModel(gpt2, qkv=qkv)
    batch = tokenize_pairs(gpt2, task)
    ctx = pm.context(batch)
    g = pm.graph
    receivers = g.receivers()

    def metric_with(edge, value):
        masks, mlp_masks, final = full_masks(pm)
        if edge is not None:
            set_edge(receivers[edge[1]], edge[0], masks, mlp_masks, final, value)
        with torch.no_grad():
            return mean_metric(pm.run_patched(ctx, masks, final, mlp_masks=mlp_masks), batch.metric_weights)

    f0, eps = metric_with(None, 1.0), 1e-2
    derivative = np.array([(-3 * f0 + 4 * metric_with(e, 1 - eps) - metric_with(e, 1 - 2 * eps)) / (2 * eps)
                           for e in g.edges()])
    result = eap(gpt2, task, qkv=qkv)
    values = result.extras["edge_values"]
    assert result.extras["edge_names"] == g.edge_names() and len(values) == g.n_edges
    scale = np.abs(values).max()
    assert scale > 0
    np.testing.assert_allclose(values, derivative, atol=5e-3 * scale)


def test_eap_approximates_patching_single_edges(gpt2, task):
    """Patching one edge fully (clean -> corrupted) against its EAP score, over every edge."""
    pm = PatchableModel(gpt2, qkv="separate")
    batch = tokenize_pairs(gpt2, task)
    ctx = pm.context(batch)
    receivers = pm.graph.receivers()
    values = eap(gpt2, task).extras["edge_values"]

    def effect(s, r):
        masks, mlp_masks, final = full_masks(pm)
        before = mean_metric(pm.run_patched(ctx, masks, final, mlp_masks=mlp_masks), batch.metric_weights)
        set_edge(receivers[r], s, masks, mlp_masks, final, 0.0)
        return mean_metric(pm.run_patched(ctx, masks, final, mlp_masks=mlp_masks), batch.metric_weights) - before

    with torch.no_grad():
        actual = np.array([effect(s, r) for s, r in pm.graph.edges()])
    assert np.corrcoef(actual, values)[0, 1] > 0.9
    # into the logits an edge passes through the final LayerNorm only: near-linear
    to_logits = [i for i, (_, r) in enumerate(pm.graph.edges()) if receivers[r][0] == "logits"]
    big = max(to_logits, key=lambda i: abs(actual[i]))
    assert abs(actual[big]) > 1e-3
    assert values[big] == pytest.approx(actual[big], rel=0.2)


def test_eap_sender_sums_equal_attribution_patching_through_hooks(gpt2, task):
    """sum of a sender's outgoing edge scores = (corrupt - clean output) . d metric / d output,
    computed here through the bridge's hooks on hook_z and the MLP output."""
    batch = tokenize_pairs(gpt2, task)
    names = [f"blocks.{layer}.attn.hook_z" for layer in range(L)] + [f"blocks.{layer}.mlp.hook_out" for layer in range(L)]
    with torch.no_grad():
        _, neg = gpt2.run_with_cache(batch.negatives)
        _, pos = gpt2.run_with_cache(batch.positives)
    probes = {n: torch.zeros_like(pos[n], requires_grad=True) for n in names}
    hooks = [(n, lambda x, hook, p=probes[n]: x + p) for n in names]
    logits = gpt2.run_with_hooks(batch.positives, fwd_hooks=hooks)
    rows = torch.arange(logits.shape[0])
    (logits[rows, batch.last] * batch.metric_weights).sum(-1).mean().backward()
    attribution = {n: ((neg[n] - pos[n]) * probes[n].grad).double() for n in names}
    heads = np.zeros((L, H))
    for layer in range(L):  # z -> head output is linear (z @ W_O), so the z attribution is the output's
        heads[layer] = attribution[names[layer]].sum(dim=(0, 1, 3)).numpy()
    mlps = np.array([float(attribution[names[L + layer]].sum()) for layer in range(L)])
    for qkv in ("pooled", "separate"):
        result = eap(gpt2, task, qkv=qkv)
        np.testing.assert_allclose(result.extras["signed_node_scores"], heads, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(result.extras["signed_mlp_scores"], mlps, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(result.node_scores, np.abs(heads), rtol=1e-3, atol=1e-6)
        assert result.node_scores.shape == (L, H) and result.extras["mlp_scores"].shape == (L,)
        assert result.extras["head_mlp_scores"].shape == (L * H, L)
        edges = result.edge_scores
        assert edges is not None and np.isfinite(edges).all() and edges.shape == (L * H, L * H)


# ----------------------------------------------------------------------------- ACDC


def test_acdc_with_mlps_extremes(gpt2, task):
    result = acdc(gpt2, task, thresholds=[0.0, 1e9], progress=False)
    zero, huge = result.extras["circuits"]
    assert zero["score"] <= 1e-6 and zero["n_edges_kept"] > 0
    assert huge["n_edges_kept"] == 0 and not huge["heads"].any() and not huge["mlps"].any()
    assert huge["score"] == pytest.approx(result.extras["full_corruption_score"], rel=1e-5)
    g = EdgeGraph(L, H, "separate", mlps=True)
    assert result.extras["n_edges"] == g.n_edges
    assert result.extras["n_edge_tests"] == 2 * (g.n_edges + 1)
    assert result.node_scores.shape == (L, H) and result.extras["mlp_scores"].shape == (L,)
    assert len(result.extras["edge_values"]) == g.n_edges
    assert np.isfinite(result.node_scores).all()


def test_acdc_with_mlps_is_deterministic_and_follows_the_sweep(gpt2, task):
    a = acdc(gpt2, task, fractions=[1e-3, 1e-2, 1e-1, 1.0], progress=False)
    b = acdc(gpt2, task, fractions=[1e-3, 1e-2, 1e-1, 1.0], progress=False)
    np.testing.assert_array_equal(a.node_scores, b.node_scores)
    np.testing.assert_array_equal(a.extras["edge_values"], b.extras["edge_values"])
    sizes = [c["n_edges_kept"] for c in a.extras["circuits"]]
    assert sizes[0] > sizes[-1]
    for c in a.extras["circuits"]:
        assert np.all(a.node_scores[c["heads"]] >= c["threshold"])
        assert np.all(a.extras["mlp_scores"][c["mlps"]] >= c["threshold"])


def test_acdc_single_component_recompute_matches_full_recompute(gpt2, task):
    """The pruning loop recomputes only the receiver head or MLP; a plain loop must agree."""
    pm = PatchableModel(gpt2, qkv="separate")
    scorer = _Scorer(pm, tokenize_pairs(gpt2, task), "kl")
    tau = 0.02 * scorer.fully_corrupted()
    fast = prune(scorer, tau)

    g = pm.graph
    masks, mlp_masks, final = full_masks(pm)
    current = scorer.score(masks, final, L, mlp_masks=mlp_masks)

    def test(flip, undo, start_layer):
        nonlocal current
        flip()
        new = scorer.score(masks, final, start_layer, mlp_masks=mlp_masks)
        if new - current <= tau:
            current = new
        else:
            undo()

    for s in reversed(range(g.n_senders)):
        test(lambda s=s: final.__setitem__(s, 0.0), lambda s=s: final.__setitem__(s, 1.0), L)
    for layer in reversed(range(L)):
        for s in reversed(range(g.mlp_senders_before(layer))):
            m = mlp_masks[layer]
            test(lambda m=m, s=s: m.__setitem__(s, 0.0), lambda m=m, s=s: m.__setitem__(s, 1.0), layer)
        for head in reversed(range(H)):
            for c in reversed(range(3)):
                for s in reversed(range(g.senders_before(layer))):
                    m = masks[layer]
                    test(lambda m=m, i=(c, s, head): m.__setitem__(i, 0.0),
                         lambda m=m, i=(c, s, head): m.__setitem__(i, 1.0), layer)
    assert torch.equal(final, fast.final)
    for a, b in zip(masks + mlp_masks, fast.masks + fast.mlp_masks):
        assert torch.equal(a, b)
    assert fast.score == pytest.approx(current, abs=1e-6)
    kept = sum(int(m.sum()) for m in masks + mlp_masks)
    assert 0 < kept < sum(m.numel() for m in masks + mlp_masks)


def test_components_in_circuit_follow_paths_through_mlps(gpt2):
    pm = PatchableModel(gpt2, qkv="pooled")
    g = pm.graph
    masks, mlp_masks, final = full_masks(pm)
    for m in masks + mlp_masks:
        m.zero_()
    final.zero_()
    final[g.mlp_sender(1)] = 1.0                 # M1 -> logits
    mlp_masks[1][g.mlp_sender(0)] = 1.0          # M0 -> M1
    mlp_masks[0][g.head_sender(0, 2)] = 1.0      # A0.2 -> M0
    mlp_masks[1][g.head_sender(1, 3)] = 1.0      # A1.3 -> M1
    masks[1][0, g.head_sender(0, 1), 0] = 1.0    # A0.1 -> A1.0, a dead end
    heads, mlps = components_in_circuit(pm, masks, final, mlp_masks)
    expected = np.zeros((L, H), dtype=bool)
    expected[0, 2] = expected[1, 3] = True
    assert np.array_equal(heads, expected) and mlps.tolist() == [True, True]


# ----------------------------------------------------------------------------- unsupported


def test_unsupported_models_are_refused_naming_what_is_supported(gpt2):
    def fake(**changes):
        cfg = types.SimpleNamespace(n_layers=1, n_heads=4, positional_embedding_type="standard",
                                    n_key_value_heads=None, normalization_type="LN", attn_only=False,
                                    parallel_attn_mlp=False, gated_mlp=False, act_fn="gelu_new")
        for k, v in changes.items():
            setattr(cfg, k, v)
        return types.SimpleNamespace(cfg=cfg)

    for changes, what in [({"positional_embedding_type": "rotary"}, "rotary"),
                          ({"n_key_value_heads": 2}, "grouped-query"),
                          ({"normalization_type": "RMS"}, "RMS"),
                          ({"parallel_attn_mlp": True}, "parallel"),
                          ({"gated_mlp": True}, "gated"),
                          ({"act_fn": "solu_ln"}, "solu_ln")]:
        with pytest.raises(ValueError, match=what) as err:
            PatchableModel(fake(**changes))
        assert "supports GPT-2-style" in str(err.value) and "\n" not in str(err.value)
    pm = PatchableModel(gpt2, check=False)
    pm.W_out[0] *= 2.0  # a sum that no longer reproduces the bridge
    with pytest.raises(ValueError, match="differs from a sum of its heads and MLPs"):
        pm._check_against_model()


# ----------------------------------------------------------------------------- head methods


def test_every_head_method_runs_on_gpt2(gpt2, task):
    from sae_circuits_widget.baselines import (
        activation_patching,
        activation_patching_resample,
        hisp,
        layer_index,
        output_diff_norm,
        random_scores,
        subnetwork_probing,
    )

    runs = {
        "activation_patching": lambda: activation_patching(gpt2, task, progress=False),
        "activation_patching_resample": lambda: activation_patching_resample(gpt2, task, progress=False),
        "hisp": lambda: hisp(gpt2, task),
        "hisp_mean": lambda: hisp(gpt2, task, baseline="mean"),
        "sp": lambda: subnetwork_probing(gpt2, task, steps=5, progress=False),
        "output_diff_norm": lambda: output_diff_norm(gpt2, task),
        "random": lambda: random_scores(gpt2, task),
        "layer_index": lambda: layer_index(gpt2, task),
    }
    for name, run in runs.items():
        scores = run().node_scores
        assert scores.shape == (L, H) and np.isfinite(scores).all(), name
        if name not in ("random", "layer_index"):
            assert scores.std() > 0, name


def test_ablation_and_faithfulness_on_gpt2(gpt2, task):
    from sae_circuits_widget.interventions.ablation import ablation_effects, faithfulness
    from sae_circuits_widget.interventions.mib_faithfulness import faithfulness_curves

    every = {(layer, h) for layer in range(L) for h in range(H)}
    assert faithfulness(gpt2, task, every) == pytest.approx(1.0, abs=1e-6)
    effects = ablation_effects(gpt2, task, kind="resample")
    assert effects.shape == (L, H) and np.isfinite(effects).all() and np.abs(effects).max() > 0
    ranking = eap(gpt2, task).node_scores
    curves = faithfulness_curves(gpt2, task, {"eap": ranking, "flat": np.ones((L, H))})
    assert curves["flat"].cpr == pytest.approx(0.5, abs=1e-4) and curves["flat"].cmd == pytest.approx(0.5, abs=1e-4)
    assert np.isfinite(curves["eap"].cpr) and np.isfinite(curves["eap"].cmd)
    assert curves["eap"].faithfulness[-1] == pytest.approx(1.0, abs=1e-4)


def test_path_patching_with_frozen_mlps_equals_edge_patching(gpt2, task):
    """Frozen MLPs leave the direct path only: the same as patching that edge in the sum."""
    from sae_circuits_widget.interventions.path_patching import path_patching, path_patching_matrix

    pm = PatchableModel(gpt2, qkv="pooled")
    batch = tokenize_pairs(gpt2, task)
    ctx = pm.context(batch)
    g = pm.graph

    def edge_effect(sender, receiver):
        masks, mlp_masks, final = full_masks(pm)
        with torch.no_grad():
            base = mean_metric(pm.run_patched(ctx, masks, final, mlp_masks=mlp_masks), batch.metric_weights)
            s = g.head_sender(*sender)
            if receiver == "logits":
                final[s] = 0.0
            else:
                masks[receiver[0]][0, s, receiver[1]] = 0.0
            return mean_metric(pm.run_patched(ctx, masks, final, mlp_masks=mlp_masks), batch.metric_weights) - base

    matrix = path_patching_matrix(gpt2, task, freeze_mlps=True)
    through = path_patching_matrix(gpt2, task)
    assert matrix.shape == through.shape == (L * H, L * H + 1)
    for sender, receiver, col in [((0, 1), (1, 2), 4 + 2), ((0, 3), (1, 0), 4), ((0, 2), "logits", L * H),
                                  ((1, 1), "logits", L * H)]:
        expected = edge_effect(sender, receiver)
        assert path_patching(gpt2, task, sender, receiver, freeze_mlps=True) == pytest.approx(expected, abs=1e-4)
        assert matrix[sender[0] * H + sender[1], col] == pytest.approx(expected, abs=1e-4)
    # with MLPs recomputed, every head also reaches the logits through the MLPs after it
    assert np.abs(matrix[:, L * H] - through[:, L * H]).min() > 1e-6
