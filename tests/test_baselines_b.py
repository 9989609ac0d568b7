"""EAP, ACDC and the benchmark on the tiny in-process model, where the answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_circuits_widget.baselines.acdc import acdc
from sae_circuits_widget.baselines.eap import (
    EdgeGraph,
    PatchableAttentionOnly,
    eap,
    gpt2_small_edge_count,
    tokenize_pairs,
)
from sae_circuits_widget.tasks.task import Task
from sae_circuits_widget.testing import tiny_model as make_tiny
from sae_circuits_widget.testing import toy_ioi_task, zero_head_output

POS = toy_ioi_task().positives
NEG = toy_ioi_task().negatives


@pytest.fixture(scope="module")
def zeroed_model():
    """A tiny model whose head (1, 2) writes nothing (its W_O block is zero)."""
    model = make_tiny()
    zero_head_output(model, 1, 2)
    return model


def head_patch_effects(model, task: Task) -> np.ndarray:
    """Metric change when one head's z on the positives is replaced by its z on the negatives.

    Computed through the bridge's hooks, independently of the edge machinery.
    """
    batch = tokenize_pairs(model, task)
    L, H = model.cfg.n_layers, model.cfg.n_heads
    rows = torch.arange(batch.positives.shape[0])

    def metric(logits):
        return float((logits[rows, batch.last] * batch.metric_weights).sum(-1).mean())

    with torch.no_grad():
        _, neg_cache = model.run_with_cache(batch.negatives)
        base = metric(model(batch.positives))
        out = np.zeros((L, H))
        for layer in range(L):
            neg_z = neg_cache[f"blocks.{layer}.attn.hook_z"]
            for h in range(H):
                def hook(z, hook, h=h, neg_z=neg_z):
                    z = z.clone()
                    z[:, :, h] = neg_z[:, :, h]
                    return z

                logits = model.run_with_hooks(batch.positives, fwd_hooks=[(f"blocks.{layer}.attn.hook_z", hook)])
                out[layer, h] = metric(logits) - base
    return out


# ----------------------------------------------------------------------------- graph


def test_edge_graph_counts_and_names():
    g = EdgeGraph(2, 4, "separate")
    # layer 0: 4 heads x 3 x 1 sender; layer 1: 4 x 3 x 5; logits: 9 senders
    assert g.n_edges == 12 + 60 + 9 == len(g.edges()) == len(g.edge_names())
    assert EdgeGraph(2, 4, "pooled").n_edges == 4 + 20 + 9
    names = g.edge_names()
    assert names[0] == "embed->A0.0.Q" and names[-1] == "A1.3->logits"
    assert len(set(names)) == len(names)
    assert gpt2_small_edge_count() == 32491
    assert gpt2_small_edge_count(qkv_separate=False, with_mlps=False) == EdgeGraph(12, 12).n_edges


def test_patchable_forward_matches_bridge(tiny_model):
    pm = PatchableAttentionOnly(tiny_model)
    tokens = tiny_model.to_tokens(POS[:2])
    with torch.no_grad():
        ref = tiny_model(tokens)
    assert torch.allclose(pm.full_logits(tokens), ref, atol=1e-4)


def naive_patched_logits(pm, batch, masks, final_mask):
    """Reference: build every receiver input sender by sender, clean or corrupted."""
    corrupt = pm.senders(batch.negatives)
    cur = [pm.embed(batch.positives)]
    H = pm.n_heads
    for layer in range(pm.n_layers):
        n_s = pm.graph.senders_before(layer)
        xs = []
        for c in range(masks[layer].shape[0]):
            per_head = []
            for h in range(H):
                x = pm.bias_before[layer].clone()
                for s in range(n_s):
                    x = x + (cur[s] if masks[layer][c, s, h] > 0 else corrupt[:, :, s])
                per_head.append(x)
            xs.append(torch.stack(per_head, dim=2))
        if len(xs) == 1:
            xs = xs * 3
        out = pm.layer(layer, *xs)
        cur.extend(out[:, :, h] for h in range(H))
    x = pm.bias_before[pm.n_layers].clone()
    for s in range(pm.graph.n_senders):
        x = x + (cur[s] if final_mask[s] > 0 else corrupt[:, :, s])
    rows = torch.arange(x.shape[0])
    return pm.unembed(x[rows, batch.last])


@pytest.mark.parametrize("qkv", ["pooled", "separate"])
@pytest.mark.parametrize("keep", [0.6, 0.03])  # few patched edges / few kept edges
def test_run_patched_matches_naive_patching(tiny_model, qkv, keep):
    pm = PatchableAttentionOnly(tiny_model, qkv=qkv)
    batch = tokenize_pairs(tiny_model, toy_ioi_task(tiny_model))
    ctx = pm.context(batch)
    g = pm.graph
    gen = torch.Generator().manual_seed(1)
    masks = [(torch.rand(g.n_channels, g.senders_before(layer), 4, generator=gen) < keep).float() for layer in range(2)]
    final = (torch.rand(g.n_senders, generator=gen) < keep).float()
    final[3] = 1.0
    with torch.no_grad():
        fast = pm.run_patched(ctx, masks, final)
        slow = naive_patched_logits(pm, batch, masks, final)
        assert torch.allclose(fast, slow, atol=1e-4)
        # start at layer 1 when layer 0 is unpatched
        masks[0] = torch.ones_like(masks[0])
        masks[1][:, 2, 1] = 1.0
        fast1 = pm.run_patched(ctx, masks, final, start_layer=1)
        slow1 = naive_patched_logits(pm, batch, masks, final)
        assert torch.allclose(fast1, slow1, atol=1e-4)
        assert not torch.allclose(fast1, pm.run_patched(ctx, [torch.ones_like(m) for m in masks],
                                                        torch.ones_like(final)), atol=1e-3)


def test_bad_inputs_raise(tiny_model):
    with pytest.raises(ValueError, match="qkv"):
        PatchableAttentionOnly(tiny_model, qkv="split")
    task = toy_ioi_task(tiny_model)
    bad = Task("bad", positives=[POS[0]], negatives=["When Mary went"],
               correct_ids=task.correct_ids[:1], incorrect_ids=task.incorrect_ids[:1])
    with pytest.raises(ValueError, match="not aligned"):
        tokenize_pairs(tiny_model, bad)
    with pytest.raises(ValueError, match="metric"):
        eap(tiny_model, Task("nometric", positives=POS[:1], negatives=NEG[:1]))
    with pytest.raises(ValueError, match="metric"):
        acdc(tiny_model, task, metric="loss", progress=False)
    with pytest.raises(ValueError, match="thresholds"):
        acdc(tiny_model, task, thresholds=[-1.0], progress=False)


def test_native_model_with_mlps_is_patchable():
    """A model with MLPs (here booted natively, act_fn="gelu") gets MLP nodes; see
    test_mlp_baselines.py for GPT-2 and for what is refused."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge.sources import boot_native

    from sae_circuits_widget.organism.tokenizer import word_tokenizer
    from sae_circuits_widget.testing import TINY_WORDS

    tok = word_tokenizer(TINY_WORDS)
    cfg = TransformerBridgeConfig(d_model=16, d_head=4, n_heads=4, n_layers=1, n_ctx=16, d_mlp=32,
                                  d_vocab=len(tok), attn_only=False, normalization_type="LN", act_fn="gelu")
    model = boot_native(cfg, tokenizer=tok)
    pm = PatchableAttentionOnly(model)  # the former name still works
    assert pm.has_mlps and pm.graph.n_senders == 1 + 4 + 1
    tokens = model.to_tokens(POS[:2])
    with torch.no_grad():
        assert torch.allclose(pm.full_logits(tokens), model(tokens), atol=1e-4)


