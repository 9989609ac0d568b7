"""Tests for head ablation, faithfulness and path patching on the tiny in-process model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from sae_circuits_widget import interventions as ab
from sae_circuits_widget.tasks.task import Task
from sae_circuits_widget.testing import tiny_model as make_tiny
from sae_circuits_widget.testing import toy_ioi_task, zero_head_output

ZEROED = (0, 2)
POS = toy_ioi_task(ragged=True).positives  # four pairs; the last is one word shorter
NEG = toy_ioi_task(ragged=True).negatives


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def zeroed_model():
    model = make_tiny(seed=1)
    zero_head_output(model, *ZEROED)
    assert torch.all(model.W_O[ZEROED[0], ZEROED[1]] == 0)
    return model


@pytest.fixture(scope="module")
def task(zeroed_model):
    return toy_ioi_task(zeroed_model, ragged=True)


def test_pair_groups_batch_by_length(zeroed_model, task):
    groups = ab.pair_groups(zeroed_model, task, pad=False)
    assert [idx for idx, _, _, _ in groups] == [[3], [0, 1, 2]]
    for idx, pos, neg, last in groups:
        assert pos.shape == neg.shape and pos.shape[0] == len(idx)
        assert torch.all(last == pos.shape[1] - 1)
    [(idx, pos, neg, last)] = ab.pair_groups(zeroed_model, task)
    assert idx == [0, 1, 2, 3] and last.tolist() == [14, 14, 14, 13]


def test_right_padding_leaves_final_logits_unchanged(zeroed_model):
    toks, last = ab.padded_prompts(zeroed_model, POS)
    with torch.no_grad():
        padded = ab.final_logits(zeroed_model(toks), last)
        for i, p in enumerate(POS):
            torch.testing.assert_close(padded[i], zeroed_model(zeroed_model.to_tokens(p))[0, -1], atol=1e-5, rtol=1e-5)


def test_unaligned_pair_is_rejected(zeroed_model, task):
    bad = replace(task, negatives=[NEG[0] + " the", *NEG[1:]])
    with pytest.raises(ValueError, match="not aligned"):
        ab.pair_groups(zeroed_model, bad)


def test_head_means_pooled_matches_manual(zeroed_model):
    prompts = POS[:2]
    means = ab.head_means(zeroed_model, prompts)
    _, cache = zeroed_model.run_with_cache(zeroed_model.to_tokens(prompts))
    manual = cache["blocks.1.attn.hook_z"][:, 1:].mean(dim=(0, 1))  # BOS position left out
    assert means.shape == (2, 4, 8)
    torch.testing.assert_close(means[1], manual)
    per_pos = ab.head_means(zeroed_model, prompts, per_position=True)
    torch.testing.assert_close(per_pos[1], cache["blocks.1.attn.hook_z"].mean(dim=0))


def test_mean_replacement_keeps_the_bos_position(zeroed_model, task):
    rep = ab.mean_replacement(zeroed_model, task)  # prompts of two lengths: pooled
    assert rep.shape == (2, 15, 4, 8)
    pooled = ab.head_means(zeroed_model, task)
    torch.testing.assert_close(rep[:, 1:], pooled[:, None].expand(2, 14, 4, 8))
    _, cache = zeroed_model.run_with_cache(zeroed_model.to_tokens(POS[:2]))
    for layer in range(2):
        bos = cache[f"blocks.{layer}.attn.hook_z"][:, 0]
        torch.testing.assert_close(bos[0], bos[1])  # the same on every prompt
        torch.testing.assert_close(rep[layer, 0], bos[0], atol=1e-5, rtol=1e-5)
    same_len = toy_ioi_task(zeroed_model, n=3)
    assert same_len.positives == POS[:3]
    per_pos = ab.mean_replacement(zeroed_model, same_len)
    torch.testing.assert_close(per_pos, ab.head_means(zeroed_model, same_len, per_position=True))


def test_head_means_per_position_needs_one_length(zeroed_model):
    with pytest.raises(ValueError, match="one token length"):
        ab.head_means(zeroed_model, POS, per_position=True)


def test_ablating_nothing_changes_nothing(zeroed_model, task):
    toks = zeroed_model.to_tokens(POS[:3])
    mask = torch.zeros(2, 4, dtype=torch.bool)
    out = ab.run_with_heads_ablated(zeroed_model, toks, mask, ab.head_means(zeroed_model, task))
    torch.testing.assert_close(out, zeroed_model(toks))
    all_heads = {(layer, h) for layer in range(2) for h in range(4)}
    assert ab.faithfulness(zeroed_model, task, all_heads) == pytest.approx(1.0, abs=1e-5)


def test_ablation_replaces_exactly_the_masked_head(zeroed_model, task):
    toks = zeroed_model.to_tokens(POS[:3])
    means = ab.head_means(zeroed_model, task)
    mask = torch.zeros(2, 4, dtype=torch.bool)
    mask[1, 3] = True
    seen = {}

    def grab(z, hook):
        seen["z"] = z.clone()

    ab.run_with_heads_ablated(zeroed_model, toks, mask, means, extra_hooks=[("blocks.1.attn.hook_z", grab)])
    _, cache = zeroed_model.run_with_cache(toks)
    clean = cache["blocks.1.attn.hook_z"]
    # hooks run in registration order: the ablation hook fires before ``grab``
    torch.testing.assert_close(seen["z"][:, :, 3], means[1, 3].expand_as(clean[:, :, 3]))
    torch.testing.assert_close(seen["z"][:, :, :3], clean[:, :, :3])


def test_bad_mask_shape(zeroed_model, task):
    toks = zeroed_model.to_tokens(POS[:1])
    with pytest.raises(ValueError, match="mask must have shape"):
        ab.run_with_heads_ablated(zeroed_model, toks, torch.zeros(3, 4, dtype=torch.bool), ab.head_means(zeroed_model, task))


@pytest.mark.parametrize("kind", ["mean", "resample"])
def test_zeroed_head_has_zero_effect(zeroed_model, task, kind):
    eff = ab.ablation_effects(zeroed_model, task, kind=kind)
    assert eff.shape == (2, 4)
    assert eff[ZEROED] == pytest.approx(0.0, abs=1e-5)
    assert np.abs(eff).max() > 1e-3  # other heads do matter, so the test can fail


def test_effects_match_one_at_a_time(zeroed_model, task):
    """The stacked-batch computation equals a plain loop over heads and prompts."""
    eff = ab.ablation_effects(zeroed_model, task, kind="resample", max_batch=5)
    base = ab.clean_metric(zeroed_model, task).mean()
    for layer, h in [(0, 0), (1, 3)]:
        vals = []
        for i in range(task.n_pairs):
            pos = zeroed_model.to_tokens(task.positives[i])
            _, cache = zeroed_model.run_with_cache(zeroed_model.to_tokens(task.negatives[i]))
            rep = torch.stack([cache[f"blocks.{k}.attn.hook_z"] for k in range(2)])
            mask = torch.zeros(2, 4, dtype=torch.bool)
            mask[layer, h] = True
            with torch.no_grad():
                logits = ab.run_with_heads_ablated(zeroed_model, pos, mask, rep)[:, -1]
            vals.append(task.metric(logits, rows=[i])[0])
        assert eff[layer, h] == pytest.approx(float(torch.stack(vals).mean() - base), abs=1e-4)


def test_resample_with_identical_pairs_is_zero(zeroed_model, task):
    same = replace(task, negatives=POS)
    eff = ab.ablation_effects(zeroed_model, same, kind="resample")
    np.testing.assert_allclose(eff, 0.0, atol=1e-5)


def test_top_k_faithfulness_ends(zeroed_model, task):
    scores = np.arange(8.0).reshape(2, 4)
    top3 = ab.top_k_heads(scores, 3)
    assert top3 == [(1, 3), (1, 2), (1, 1)]
    every = ab.top_k_heads(scores, 8)
    assert ab.faithfulness(zeroed_model, task, every) == pytest.approx(1.0, abs=1e-5)
    assert abs(ab.faithfulness(zeroed_model, task, []) - 1.0) > 1e-3


def test_path_patching_without_a_path_is_zero(zeroed_model, task):
    assert ab.path_patching(zeroed_model, task, (1, 0), (1, 0)) == pytest.approx(0.0, abs=1e-6)
    assert ab.path_patching(zeroed_model, task, (1, 0), (0, 3)) == pytest.approx(0.0, abs=1e-6)
    assert ab.path_patching(zeroed_model, task, (0, 1), (0, 3)) == pytest.approx(0.0, abs=1e-6)
    assert ab.path_patching(zeroed_model, task, ZEROED, [(1, 0), (1, 1), "logits"]) == pytest.approx(0.0, abs=1e-6)


def test_path_patching_all_paths_equals_resample_ablation(zeroed_model, task):
    """In two layers every path from a layer-0 head ends in a layer-1 head or the logits."""
    eff = ab.ablation_effects(zeroed_model, task, kind="resample")
    everything = [(1, h) for h in range(4)] + ["logits"]
    assert ab.path_patching(zeroed_model, task, (0, 1), everything) == pytest.approx(eff[0, 1], abs=1e-4)
    assert ab.path_patching(zeroed_model, task, (1, 2), "logits") == pytest.approx(eff[1, 2], abs=1e-4)
    assert abs(eff[0, 1]) > 1e-4


def test_path_patching_matrix_matches_single_paths(zeroed_model, task):
    mat = ab.path_patching_matrix(zeroed_model, task, max_batch=7)
    assert mat.shape == (8, 9)
    for s, r in [(1, 5), (0, 7), (3, 4), (6, 8), (1, 8)]:
        rec = "logits" if r == 8 else (r // 4, r % 4)
        want = ab.path_patching(zeroed_model, task, (s // 4, s % 4), rec)
        assert mat[s, r] == pytest.approx(want, abs=1e-5)
    assert np.all(mat[4:, :8] == 0)  # no path from layer 1 into any head
    np.testing.assert_allclose(mat[2], 0.0, atol=1e-6)  # the zeroed head (0, 2)
    assert np.abs(mat).max() > 1e-4


def test_task_without_metric_is_rejected(zeroed_model):
    with pytest.raises(ValueError, match="correct_ids"):
        ab.ablation_effects(zeroed_model, Task("x", positives=POS, negatives=NEG))
