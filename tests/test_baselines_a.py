"""Activation patching, HISP, subnetwork probing and trivial scores on the tiny model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from sae_circuits_widget import interventions as ab
from sae_circuits_widget.baselines.activation_patching import activation_patching, activation_patching_resample
from sae_circuits_widget.baselines.hisp import hisp
from sae_circuits_widget.baselines.subnetwork import subnetwork_probing
from sae_circuits_widget.baselines.trivial import (
    layer_index,
    layer_index_reverse,
    output_diff_norm,
    random_scores,
)
from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.tasks.task import Task
from sae_circuits_widget.testing import tiny_model as make_tiny
from sae_circuits_widget.testing import toy_ioi_task, zero_head_output

ZEROED = (0, 2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def model():
    m = make_tiny(seed=1)
    zero_head_output(m, *ZEROED)
    return m


@pytest.fixture(scope="module")
def task(model):
    return toy_ioi_task(model, ragged=True)  # the last pair is one word shorter


def _check_result(res: CircuitResult, method: str, task: Task) -> None:
    assert isinstance(res, CircuitResult)
    assert res.method == method
    assert res.node_scores.shape == (2, 4)
    assert np.all(np.isfinite(res.node_scores))
    assert res.task_name == task.name
    assert res.seconds > 0


# ----------------------------------------------------------------- activation patching
@pytest.mark.parametrize("kind,name", [("mean", "activation_patching"), ("resample", "activation_patching_resample")])
def test_activation_patching(model, task, kind, name):
    res = activation_patching(model, task, kind=kind, progress=False)
    _check_result(res, name, task)
    assert res.node_scores[ZEROED] == pytest.approx(0.0, abs=1e-5)
    effects = ab.ablation_effects(model, task, kind=kind)
    np.testing.assert_allclose(res.node_scores, np.abs(effects), atol=1e-6)
    np.testing.assert_allclose(res.extras["effects"], effects, atol=1e-6)
    assert res.node_scores.max() > 1e-3


def test_activation_patching_edges(model, task):
    res = activation_patching(model, task, kind="resample", edges=True, progress=False)
    assert res.edge_scores.shape == (8, 8)
    assert res.extras["path_patching"].shape == (8, 9)
    np.testing.assert_allclose(res.edge_scores[2], 0.0, atol=1e-6)  # the zeroed head (0, 2) sends nothing
    np.testing.assert_array_equal(res.edge_scores[4:], 0.0)  # layer 1 reaches no head
    want = ab.path_patching(model, task, (0, 1), (1, 3))
    assert res.edge_scores[1, 7] == pytest.approx(abs(want), abs=1e-5)
    assert res.edge_scores.max() > 1e-4
    assert set(res.timings) == {"ablations", "path_patching"}


def test_activation_patching_resample_alias(model, task):
    a = activation_patching_resample(model, task, progress=False)
    b = activation_patching(model, task, kind="resample", progress=False)
    np.testing.assert_array_equal(a.node_scores, b.node_scores)


def test_activation_patching_bad_kind(model, task):
    with pytest.raises(ValueError, match="kind"):
        activation_patching(model, task, kind="zero")


# ----------------------------------------------------------------- HISP
@pytest.mark.parametrize("loss", ["metric", "ce"])
@pytest.mark.parametrize("baseline", ["zero", "mean"])
def test_hisp_zeroed_head_scores_zero(model, task, loss, baseline):
    res = hisp(model, task, loss=loss, baseline=baseline, progress=False)
    _check_result(res, "hisp", task)
    assert res.node_scores[ZEROED] == pytest.approx(0.0, abs=1e-7)
    assert res.node_scores.max() > 1e-4


def test_hisp_matches_finite_differences(model, task):
    """|d(-metric)/d xi| for each prompt, by central differences on a scaled head output."""
    res = hisp(model, task, progress=False)
    eps = 1e-2
    for layer, h in [(0, 1), (1, 3)]:
        grads = []
        for i in range(task.n_pairs):
            toks = model.to_tokens(task.positives[i])
            vals = []
            for s in (1 + eps, 1 - eps):
                scale = torch.ones(2, 4)
                scale[layer, h] = s
                with torch.no_grad():
                    logits = model.run_with_hooks(toks, fwd_hooks=ab.scaled_head_hooks(model, scale))[:, -1]
                vals.append(-float(task.metric(logits, rows=[i])[0]))
            grads.append(abs(vals[0] - vals[1]) / (2 * eps))
        assert res.node_scores[layer, h] == pytest.approx(np.mean(grads), rel=2e-2, abs=1e-4)


def test_hisp_leaves_model_parameters_trainable(model, task):
    before = [p.requires_grad for p in model.parameters()]
    hisp(model, task, progress=False)
    assert [p.requires_grad for p in model.parameters()] == before
    assert all(p.grad is None for p in model.parameters())


# ----------------------------------------------------------------- subnetwork probing
def test_sp_shape_and_determinism(model, task):
    a = subnetwork_probing(model, task, seed=0, steps=30, progress=False)
    b = subnetwork_probing(model, task, seed=0, steps=30, progress=False)
    c = subnetwork_probing(model, task, seed=1, steps=30, progress=False)
    _check_result(a, "sp", task)
    np.testing.assert_array_equal(a.node_scores, b.node_scores)
    assert not np.array_equal(a.node_scores, c.node_scores)
    assert a.extras["mask"].shape == (2, 4)
    assert a.extras["history"].shape == (30, 2)
    assert np.all((a.extras["mask"] >= 0) & (a.extras["mask"] <= 1))


def test_sp_zeroed_head_feels_only_the_penalty(model, task):
    """The zeroed head's mask changes nothing, so without a penalty its logit never moves."""
    init = 3.0 + 0.01 * torch.randn(2, 4, generator=torch.Generator().manual_seed(0))
    free = subnetwork_probing(model, task, seed=0, steps=40, sparsity=0.0, progress=False)
    assert free.node_scores[ZEROED] == pytest.approx(float(init[ZEROED]), abs=1e-6)
    moved = np.abs(free.node_scores - init.numpy())
    assert moved.max() > 0.1
    pruned = subnetwork_probing(model, task, seed=0, steps=40, sparsity=1.0, lr=0.1, progress=False)
    assert pruned.node_scores[ZEROED] < float(init[ZEROED]) - 0.5 * 0.1 * 40