# ----------------------------------------------------------------------------- EAP


def test_eap_of_a_silent_head_is_zero(zeroed_model):
    task = toy_ioi_task(zeroed_model)
    result = eap(zeroed_model, task)
    H = zeroed_model.cfg.n_heads
    assert result.method == "eap" and result.node_scores.shape == (2, 4)
    assert result.node_scores[1, 2] == 0.0
    assert result.extras["logit_scores"][1 * H + 2] == 0.0
    # a head that writes nothing has no gradient through its input either
    assert np.all(result.edge_scores[:, 1 * H + 2] == 0.0)
    assert result.extras["embed_scores"][1 * H + 2] == 0.0
    # the other heads do carry attribution
    assert (np.delete(result.node_scores.reshape(-1), 1 * H + 2) > 0).all()


def test_eap_matches_actual_head_patching(tiny_model):
    """Random small model, one-token corruptions: first order is close to the real effect."""
    task = toy_ioi_task(tiny_model)
    result = eap(tiny_model, task)
    actual = head_patch_effects(tiny_model, task)
    predicted = result.extras["signed_node_scores"]
    assert np.corrcoef(actual.reshape(-1), predicted.reshape(-1))[0, 1] > 0.95
    big = np.abs(actual) > 0.2 * np.abs(actual).max()
    assert big.any()
    assert np.all(np.sign(actual[big]) == np.sign(predicted[big]))
    np.testing.assert_allclose(predicted[big], actual[big], rtol=0.3)


