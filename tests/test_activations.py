"""Per-head residual contributions, position modes, batching and the cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_helpers import toy_ioi

from sae_circuits_widget.engine.activations import HeadOutputCache, attention_from_final, head_outputs
from sae_circuits_widget.errors import NonFiniteActivationsError, PromptError
from sae_circuits_widget.testing import tiny_model as make_tiny


def reference(model, prompt, position):
    """Direct computation from a full activation cache."""
    tokens = model.to_tokens(prompt)
    _, cache = model.run_with_cache(tokens)
    per_layer = []
    for layer in range(model.cfg.n_layers):
        z = cache[f"blocks.{layer}.attn.hook_z"][0]  # [pos, head, d_head]
        res = torch.einsum("phd,hdm->phm", z, model.W_O[layer])  # [pos, head, d_model]
        per_layer.append(res[1:].mean(0) if position == "mean" else res[-1])
    return torch.cat(per_layer)  # [L*H, d_model]


@pytest.mark.parametrize("position", ["mean", "last"])
def test_matches_direct_computation(tiny_model, position):
    prompts = toy_ioi(3).positives + ["Mary went to the park"]
    x = head_outputs(tiny_model, prompts, position, use_cache=False)
    assert x.shape == (4, tiny_model.cfg.n_layers * tiny_model.cfg.n_heads, tiny_model.cfg.d_model)
    for i, p in enumerate(prompts):
        torch.testing.assert_close(x[i], reference(tiny_model, p, position).float(), atol=1e-5, rtol=1e-4)


def test_heads_sum_to_attention_output(tiny_model):
    prompt = "When Mary and John went"
    x = head_outputs(tiny_model, [prompt], "last", use_cache=False)[0]
    _, cache = tiny_model.run_with_cache(tiny_model.to_tokens(prompt))
    H = tiny_model.cfg.n_heads
    for layer in range(tiny_model.cfg.n_layers):
        total = x[layer * H : (layer + 1) * H].sum(0) + tiny_model.b_O[layer]
        torch.testing.assert_close(total, cache[f"blocks.{layer}.attn.hook_out"][0, -1], atol=1e-5, rtol=1e-4)


def test_bos_is_excluded_from_the_mean(tiny_model):
    prompt = "Mary"
    mean = head_outputs(tiny_model, [prompt], "mean", use_cache=False)
    last = head_outputs(tiny_model, [prompt], "last", use_cache=False)
    torch.testing.assert_close(mean, last)  # one real token: mean == that token


def test_batching_by_length_does_not_change_values(tiny_model):
    prompts = ["Mary went", "When Mary and John went to the store", "Tom gave a book", "Anna"]
    together = head_outputs(tiny_model, prompts, use_cache=False, batch_size=2)
    alone = torch.cat([head_outputs(tiny_model, [p], use_cache=False) for p in prompts])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


def test_cache_costs_one_forward_per_new_prompt(tiny_model):
    cache = HeadOutputCache()
    prompts = toy_ioi(4).positives
    first = head_outputs(tiny_model, prompts, cache=cache)
    assert cache.forward_prompts == 4
    edited = prompts[:3] + ["When Tom and Anna went to the park , Anna gave a book to"]
    second = head_outputs(tiny_model, edited, cache=cache)
    assert cache.forward_prompts == 5
    torch.testing.assert_close(second[:3], first[:3])
    head_outputs(tiny_model, prompts, "last", cache=cache)  # another position mode: new entries
    assert cache.forward_prompts == 9
    assert len(cache) == 9


def test_cache_drops_entries_when_weights_change():
    model = make_tiny(seed=1)
    cache = HeadOutputCache()
    before = head_outputs(model, ["Mary went"], cache=cache)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
            break
    after = head_outputs(model, ["Mary went"], cache=cache)
    assert cache.forward_prompts == 2
    assert not torch.equal(before, after)


def test_nan_outputs_raise_a_clear_error():
    model = make_tiny(seed=2)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed" in name:
                p.fill_(float("nan"))
    with pytest.raises(NonFiniteActivationsError, match="NaN or infinite"):
        head_outputs(model, ["Mary went"], use_cache=False)


def test_too_long_prompt(tiny_model):
    long = " ".join(["Mary"] * (tiny_model.cfg.n_ctx + 5))
    with pytest.raises(PromptError, match="context"):
        head_outputs(tiny_model, [long], use_cache=False)


def test_bad_position(tiny_model):
    with pytest.raises(ValueError, match="position"):
        head_outputs(tiny_model, ["Mary"], "first")


def test_attention_from_final(tiny_model):
    tokens, weights = attention_from_final(tiny_model, "When Mary and John went", 1, 2)
    assert tokens[0] == "<bos>" and len(tokens) == len(weights) == 6
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.all(weights >= 0)
    with pytest.raises(ValueError, match="does not exist"):
        attention_from_final(tiny_model, "Mary", 5, 0)
