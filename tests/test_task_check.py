"""The task check (does the model do the task?) and the stability figure across SAE seeds."""

from __future__ import annotations

import json
import random
import warnings

import numpy as np
import pytest

from sae_circuits_widget import cli, discover, get_task
from sae_circuits_widget.engine.result import STABILITY_K, TaskCheck, rank_heads
from sae_circuits_widget.engine.task_check import check_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def ioi(organism):
    return get_task("ioi", organism, n=12, seed=0)


def test_the_bundled_model_solves_its_tasks_and_not_their_negatives(organism):
    for name in ("ioi", "greater_than", "docstring", "induction"):
        check = check_task(organism, get_task(name, organism, n=12, seed=0))
        assert check.kind == "token sets"
        assert check.positives_solved >= 0.9, (name, check.summary())
        assert check.negatives_solved <= 0.75, (name, check.summary())
        assert check.ok and "at chance" in check.summary()
        pos = [b for b in check.prompts if b.side == "positive"]
        assert len(pos) == 12 and all(b.p_answer is not None and 0 <= b.p_answer <= 1 for b in pos)


def test_answers_the_model_never_predicts_are_named(organism, ioi):
    check = check_task(organism, positives=ioi.positives, negatives=ioi.negatives, answers=[" milk"] * 12)
    assert check.kind == "answers" and check.positives_solved == 0.0
    assert check.never_predicted == (" milk",)
    assert any("'milk'" in w or "' milk'" in w for w in check.warnings)
    assert any("solves only 0/12 positives" in w for w in check.warnings)
    right = check_task(organism, positives=ioi.positives, negatives=ioi.negatives, answers=ioi.answers)
    assert right.positives_solved >= 0.9 and right.never_predicted == () and right.ok


def test_negatives_that_still_carry_the_answer_are_flagged(organism, ioi):
    check = check_task(organism, positives=ioi.positives, negatives=ioi.positives, answers=ioi.answers)
    assert check.negatives_solved >= 0.9
    assert any("still solves" in w for w in check.warnings)
    assert "negatives still solved" in check.summary()