def test_eap_pooled_and_separate_agree_per_head(tiny_model):
    task = toy_ioi_task(tiny_model)
    a = eap(tiny_model, task, qkv="pooled")
    b = eap(tiny_model, task, qkv="separate")
    np.testing.assert_allclose(a.extras["signed_node_scores"], b.extras["signed_node_scores"],
                               rtol=1e-4, atol=1e-6)
    assert len(b.extras["edge_values"]) == EdgeGraph(2, 4, "separate").n_edges
    assert len(a.extras["edge_values"]) == EdgeGraph(2, 4, "pooled").n_edges


def test_eap_edge_matches_patching_one_edge(tiny_model):
    """Patch the single edge A0.1 -> logits and compare with its EAP score."""
    task = toy_ioi_task(tiny_model)
    pm = PatchableAttentionOnly(tiny_model, qkv="pooled")
    batch = tokenize_pairs(tiny_model, task)
    ctx = pm.context(batch)
    g = pm.graph
    masks = [torch.ones(1, g.senders_before(layer), 4) for layer in range(2)]
    final = torch.ones(g.n_senders)

    def metric(final_mask):
        with torch.no_grad():
            logits = pm.run_patched(ctx, masks, final_mask)
        return float((logits * batch.metric_weights).sum(-1).mean())

    patched = final.clone()
    patched[1 + 1] = 0.0  # sender A0.1
    actual = metric(patched) - metric(final)
    predicted = eap(tiny_model, task, qkv="pooled").extras["logit_scores"][1]
    # logits receive the edge through the final LayerNorm only: near-linear
    assert abs(actual) > 1e-4
    assert predicted == pytest.approx(actual, rel=0.2)


# ----------------------------------------------------------------------------- ACDC


def test_acdc_threshold_zero_keeps_what_matters_and_huge_removes_all(zeroed_model):
    task = toy_ioi_task(zeroed_model)
    result = acdc(zeroed_model, task, thresholds=[0.0, 1e9], progress=False)
    zero, huge = result.extras["circuits"]
    # threshold 0: the circuit is as good as the model, and every head that writes is kept
    assert zero["score"] <= 1e-6
    expected = np.ones((2, 4), dtype=bool)
    expected[1, 2] = False  # the silent head's edges change nothing, so they go
    assert np.array_equal(zero["heads"], expected)
    assert zero["n_edges_kept"] > 0
    # huge threshold: nothing is left and the score is that of the corrupted model
    assert huge["n_edges_kept"] == 0 and not huge["heads"].any()
    assert huge["score"] == pytest.approx(result.extras["full_corruption_score"], rel=1e-5)
    assert result.extras["n_edge_tests"] == 2 * (EdgeGraph(2, 4, "separate").n_edges + 1)


def test_acdc_is_deterministic_and_scores_follow_the_sweep(tiny_model):
    task = toy_ioi_task(tiny_model)
    a = acdc(tiny_model, task, fractions=[1e-3, 1e-2, 1e-1, 1.0], progress=False)
    b = acdc(tiny_model, task, fractions=[1e-3, 1e-2, 1e-1, 1.0], progress=False)
    np.testing.assert_array_equal(a.node_scores, b.node_scores)
    np.testing.assert_array_equal(a.edge_scores, b.edge_scores)
    sizes = [c["heads"].sum() for c in a.extras["circuits"]]
    assert sizes[0] > sizes[-1]  # larger thresholds prune more
    for c in a.extras["circuits"]:
        assert np.all(a.node_scores[c["heads"]] >= c["threshold"])
    assert a.extras["seconds_per_edge_test"] > 0
    assert a.timings["pruning"] > 0


def test_acdc_logit_diff_metric(tiny_model):
    task = toy_ioi_task(tiny_model)
    result = acdc(tiny_model, task, metric="logit_diff", thresholds=[0.0, 1e9], progress=False)
    zero, huge = result.extras["circuits"]
    assert zero["score"] <= 1e-5
    assert huge["n_edges_kept"] == 0


# ----------------------------------------------------------------------------- benchmark


