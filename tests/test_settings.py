"""One home for discovery settings: validation, per-task values, the same circuit everywhere."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from sae_circuits_widget import get_task, load_model
from sae_circuits_widget.cli import main as cli_main
from sae_circuits_widget.engine.discover import discover
from sae_circuits_widget.engine.session import Session
from sae_circuits_widget.errors import SettingsError, SettingsTypeError
from sae_circuits_widget.settings import TASK_SETTINGS, Settings, recommended
from sae_circuits_widget.widgets.circuit_explorer import CircuitExplorer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"seed": -1}, SettingsError, "seed must be between 0"),
        ({"seed": 2**64}, SettingsError, "seed must be between 0"),
        ({"seed": 1.5}, SettingsTypeError, "seed must be an int"),
        ({"n_features": 10**12}, SettingsError, "n_features must be between 2 and 65536, got 1000000000000 "),
        ({"n_features": 1}, SettingsError, "n_features must be between 2 and 65536, got 1 "),
        ({"n_features": 65_537}, SettingsError, "n_features must be between 2 and 65536"),
        ({"n_features": 200.0}, SettingsTypeError, "n_features must be an int"),
        ({"n_train": 1}, SettingsError, "n_train must be between 2"),
        ({"n_train": 10_001}, SettingsError, "n_train must be between 2 and 10000"),
        ({"n_saes": 0}, SettingsError, "n_saes must be between 1 and 20"),
        ({"n_saes": 21}, SettingsError, "n_saes must be between 1 and 20"),
        ({"l1": -0.01}, SettingsError, "l1 must be a finite number between 0 and 100"),
        ({"l1": 100.5}, SettingsError, "l1 must be a finite number between 0 and 100"),
        ({"l1": float("inf")}, SettingsError, "l1 must be a finite number"),
        ({"l1": 10**400}, SettingsError, "l1 must be a finite number"),
        ({"l1": float("nan")}, SettingsError, "l1 must be a finite number"),
        ({"l1": "0.1"}, SettingsTypeError, "l1 must be a number"),
        ({"position": "first"}, SettingsError, "position must be one of"),
        ({"recipe": "fast"}, SettingsError, "recipe must be one of"),
        ({"edges": 1}, SettingsTypeError, "edges must be True or False"),
    ],
)
def test_settings_are_validated_with_bounds(kwargs, error, match):
    with pytest.raises(error, match=match):
        Settings(**kwargs)


def test_every_numeric_setting_has_both_bounds_and_they_are_inclusive():
    from sae_circuits_widget.settings import CHOICES, FIELDS, LIMITS

    assert set(LIMITS) | set(CHOICES) == set(FIELDS)
    assert LIMITS == {
        "seed": (0, 2**63 - 1), "n_features": (2, 65_536), "l1": (0.0, 100.0), "n_train": (2, 10_000), "n_saes": (1, 20),
    }
    for name, (low, high) in LIMITS.items():
        assert getattr(Settings(**{name: low}), name) == low
        assert getattr(Settings(**{name: high}), name) == high
        below = low - 1 if isinstance(low, int) else low - 0.5
        above = high + 1 if isinstance(high, int) else high + 0.5
        for bad in (below, above):
            shown = (f"{low:g}", f"{high:g}") if isinstance(low, float) else (low, high)
            with pytest.raises(SettingsError, match=rf"^{name} must be .*between {shown[0]} and {shown[1]}, got ") as info:
                Settings(**{name: bad})
            assert "\n" not in str(info.value)


def test_refused_values_are_shown_short():
    with pytest.raises(SettingsError) as info:
        Settings(seed=10**5000)  # str() of such an int would itself fail
    assert str(info.value).endswith("got an integer of about 5001 digits")
    with pytest.raises(SettingsTypeError) as info:
        Settings(n_features="9" * 10_000)
    assert len(str(info.value)) < 120


def test_bounds_are_checked_before_any_model_work(monkeypatch):
    from sae_circuits_widget.engine import discover as discover_module

    def no_model_work(*args, **kwargs):
        raise AssertionError("the model ran before the settings were checked")

    monkeypatch.setattr(discover_module, "check_hookable", no_model_work)
    monkeypatch.setattr(discover_module, "head_outputs", no_model_work)
    with pytest.raises(SettingsError, match="n_features must be between 2 and 65536"):
        discover(None, positives=["a b"] * 2, negatives=["a c"] * 2, n_features=10**12)
    with pytest.raises(SettingsError, match="n_saes must be between 1 and 20"):
        Session(None).discover(["a b"] * 2, ["a c"] * 2, n_saes=50)


def test_settings_are_frozen_and_round_trip():
    s = Settings(seed=3, l1=0.05)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seed = 4  # type: ignore[misc]
    assert Settings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert s.replace(seed=5).seed == 5 and s.seed == 3
    with pytest.raises(SettingsTypeError, match="unknown setting"):
        s.replace(colour="red")


def test_recommended_values_apply_per_task_and_explicit_values_win():
    assert TASK_SETTINGS["docstring"]["l1"] == 0.05
    assert recommended("docstring").l1 == 0.05
    assert recommended("ioi").l1 == recommended(None).l1 == Settings().l1
    assert recommended("docstring", l1=0.01).l1 == 0.01
    assert recommended("docstring", l1=None).l1 == 0.05  # None means "not given"


@pytest.mark.integration  # three whole discover runs on the bundled model
def test_discover_the_cli_the_session_and_the_explorer_give_the_same_circuit(tmp_path):
    # docstring is the task whose recommended settings differ from the defaults
    model = load_model()
    n, seed = 8, 1
    task = get_task("docstring", model, n=n, seed=seed)
    direct = discover(model, task, seed=seed)
    assert direct.settings["l1"] == 0.05

    out = tmp_path / "cli.json"
    assert cli_main(["discover", "--task", "docstring", "--n", str(n), "--seed", str(seed), "--json", str(out)]) == 0
    from_cli = json.loads(out.read_text())
    assert from_cli["settings"]["l1"] == 0.05
    np.testing.assert_array_equal(np.asarray(from_cli["node_scores"]), direct.node_scores)

    from_session = Session(model).discover(None, None, task=task, seed=seed)
    np.testing.assert_array_equal(from_session.node_scores, direct.node_scores)

    explorer = CircuitExplorer(model, "docstring", n_pairs=n, seed=seed, live=False)
    try:
        assert explorer.l1 == 0.05
        np.testing.assert_array_equal(explorer.result.node_scores, direct.node_scores)
        np.testing.assert_array_equal(explorer.result.codes, direct.codes)
        explorer.task = "ioi"  # a preset brings its own recommended values back
        assert explorer.l1 == recommended("ioi").l1
    finally:
        explorer.close()


def test_the_module_examples_stay_true():
    import doctest

    from sae_circuits_widget import settings

    result = doctest.testmod(settings, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0
