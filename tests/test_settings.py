"""One home for discovery settings: validation, per-task values, the same circuit everywhere."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sae_circuits_widget import get_task, load_model
from sae_circuits_widget.cli import main as cli_main
from sae_circuits_widget.engine.discover import discover
from sae_circuits_widget.errors import SettingsError, SettingsTypeError
from sae_circuits_widget.engine.session import Session
from sae_circuits_widget.settings import TASK_SETTINGS, Settings, recommended
from sae_circuits_widget.widgets.circuit_explorer import CircuitExplorer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"seed": -1}, SettingsError, "seed must be between 0"),
        ({"seed": 2**64}, SettingsError, "seed must be between 0"),
        ({"seed": 1.5}, SettingsTypeError, "seed must be an int"),
        ({"n_features": 10**12}, SettingsError, "n_features must be between 2 and 65536"),
        ({"n_train": 1}, SettingsError, "n_train must be between 2"),
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


def test_settings_are_frozen_and_round_trip():
    s = Settings(seed=3, l1=0.05)
    with pytest.raises(Exception):
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