def test_run_benchmark_shape_and_table(tiny_model, monkeypatch):
    from dataclasses import replace

    from sae_circuits_widget.evaluation import benchmark

    task = replace(toy_ioi_task(tiny_model), ground_truth=frozenset({(0, 2), (1, 1)}))
    monkeypatch.setitem(benchmark._REGISTRY, "broken", ("sae_circuits_widget.no_such_module", ("x",), {}))
    out = benchmark.run_benchmark(
        tiny_model, [task], seeds=1, methods=["eap", "acdc", "random", "broken"],
        method_kwargs={"acdc": {"fractions": [0.01, 1.0]}}, progress=False, log=None,
    )
    rows = out["tasks"]["toy_ioi"]
    assert set(rows) == {"eap", "acdc", "random"}
    for row in rows.values():
        assert 0.0 <= row["node_auc"] <= 1.0 and 0.0 <= row["best_f1"] <= 1.0
        assert np.isfinite(row["faithfulness"]) and row["seconds"] >= 0
        assert np.isfinite(row["cpr"]) and np.isfinite(row["cmd"])  # MIB's areas, see test_faithfulness
        assert row["time_vs_sae"] is None  # no SAE row in this run
    assert rows["eap"]["edge_auc"] is not None and rows["random"]["edge_auc"] is None
    assert rows["acdc"]["n_edge_tests"] == 2 * (EdgeGraph(2, 4, "separate").n_edges + 1)
    assert "no_such_module" in out["errors"]["toy_ioi"]["broken"]
    assert set(out["roc"]["toy_ioi"]) == {"eap", "acdc", "random"}
    table = benchmark.format_table(out)
    assert "### toy_ioi" in table and "| eap |" in table and "| broken | failed" in table
    assert "| CPR | CMD |" in table
    with pytest.raises(benchmark.MethodUnavailable):
        benchmark.run_benchmark(tiny_model, [task], seeds=1, methods=["broken"], strict=True, log=None)
    with pytest.raises(ValueError, match="unknown method"):
        benchmark.run_benchmark(tiny_model, [task], seeds=1, methods=["nope"], log=None)


def test_time_ratios_against_the_sae_row():
    from sae_circuits_widget.evaluation.benchmark import format_table

    bench = {"tasks": {"t": {"sae": {"seconds": 2.0, "time_vs_sae": 1.0, "node_auc": 0.8},
                             "acdc": {"seconds": 80.0, "time_vs_sae": 40.0, "node_auc": 0.9,
                                      "std": {"node_auc": 0.05}}}},
             "speedup_sae_vs_acdc": {"t": 40.0}}
    table = format_table(bench)
    assert "| acdc | 0.900 ± 0.050 |" in table and "40.0x" in table and "t 40x" in table


def test_acdc_single_head_recompute_matches_full_recompute(tiny_model):
    """The pruning loop recomputes only the receiver head; a plain loop must agree."""
    from sae_circuits_widget.baselines.acdc import _Scorer, acdc_prune

    pm = PatchableAttentionOnly(tiny_model, qkv="separate")
    scorer = _Scorer(pm, tokenize_pairs(tiny_model, toy_ioi_task(tiny_model)), "kl")
    tau = 0.02 * scorer.fully_corrupted()
    fast_masks, fast_final, fast_score = acdc_prune(scorer, tau)

    g = pm.graph
    masks = [m.clone() for m in scorer.full_masks]
    final = scorer.full_final.clone()
    current = scorer.score(masks, final, pm.n_layers)
    for s in reversed(range(g.n_senders)):
        final[s] = 0.0
        new = scorer.score(masks, final, pm.n_layers)
        current, final[s] = (new, 0.0) if new - current <= tau else (current, 1.0)
    for layer in reversed(range(pm.n_layers)):
        for head in reversed(range(pm.n_heads)):
            for c in reversed(range(3)):
                for s in reversed(range(g.senders_before(layer))):
                    masks[layer][c, s, head] = 0.0
                    new = scorer.score(masks, final, layer)
                    if new - current <= tau:
                        current = new
                    else:
                        masks[layer][c, s, head] = 1.0
    assert torch.equal(final, fast_final)
    for a, b in zip(masks, fast_masks):
        assert torch.equal(a, b)
    assert fast_score == pytest.approx(current, abs=1e-6)
    assert 0 < int(sum(m.sum() for m in masks)) < sum(m.numel() for m in masks)


def test_edge_scores_pooled_over_possible_edges(tiny_model):
    """Half of the 16 possible head->head edges of a 2x4 model are counted, not every pair."""
    from sae_circuits_widget.baselines.eap import edge_head_scores

    result = eap(tiny_model, toy_ioi_task(tiny_model))
    pooled = result.edge_head_scores
    assert pooled is not None and pooled.shape == (2, 4)
    assert pooled.sum() == pytest.approx(2 * 8)  # each counted pair credits sender and receiver
    assert pooled.std() > 0
    edges = np.zeros((8, 8))
    edges[0, 4] = 5.0  # A0.0 -> A1.0 is the only edge with a score
    assert edge_head_scores(edges, 2, 4).reshape(-1)[[0, 4]].tolist() == [1.0, 1.0]
