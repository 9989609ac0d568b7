"""Each engine stage on the bundled model organism (offline, shipped weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sae_circuits_widget import Session, discover, get_task, load_model
from sae_circuits_widget.engine.activations import HeadOutputCache, head_outputs
from sae_circuits_widget.engine.sae import fit_sae
from sae_circuits_widget.engine.scoring import unique_positive_codes
from sae_circuits_widget.engine.validation import validate_prompts
from sae_circuits_widget.errors import PromptError


@pytest.fixture(scope="module")
def organism():
    return load_model()


@pytest.fixture(scope="module")
def ioi(organism):
    return get_task("ioi", organism, n=8, seed=0)


def test_head_outputs_match_the_attention_output(organism, ioi):
    prompt = ioi.positives[0]
    x = head_outputs(organism, [prompt], "last", use_cache=False)[0]
    _, cache = organism.run_with_cache(organism.to_tokens(prompt))
    H = organism.cfg.n_heads
    assert x.shape == (organism.cfg.n_layers * H, organism.cfg.d_model)
    for layer in range(organism.cfg.n_layers):
        total = x[layer * H : (layer + 1) * H].sum(0) + organism.b_O[layer]
        torch.testing.assert_close(total, cache[f"blocks.{layer}.attn.hook_out"][0, -1], atol=1e-4, rtol=1e-4)


def test_sae_and_codes_on_organism_head_outputs(organism, ioi):
    x = head_outputs(organism, ioi.positives + ioi.negatives, cache=HeadOutputCache())
    sae = fit_sae(x[:4].reshape(-1, x.shape[-1]), n_features=64, seed=0)
    codes = sae.codes(x)
    assert codes.shape == x.shape[:2]
    assert len(torch.unique(codes[codes >= 0])) >= 2
    scores = unique_positive_codes(codes.numpy(), np.array([True] * 8 + [False] * 8))
    assert scores.shape == (organism.cfg.n_layers * organism.cfg.n_heads,)


def test_discover_and_evaluate_on_organism(organism, ioi):
    # default dictionary size: with 64 features on these 8 pairs the SAE finds no code
    # unique to the positives on the shipped model, and every score is 0
    a = discover(organism, ioi, seed=0)
    b = discover(organism, ioi, seed=0)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.node_scores, b.node_scores)
    assert a.node_scores.any()
    if ioi.ground_truth:
        ev = a.evaluate(ioi.ground_truth)
        assert ev["n_ground_truth"] == len(ioi.ground_truth)
        assert 0.0 <= ev["node_auc"] <= 1.0 and 0.0 <= ev["edge_auc"] <= 1.0


def test_unknown_words_named_by_the_organism_tokenizer(organism, ioi):
    pos = ioi.positives[:3] + [ioi.positives[0] + " Zyxwv 🙂"]
    issues = validate_prompts(organism, pos, ioi.negatives)
    assert issues and issues[0].kind == "unknown_words"
    assert set(issues[0].words) == {"Zyxwv", "🙂"}
    with pytest.raises(PromptError, match="Zyxwv"):
        discover(organism, positives=pos, negatives=ioi.negatives)


def test_session_edit_on_organism(organism, ioi):
    s = Session(organism)
    s.discover(ioi.positives, ioi.negatives, n_features=64)
    edited = [get_task("ioi", organism, n=1, seed=99).positives[0]] + ioi.positives[1:]
    s.discover(edited, ioi.negatives, n_features=64)
    assert s.forward_prompts == len(ioi.positives) + len(ioi.negatives) + 1
    code = int(s.last_result.codes[0, 0])
    if code >= 0:
        assert len(s.code_meaning(code, k=5)) == 5
