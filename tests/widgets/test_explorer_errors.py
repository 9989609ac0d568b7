"""Failures in the explorer reach the page: errors on the worker, refused settings, bad files.

A run that fails on the worker thread (here the engine raising, as torch does when an
allocation fails) must show a one-line message in ``error`` and mark the grid ``stale``,
never leave an old result looking current; a setting outside its bounds is refused when
assigned, before any run, keeping everything else the user has.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import traitlets

from sae_circuits_widget.errors import PromptError, SettingsError, SettingsTypeError
from sae_circuits_widget.settings import LIMITS
from sae_circuits_widget.widgets import CircuitExplorer
from sae_circuits_widget.widgets._common import from_float32_bytes
from sae_circuits_widget.widgets.failures import RefusedSetting, failure_message

FAST = dict(n_pairs=6, n_features=32, n_train=4, n_saes=1, position="last")
OOM = (
    "[enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: not enough memory: "
    "you tried to allocate 8000000000000 bytes.\nError in cpu allocator"
)


def _failing_when(explorer, monkeypatch, exc, **settings):
    """Make the explorer's engine raise ``exc`` for runs with these settings (others run)."""
    real = explorer.session.discover

    def discover(positives, negatives, **given):
        if all(given.get(k) == v for k, v in settings.items()):
            raise exc
        return real(positives, negatives, **given)

    monkeypatch.setattr(explorer.session, "discover", discover)


@pytest.fixture
def live(tiny_model):
    e = CircuitExplorer(tiny_model, "ioi", live=True, debounce_s=0.01, **FAST)
    assert e.wait(60) and e.result is not None and e.error == ""
    yield e
    e.close()


def test_an_error_on_the_worker_reaches_error_and_marks_the_grid_stale(live, monkeypatch):
    good, shown = live.result, live.grid.scores
    pos = list(live.panel.positives)
    _failing_when(live, monkeypatch, RuntimeError(OOM), n_features=4096)
    live.n_features = 4096  # within bounds; the engine's allocation fails on the worker
    assert live.wait(30)
    assert live.n_features == 4096 and list(live.panel.positives) == pos  # nothing the user set is lost
    assert "\n" not in live.error and "out of memory" in live.error and "RuntimeError" in live.error
    assert "lower n_features" in live.error
    assert isinstance(live.last_error, RuntimeError)
    assert live.stale and live.shown_for == "n_features=32"
    assert live.result is good and live.grid.scores == shown and not live.busy
    assert "last complete result" in live.status

    live.n_features = 48  # the next run that finishes is current again
    assert live.wait(30)
    assert live.error == "" and not live.stale and live.shown_for == ""
    assert live.result is not good and live.result.settings["n_features"] == 48


def test_any_exception_on_the_worker_is_reported_with_its_type(live, monkeypatch):
    _failing_when(live, monkeypatch, KeyError("W_enc"), seed=5)
    live.seed = 5
    assert live.wait(30)
    assert live.error == "the run failed: KeyError: 'W_enc'"
    assert live.stale and live.shown_for == "seed=0"
    _failing_when(live, monkeypatch, MemoryError(), seed=6)
    live.seed = 6
    assert live.wait(30)
    assert live.error.startswith("the run ran out of memory") and "MemoryError" in live.error
    assert live.stale and live.shown_for == "seed=0"


def test_an_invalid_edit_marks_the_result_as_that_of_the_previous_prompts(tiny_model):
    e = CircuitExplorer(tiny_model, "ioi", live=False, **FAST)
    good = e.result
    pos = list(e.panel.positives)
    pos[0] = "When Zorblax went to the store"
    e.panel.set_state({"positives": pos})
    assert "Zorblax" in e.error and isinstance(e.last_error, PromptError)
    assert e.result is good and e.stale
    assert e.shown_for == f"the previous prompts ({len(pos)} positives, {len(e.panel.negatives)} negatives)"
    e.close()


def test_a_task_that_fails_to_load_leaves_the_grid_stale(tiny_model, monkeypatch):
    import sae_circuits_widget.tasks as tasks

    e = CircuitExplorer(tiny_model, "ioi", live=False, **FAST)
    good = e.result

    def broken(name, *args, **kwargs):
        raise OSError(f"the {name} word list cannot be read")

    monkeypatch.setattr(tasks, "get_task", broken)
    e.task = "greater_than"
    assert e.error == "cannot load task 'greater_than': OSError: the greater_than word list cannot be read"
    assert e.result is good and e.stale and e.shown_for.startswith("task=ioi")
    e.close()