def test_sp_sparsity_lowers_kept_heads(model, task):
    lo = subnetwork_probing(model, task, seed=0, steps=60, sparsity=0.0, progress=False)
    hi = subnetwork_probing(model, task, seed=0, steps=60, sparsity=5.0, progress=False)
    assert hi.extras["keep_probability"].mean() < lo.extras["keep_probability"].mean()


# ----------------------------------------------------------------- trivial scores
def test_random_scores_seeded(model, task):
    a, b, c = random_scores(model, task, seed=3), random_scores(model, task, seed=3), random_scores(model, task, seed=4)
    _check_result(a, "random", task)
    np.testing.assert_array_equal(a.node_scores, np.random.default_rng(3).random((2, 4)))
    np.testing.assert_array_equal(a.node_scores, b.node_scores)
    assert not np.array_equal(a.node_scores, c.node_scores)


def test_layer_index_scores(model, task):
    fwd, rev = layer_index(model, task), layer_index_reverse(model, task)
    _check_result(fwd, "layer_index", task)
    _check_result(rev, "layer_index_reversed", task)
    np.testing.assert_array_equal(fwd.node_scores, [[0, 0, 0, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(rev.node_scores, -fwd.node_scores)


@pytest.mark.parametrize("position", ["mean", "last"])
def test_output_diff_norm(model, task, position):
    res = output_diff_norm(model, task, position=position)
    _check_result(res, "output_diff_norm", task)
    assert res.node_scores[ZEROED] == pytest.approx(0.0, abs=1e-6)
    # manual value for head (1, 1): per prompt average over the positions after <bos> (or
    # the last one), then over prompts
    layer, h = 1, 1

    @torch.no_grad()
    def mean_out(prompts):
        outs = []
        for p in prompts:
            _, cache = model.run_with_cache(model.to_tokens(p))
            r = cache[f"blocks.{layer}.attn.hook_z"][0, :, h] @ model.W_O[layer, h]
            outs.append(r[1:].mean(0) if position == "mean" else r[-1])
        return torch.stack(outs).mean(0)

    want = float((mean_out(task.positives) - mean_out(task.negatives)).norm())
    assert res.node_scores[layer, h] == pytest.approx(want, rel=1e-4)
    same = output_diff_norm(model, replace(task, negatives=task.positives), position=position)
    np.testing.assert_allclose(same.node_scores, 0.0, atol=1e-6)