def test_word_salad_without_answers_is_not_passed_silently(organism, ioi):
    rng = random.Random(0)
    words = " ".join(ioi.positives).split()
    salad = [" ".join(rng.sample(words, 8)) for _ in range(24)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = discover(organism, positives=salad[:12], negatives=salad[12:], seed=0, n_saes=1)
    assert result.task_check.kind == "no answers" and result.task_check.positives_solved is None
    assert any("no answers given" in w for w in result.warnings)
    assert any("no answers given" in str(c.message) for c in caught)


def test_discover_carries_the_check_and_its_record_round_trips(organism, ioi):
    result = discover(organism, ioi, seed=0, n_saes=1)
    assert isinstance(result.task_check, TaskCheck) and result.task_check.ok and result.warnings == []
    again = TaskCheck.from_dict(json.loads(json.dumps(result.task_check.to_dict())))
    assert again == result.task_check


def test_stability_counts_the_sae_seeds_that_put_a_head_in_their_top_k(organism, ioi):
    result = discover(organism, ioi, seed=0, n_saes=3)
    members = result.sae_run.member_node_scores
    assert members.shape == (3, result.n_layers, result.n_heads)
    expected = np.zeros(result.node_scores.shape)
    for scores in members:
        for head in rank_heads(scores, k=STABILITY_K):
            expected[head] += 1 / 3
    np.testing.assert_allclose(result.stability, expected)
    assert set(np.round(result.stability.reshape(-1) * 3).tolist()) <= {0.0, 1.0, 2.0, 3.0}
    assert result.stability.max() == 1.0  # some head is in every SAE's top 5 on IOI
    assert discover(organism, ioi, seed=0, n_saes=1).stability is None


@pytest.mark.integration  # the CLI fits SAEs on the bundled model
def test_cli_json_has_stability_and_the_task_check(tmp_path, capsys):
    out = tmp_path / "ioi.json"
    assert cli.main(["discover", "--task", "ioi", "--n", "8", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "task check: " in printed and f"in top {STABILITY_K}" in printed
    data = json.loads(out.read_text())
    assert data["stability_k"] == STABILITY_K
    assert np.asarray(data["stability"]).shape == np.asarray(data["node_scores"]).shape
    assert data["task_check"]["positives_solved"] >= 0.9 and data["warnings"] == []


def test_the_typed_fields_survive_a_save_and_version_1_files_still_read(organism, ioi):
    from sae_circuits_widget import CircuitResult

    result = discover(organism, ioi, seed=0, n_saes=3)
    back = CircuitResult.loads(result.to_json())
    np.testing.assert_array_equal(back.stability, result.stability)
    np.testing.assert_array_equal(back.edge_head_scores, result.edge_head_scores)
    np.testing.assert_array_equal(back.sae_run.member_node_scores, result.sae_run.member_node_scores)
    assert back.sae_run.train_rows == result.sae_run.train_rows and back.sae_run.source == "fit"
    assert back.task_check == result.task_check and back.warnings == result.warnings
    assert back.top_heads(5) == result.top_heads(5)
    old = result.to_dict()
    old.update(format_version=1, extras={"edge_head_scores": old.pop("edge_head_scores"), "warnings": ["w"]})
    for key in ("sae_run", "stability", "task_check", "warnings"):
        old.pop(key)
    v1 = CircuitResult.from_dict(old)
    np.testing.assert_array_equal(v1.edge_head_scores, result.edge_head_scores)
    assert v1.warnings == ["w"] and v1.extras == {} and v1.sae_run is None


@pytest.mark.integration  # whole discover runs with SAE fits
def test_a_stop_callback_cancels_a_run_before_and_during_the_fit(tiny_model):
    from sae_circuits_widget.errors import Cancelled
    from sae_circuits_widget.testing import toy_ioi_task

    task = toy_ioi_task(tiny_model)
    with pytest.raises(Cancelled, match="before its SAE fits"):
        discover(tiny_model, task, seed=0, n_saes=2, stop=lambda: True)
    calls = []

    def later():  # lets the loop start the first fit, then stops it a few epochs in
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled, match="during an SAE fit"):
        discover(tiny_model, task, seed=0, n_saes=1, stop=later)
    assert discover(tiny_model, task, seed=0, n_saes=1, stop=lambda: False).node_scores.shape == (2, 4)


def test_saved_sessions_and_get_task_refuse_lists_over_the_limit(tiny_model, tmp_path):
    from sae_circuits_widget.engine.serialization import FORMAT_VERSION
    from sae_circuits_widget.engine.session import Session
    from sae_circuits_widget.engine.validation import MAX_PROMPTS_PER_SIDE
    from sae_circuits_widget.errors import FileFormatError

    data = {"format": "sae-circuits/session", "format_version": FORMAT_VERSION}
    data["positives"] = ["a"] * (MAX_PROMPTS_PER_SIDE + 1)
    data["negatives"] = ["b"] * 2
    with pytest.raises(FileFormatError, match="more than the limit"):
        Session.read_saved_text(json.dumps(data))
    with pytest.raises(ValueError, match="more than discover takes"):
        get_task("ioi", tiny_model, n=MAX_PROMPTS_PER_SIDE + 1)


@pytest.mark.parametrize("argv, match", [
    (["--features", "1000000000000"], "--features: n_features must be between"),
    (["--saes", "50"], "--saes: n_saes must be between"),
    (["--l1", "-1"], "--l1: l1 must be"),
])
def test_cli_settings_are_checked_before_the_model_loads(argv, match, capsys, monkeypatch):
    monkeypatch.setattr("sae_circuits_widget.engine.model.load_model", lambda *a, **k: pytest.fail("model loaded"))
    assert cli.main(["discover", "--task", "ioi", *argv]) == 2
    assert match in capsys.readouterr().err


def test_cli_writes_an_html_report_and_refuses_one_path_for_two_outputs(tmp_path, capsys):
    page = tmp_path / "ioi.html"
    assert cli.main(["discover", "--task", "ioi", "--n", "6", "--saes", "1", "--html", str(page)]) == 0
    text = page.read_text()
    assert "gt-outline" in text and "<svg" in text
    assert cli.main(["discover", "--task", "ioi", "--html", str(page), "--json", str(page)]) == 2
    assert "give each output its own path" in capsys.readouterr().err