@pytest.mark.parametrize(
    "name, value, error, match",
    [
        ("n_features", 10**12, SettingsError, "n_features must be between 2 and 65536"),
        ("n_features", 1, SettingsError, "n_features must be between 2"),
        ("n_features", 64.5, SettingsTypeError, "n_features must be an int"),
        ("l1", float("nan"), SettingsError, "l1 must be a finite number"),
        ("l1", 101.0, SettingsError, "between 0 and 100"),
        ("seed", -1, SettingsError, "seed must be between 0"),
        ("seed", 2**63, SettingsError, "seed must be between 0"),
        ("position", "first", SettingsError, "position must be one of"),
    ],
)
def test_a_setting_out_of_bounds_is_refused_before_any_run(tiny_model, name, value, error, match):
    e = CircuitExplorer(tiny_model, "ioi", live=False, **FAST)
    before, gen, pos, good = getattr(e, name), e.generation, list(e.panel.positives), e.result
    with pytest.raises(error, match=match) as info:
        setattr(e, name, value)
    assert isinstance(info.value, traitlets.TraitError)  # traitlets' own handling still applies
    assert isinstance(info.value, RefusedSetting) == (error is SettingsError)
    assert getattr(e, name) == before and e.generation == gen  # no run was asked for
    assert e.result is good and list(e.panel.positives) == pos and not e.stale
    assert match.split(" must")[0] in e.error and f"{name} stays {before!r}" in e.error

    # the same value sent by the page: refused, reported, and the kept value sent back
    e.error = ""
    sent = []
    e.send_state = lambda key=None: sent.append(key)  # what goes back to the page
    e.set_state({name: value})
    assert getattr(e, name) == before and e.generation == gen
    assert match.split(" must")[0] in e.error and f"{name} stays {before!r}" in e.error
    assert [name] in sent  # the kept value goes back to the page
    e.close()


def test_the_page_is_told_the_bounds(tiny_model):
    e = CircuitExplorer(tiny_model, "ioi", live=False, run=False, **FAST)
    assert e.limits == {k: list(LIMITS[k]) for k in ("seed", "n_features", "l1")}
    assert e.limits["n_features"] == [2, 65536]
    e.close()


def test_load_of_a_file_with_a_bad_setting_says_which_in_one_line(tiny_model, tmp_path):
    e = CircuitExplorer(tiny_model, "ioi", live=False, **FAST)
    path = e.save(tmp_path / "circuit.json")
    e.close()
    data = json.loads(path.read_text())
    data["settings"]["n_features"] = 10**12
    path.write_text(json.dumps(data))
    with pytest.raises(SettingsError) as info:
        CircuitExplorer.load(path, tiny_model, "ioi", live=False)
    message = str(info.value)
    assert "\n" not in message and "saved file" in message
    assert "n_features must be between 2 and 65536" in message and "load(path, n_features=...)" in message
    fixed = CircuitExplorer.load(path, tiny_model, "ioi", live=False, n_features=32)  # the way out it names
    assert fixed.n_features == 32 and fixed.error == "" and fixed.result is not None
    fixed.close()


def test_a_saved_edit_with_a_bad_setting_is_restored_without_it(tiny_model, tmp_path):
    e = CircuitExplorer(tiny_model, "ioi", live=False, **FAST)
    path = e.save(tmp_path / "circuit.json")
    e.close()
    data = json.loads(path.read_text())
    pos = list(data["positives"])
    pos[0] = pos[0] + " again"
    data["unsaved_edit"] = {
        "positives": pos, "negatives": data["negatives"], "error": "",
        "settings": {**data["settings"], "n_saes": 10**6, "seed": 3},
    }
    path.write_text(json.dumps(data))
    restored = CircuitExplorer.load(path, tiny_model, "ioi", live=False, run=False)
    assert list(restored.panel.positives) == pos and restored.seed == 3  # the rest of the edit is back
    assert restored.settings()["n_saes"] == 1
    assert "n_saes" in restored.error and "not restored" in restored.error
    restored.close()


def test_failure_messages_are_one_line_and_short():
    assert failure_message(SettingsError("n_features must be between 2 and 65536, got 1")) == (
        "n_features must be between 2 and 65536, got 1"
    )
    long = failure_message(ValueError("x" * 5000 + "\n" + "y"))
    assert long.startswith("the run failed: ValueError: xxx") and len(long) < 360 and "\n" not in long
    assert failure_message(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")).startswith(
        "the run ran out of memory: lower n_features"
    )


def test_the_grid_shows_the_ensembles_stability(tiny_model, monkeypatch):
    e = CircuitExplorer(tiny_model, "ioi", live=False, run=False, **{**FAST, "n_saes": 2})
    real = e.session.discover
    L, H = int(tiny_model.cfg.n_layers), int(tiny_model.cfg.n_heads)
    share = np.linspace(0, 1, L * H).reshape(L, H)

    def discover(positives, negatives, **settings):
        result = real(positives, negatives, **settings)
        result.stability = share  # what the engine records for an ensemble
        return result

    monkeypatch.setattr(e.session, "discover", discover)
    e.run()
    assert e.grid.n_saes == 2
    np.testing.assert_allclose(from_float32_bytes(e.grid.stability).reshape(L, H), share, rtol=1e-6)
    e.close()


def test_the_module_examples_stay_true():
    import doctest

    from sae_circuits_widget.widgets import failures

    result = doctest.testmod(failures)
    assert result.attempted >= 2 and result.failed == 0
