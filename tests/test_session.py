"""Sessions: cached edits, code meaning, saved files (truncated / newer versions)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from engine_helpers import toy_ioi

from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.engine.session import Session
from sae_circuits_widget.errors import FileFormatError, PromptError

# the random tiny model often shows no task signal; that warning is tested on its own
pytestmark = pytest.mark.filterwarnings("ignore:no head has a code unique")

TASK = toy_ioi(6)
FAST = dict(n_features=32, n_saes=1)  # the caching of one SAE; ensembles are tested in test_discover


@pytest.fixture()
def session(tiny_model):
    return Session(tiny_model)


def test_editing_one_prompt_costs_one_forward_pass(session):
    first = session.discover(TASK.positives, TASK.negatives, **FAST)
    assert session.forward_prompts == 12
    edited = list(TASK.positives)
    edited[2] = "When Anna and Tom went to the park , Tom gave a book to"
    second = session.discover(edited, TASK.negatives, **FAST)
    assert session.forward_prompts == 13
    assert session.last_result is second and first is not second
    session.discover(edited, TASK.negatives, seed=3, **FAST)  # a settings change: no forward pass
    assert session.forward_prompts == 13


def test_failed_run_keeps_the_last_result(session):
    good = session.discover(TASK.positives, TASK.negatives, **FAST)
    with pytest.raises(PromptError):
        session.discover(TASK.positives + [""], TASK.negatives, **FAST)
    assert session.last_result is good


def test_unknown_setting(session):
    with pytest.raises(TypeError, match="unknown setting"):
        session.discover(TASK.positives, TASK.negatives, features=3)


def test_validate_and_code_meaning(session):
    assert session.validate(TASK.positives, TASK.negatives) == []
    with pytest.raises(ValueError, match="run session.discover"):
        session.code_meaning(0)
    r = session.discover(TASK.positives, TASK.negatives, **FAST)
    code = int(r.codes[r.codes >= 0][0])
    assert len(session.code_meaning(code, k=4)) == 4
    tokens, weights = session.attention_from_final(TASK.positives[0], 0, 1)
    assert len(tokens) == len(weights)


def test_result_json_round_trip(session, tmp_path):
    r = session.discover(TASK.positives, TASK.negatives, **FAST)
    path = tmp_path / "result.json"
    r.to_json(path, include_sae=True)
    again = CircuitResult.from_json(path)
    np.testing.assert_array_equal(again.codes, r.codes)
    np.testing.assert_array_equal(again.node_scores, r.node_scores)
    np.testing.assert_array_equal(again.edge_scores, r.edge_scores)
    assert again.prompts == r.prompts and again.settings["seed"] == 0
    import torch

    from sae_circuits_widget.engine.activations import head_outputs

    x = head_outputs(session.model, r.prompts, cache=session.cache)
    assert torch.equal(again.sae.codes(x), r.sae.codes(x))


def test_session_json_round_trip(session, tmp_path):
    session.discover(TASK.positives, TASK.negatives, seed=2, **FAST)
    path = tmp_path / "session.json"
    session.to_json(path)
    restored, saved = Session.load(session.model, path)
    assert saved["positives"] == TASK.positives and saved["negatives"] == TASK.negatives
    assert restored.last_settings["seed"] == 2
    np.testing.assert_array_equal(restored.last_result.codes, session.last_result.codes)


def test_truncated_and_newer_files_are_refused(session, tmp_path):
    session.discover(TASK.positives, TASK.negatives, **FAST)
    text = session.to_json()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    with pytest.raises(FileFormatError, match="not valid JSON.*truncated"):
        Session.read_saved(cut)
    data = json.loads(text)
    data["format_version"] = 99
    with pytest.raises(FileFormatError, match="newer version.*upgrade"):
        Session.read_saved_text(json.dumps(data))
    with pytest.raises(FileFormatError, match="not a saved"):
        Session.read_saved_text(json.dumps({"positives": []}))
    with pytest.raises(FileFormatError, match="not a sae-circuits result"):
        CircuitResult.loads(text)  # a session is not a result
    r_text = session.last_result.to_json()
    with pytest.raises(FileFormatError, match="truncated"):
        CircuitResult.loads(r_text[:-10])
    broken = json.loads(r_text)
    del broken["node_scores"]
    with pytest.raises(FileFormatError, match="incomplete"):
        CircuitResult.loads(json.dumps(broken))
    with pytest.raises(FileFormatError, match="no such file"):
        CircuitResult.from_json(tmp_path / "missing.json")


def test_interrupted_run_leaves_the_session_usable(session, monkeypatch):
    good = session.discover(TASK.positives, TASK.negatives, **FAST)
    import importlib

    disc = importlib.import_module("sae_circuits_widget.engine.discover")  # the module, not the function

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(disc, "fit_saes", interrupted)  # the ensemble's fits
    with pytest.raises(KeyboardInterrupt):
        session.discover(TASK.positives, TASK.negatives, seed=5, **FAST)
    assert session.last_result is good  # no partial result poses as final
    monkeypatch.undo()
    again = session.discover(TASK.positives, TASK.negatives, seed=5, **FAST)
    assert session.last_result is again and session.forward_prompts == 12


def test_concurrent_runs_are_serialised(session):
    import threading

    results, errors = [], []

    def run(seed):
        try:
            results.append(session.discover(TASK.positives, TASK.negatives, seed=seed, **FAST))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(results) == 3
    assert session.last_result is results[-1]
    assert session.forward_prompts == 12


# ---------------------------------------------------------------- kept SAE fits

FEW = dict(n_features=32, n_train=4, n_saes=1)  # 4 of 12 prompts train the one SAE: most edits miss them
NEW_POSITIVE = "When Anna and Tom went to the park , Tom gave a book to"


def _edit(prompts, i, text=NEW_POSITIVE):
    assert text not in prompts
    out = list(prompts)
    out[i] = text
    return out


def test_editing_a_prompt_outside_the_training_set_reuses_the_sae(session, tiny_model):
    from sae_circuits_widget.engine.discover import discover

    first = session.discover(TASK.positives, TASK.negatives, **FEW)
    train = first.sae_run.train_rows
    outside = next(i for i in range(len(TASK.positives)) if i not in train)
    edited = _edit(TASK.positives, outside)
    second = session.discover(edited, TASK.negatives, **FEW)
    assert second.sae is first.sae and second.sae_run.source == "cache"
    assert session.sae_fits == 1 and session.saes.hits == 1
    assert second.sae_run.train_rows == train  # the same training prompts by index
    assert second.prompts[outside] == NEW_POSITIVE and second.timings["sae_fit"] < first.timings["sae_fit"]
    # the same codes as a run handed that SAE, and as a fit from scratch without the session
    given = discover(tiny_model, positives=edited, negatives=TASK.negatives, sae=first.sae, **FEW)
    fresh = discover(tiny_model, positives=edited, negatives=TASK.negatives, **FEW)
    assert given.sae_run.source == "given" and fresh.sae_run.source == "fit"
    np.testing.assert_array_equal(second.codes, given.codes)
    np.testing.assert_array_equal(second.codes, fresh.codes)
    np.testing.assert_array_equal(second.node_scores, fresh.node_scores)
    np.testing.assert_array_equal(second.edge_scores, fresh.edge_scores)


def test_editing_a_training_prompt_refits(session):
    first = session.discover(TASK.positives, TASK.negatives, **FEW)
    inside = next(i for i in first.sae_run.train_rows if i < len(TASK.positives))
    second = session.discover(_edit(TASK.positives, inside), TASK.negatives, **FEW)
    assert second.sae is not first.sae and second.sae_run.source == "fit"
    assert session.sae_fits == 2 and second.sae_run.train_rows == first.sae_run.train_rows
    # undoing the edit finds the first fit again
    third = session.discover(TASK.positives, TASK.negatives, **FEW)
    assert third.sae is first.sae and session.sae_fits == 2


@pytest.mark.parametrize("change", [dict(seed=1), dict(position="last"), dict(l1=0.05), dict(n_features=16), dict(recipe="stable")])
def test_a_fit_setting_change_refits(session, change):
    first = session.discover(TASK.positives, TASK.negatives, **FEW)
    other = session.discover(TASK.positives, TASK.negatives, **{**FEW, **change})
    assert other.sae is not first.sae and session.sae_fits == 2
    edges_off = session.discover(TASK.positives, TASK.negatives, edges=False, **FEW)  # not a fit setting
    assert edges_off.sae is first.sae and session.sae_fits == 2


def test_kept_fits_are_bounded(tiny_model):
    session = Session(tiny_model, max_saes=2)
    fits = [session.discover(TASK.positives, TASK.negatives, seed=s, **FEW).sae for s in (0, 1, 2)]
    assert len(session.saes) == 2 and session.sae_fits == 3
    assert session.discover(TASK.positives, TASK.negatives, seed=2, **FEW).sae is fits[2]
    again = session.discover(TASK.positives, TASK.negatives, seed=0, **FEW)  # dropped: fit anew
    assert again.sae is not fits[0] and session.sae_fits == 4
    np.testing.assert_array_equal(again.codes, session.discover(TASK.positives, TASK.negatives, seed=0, **FEW).codes)
    with pytest.raises(ValueError, match="maxsize"):
        Session(tiny_model, max_saes=0)


def test_changed_weights_refit_under_the_same_texts():
    import torch

    from sae_circuits_widget.testing import tiny_model as make_tiny

    model = make_tiny()
    session = Session(model)
    first = session.discover(TASK.positives, TASK.negatives, **FEW)
    with torch.no_grad():
        next(p for p in model.parameters() if p.ndim >= 2).mul_(1.5)
    second = session.discover(TASK.positives, TASK.negatives, **FEW)
    assert second.sae is not first.sae and session.sae_fits == 2
