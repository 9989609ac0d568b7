"""The discovery pipeline on the tiny in-process model and on the bundled organism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_helpers import toy_ioi

from sae_circuits_widget import discover
from sae_circuits_widget.engine.activations import HeadOutputCache
from sae_circuits_widget.engine.discover import training_rows
from sae_circuits_widget.engine.scoring import unique_positive_codes
from sae_circuits_widget.errors import (
    DegenerateCodesError,
    NonFiniteActivationsError,
    PromptError,
    PromptTypeError,
    SettingsError,
    SettingsTypeError,
)
from sae_circuits_widget.tasks.task import Task
from sae_circuits_widget.testing import tiny_model as make_tiny

# the random tiny model often shows no task signal; that warning is tested on its own
pytestmark = pytest.mark.filterwarnings("ignore:no head has a code unique")

TASK = toy_ioi(6)
FAST = dict(n_features=32)


def test_result_shapes_and_stages(tiny_model):
    r = discover(tiny_model, TASK, seed=0, **FAST)
    L, H = tiny_model.cfg.n_layers, tiny_model.cfg.n_heads
    assert r.method == "sae" and r.task_name == "toy_ioi"
    assert r.node_scores.shape == (L, H)
    assert r.edge_scores.shape == (L * H, L * H)
    assert r.edge_head_scores.shape == (L, H)
    assert r.codes.shape == (12, L * H) and r.codes.dtype == np.int64
    assert r.is_positive.tolist() == [True] * 6 + [False] * 6
    assert r.prompts == TASK.positives + TASK.negatives
    assert set(r.timings) == {"validate", "activations", "sae_fit", "encode", "scores", "task_check"}
    assert r.seconds > 0
    assert r.sae.epochs_run == 500 and r.settings["recipe"] == "paper"
    # with one SAE, node scores are exactly the set count on the returned codes
    one = discover(tiny_model, TASK, seed=0, n_saes=1, **FAST)
    np.testing.assert_array_equal(one.node_scores.reshape(-1), unique_positive_codes(one.codes, one.is_positive))
    assert one.stability is None and one.sae_run.member_node_scores.shape == (1, *one.node_scores.shape)


def test_an_ensemble_averages_the_scores_of_sae_fits_with_their_own_seeds(tiny_model):
    r = discover(tiny_model, TASK, seed=2, n_saes=3, **FAST)
    assert r.settings["n_saes"] == 3 and r.sae_run.n_saes == 3
    members = [discover(tiny_model, TASK, seed=s, n_saes=1, **FAST) for s in (6, 7, 8)]  # seed * 3 + k
    np.testing.assert_array_equal(r.sae_run.member_node_scores, np.stack([m.node_scores for m in members]))
    np.testing.assert_allclose(r.node_scores, np.mean([m.node_scores for m in members], axis=0))
    np.testing.assert_allclose(r.edge_scores, np.mean([m.edge_scores for m in members], axis=0))
    np.testing.assert_array_equal(r.codes, members[0].codes)  # the first SAE's codes are shown
    assert r.sae_run.train_rows == members[0].sae_run.train_rows
    assert not all(m.sae_run.train_rows == members[0].sae_run.train_rows for m in members[1:])


def test_codes_are_argmax_of_sae_on_head_outputs(tiny_model):
    cache = HeadOutputCache()
    r = discover(tiny_model, TASK, seed=1, cache=cache, **FAST)
    from sae_circuits_widget.engine.activations import head_outputs

    x = head_outputs(tiny_model, r.prompts, cache=cache)
    np.testing.assert_array_equal(r.sae.codes(x).numpy(), r.codes)


def test_free_text_prompts_and_unequal_counts(tiny_model):
    r = discover(tiny_model, positives=TASK.positives[:5], negatives=TASK.negatives[:3], **FAST)
    assert r.codes.shape[0] == 8 and r.task_name is None


def test_training_rows_are_balanced_and_seeded():
    pos = np.array([True] * 20 + [False] * 20)
    rows = training_rows(pos, 10, 0)
    assert rows.size == 10 and pos[rows].sum() == 5
    assert np.array_equal(rows, training_rows(pos, 10, 0))
    assert not np.array_equal(rows, training_rows(pos, 10, 1))
    assert training_rows(np.array([True] * 2 + [False] * 9), 10, 0).tolist().count(0) == 1
    assert training_rows(pos, 100, 0).size == 40


def test_bad_input_before_compute(tiny_model):
    cache = HeadOutputCache()
    with pytest.raises(PromptError, match="no negatives"):
        discover(tiny_model, positives=TASK.positives, negatives=[], cache=cache)
    with pytest.raises(PromptTypeError):
        discover(tiny_model, positives="When Mary went", negatives=TASK.negatives, cache=cache)
    with pytest.raises(PromptError, match="'Zelda'"):
        discover(tiny_model, positives=TASK.positives + ["Zelda went"], negatives=TASK.negatives, cache=cache)
    assert cache.forward_prompts == 0  # nothing computed


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"seed": 1.5}, SettingsTypeError, "seed must be an int"),
        ({"seed": "0"}, SettingsTypeError, "seed must be an int"),
        ({"seed": True}, SettingsTypeError, "seed must be an int"),
        ({"seed": -1}, SettingsError, "seed must be between 0 and"),
        ({"n_features": 1}, SettingsError, "n_features"),
        ({"l1": float("nan")}, SettingsError, "l1"),
        ({"l1": "0.1"}, SettingsTypeError, "l1 must be a number"),
        ({"position": "first"}, SettingsError, "position"),
        ({"recipe": "quick"}, SettingsError, "recipe"),
        ({"n_train": 1}, SettingsError, "n_train"),
    ],
)
def test_bad_settings(tiny_model, kwargs, error, match):
    with pytest.raises(error, match=match):
        discover(tiny_model, TASK, **kwargs)


def test_task_and_prompts_together_or_wrong_task_type(tiny_model):
    with pytest.raises(SettingsError, match="not both"):
        discover(tiny_model, TASK, positives=TASK.positives)
    with pytest.raises(SettingsTypeError, match="task must be a Task"):
        discover(tiny_model, TASK.positives)


def test_no_live_feature_refuses_to_rank(tiny_model):
    with pytest.raises(DegenerateCodesError, match="no live feature.*meaningless"):
        discover(tiny_model, TASK, l1=100, n_features=8)


def test_all_codes_identical_refuses_to_rank(tiny_model, monkeypatch):
    from sae_circuits_widget.engine import sae as sae_mod

    monkeypatch.setattr(sae_mod.DiscreteSAE, "codes", lambda self, x: torch.full(x.shape[:-1], 3))
    with pytest.raises(DegenerateCodesError, match="same code"):
        discover(tiny_model, TASK, **FAST)


def test_nan_head_outputs():
    model = make_tiny(seed=5)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("layers.1.") and ".v._original_component.weight" in name:
                p.fill_(float("inf"))
    with pytest.raises(NonFiniteActivationsError, match="NaN or infinite"):
        discover(model, TASK, **FAST)


def test_answers_checked_when_given(tiny_model):
    task = Task("t", TASK.positives, TASK.negatives, answers=["Mary"] * 5 + ["Mary John"])
    with pytest.raises(PromptError, match="'Mary John'"):
        discover(tiny_model, task, **FAST)


def test_no_signal_is_reported_not_hidden(tiny_model):
    with pytest.warns(UserWarning, match="no head has a code unique"):
        r = discover(tiny_model, positives=TASK.positives[:3], negatives=TASK.positives[:3], **FAST)
    assert not r.node_scores.any() and r.warnings


def test_stable_recipe_and_last_position(tiny_model):
    r = discover(tiny_model, TASK, recipe="stable", position="last", **FAST)
    assert r.settings["recipe"] == "stable" and r.settings["position"] == "last"
    assert r.sae.epochs_run <= 2000


# --------------------------------------------------------------------- the organism


@pytest.fixture(scope="module")
def organism():
    from sae_circuits_widget import load_model

    return load_model()


def test_every_task_on_the_organism(organism):
    from sae_circuits_widget import get_task
    from sae_circuits_widget.tasks import TASK_NAMES

    L, H = organism.cfg.n_layers, organism.cfg.n_heads
    for name in TASK_NAMES:
        task = get_task(name, organism, n=8, seed=0)
        r = discover(organism, task, seed=0, n_features=64)
        assert r.node_scores.shape == (L, H)
        assert r.codes.shape == (len(task.positives) + len(task.negatives), L * H)
        assert r.sae_run.n_codes >= 2
        if task.ground_truth:
            ev = r.evaluate(task.ground_truth)
            assert 0.0 <= ev["node_auc"] <= 1.0 and ev["n_heads"] == L * H


def test_without_edges(tiny_model):
    r = discover(tiny_model, TASK, edges=False, **FAST)
    assert r.edge_scores is None and r.edge_head_scores is None
    ev = r.evaluate({(0, 1)})
    assert ev["edge_auc"] is None and 0.0 <= ev["node_auc"] <= 1.0
    with pytest.raises(SettingsTypeError, match="edges"):
        discover(tiny_model, TASK, edges="yes")


def test_a_given_sae_is_used_and_checked(tiny_model):
    from sae_circuits_widget.engine.activations import head_outputs
    from sae_circuits_widget.engine.sae import fit_sae

    fitted = discover(tiny_model, TASK, n_features=32)
    x = head_outputs(tiny_model, fitted.prompts)
    other = fit_sae(x[:3].reshape(-1, x.shape[-1]), n_features=24, l1=0.01, seed=4)
    r = discover(tiny_model, TASK, sae=other, n_features=32)
    assert r.sae is other and r.sae_run.source == "given" and r.sae_run.train_rows is None
    np.testing.assert_array_equal(r.codes, other.codes(x).numpy())
    assert (r.settings["n_features"], r.settings["l1"]) == (24, 0.01)  # the SAE's own settings
    with pytest.raises(SettingsTypeError, match="sae must be a DiscreteSAE"):
        discover(tiny_model, TASK, sae=fitted)  # a result, not its .sae
    narrow = fit_sae(torch.randn(40, tiny_model.cfg.d_model // 2), n_features=8, epochs=2)
    with pytest.raises(SettingsError, match=r"d_model=16.*d_model=32"):
        discover(tiny_model, TASK, sae=narrow)
