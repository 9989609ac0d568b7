import numpy as np
import pytest
import traitlets

from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.widgets import HeadGrid


def test_scores_travel_as_float32_buffer_and_round_trip():
    scores = np.arange(6, dtype=float).reshape(2, 3) / 10
    grid = HeadGrid(CircuitResult("sae", scores), ground_truth={(1, 2), (0, 0)})
    assert isinstance(grid.scores, bytes) and len(grid.scores) == 6 * 4
    np.testing.assert_allclose(grid.values, scores, rtol=1e-6)
    assert (grid.n_layers, grid.n_heads) == (2, 3)
    assert grid.ground_truth == [0, 5]
    assert grid.label == "sae score"


def test_front_end_selection_maps_to_layer_head():
    grid = HeadGrid()
    grid.show_scores(np.zeros((3, 4)))
    assert grid.selected_head is None
    grid.set_state({"selected": 6})  # as the browser would
    assert grid.selected_head == (1, 2)
    with pytest.raises(traitlets.TraitError, match="head index"):
        grid.selected = 12


def test_new_shape_clears_the_selection():
    grid = HeadGrid()
    grid.show_scores(np.zeros((3, 4)))
    grid.selected = 11
    grid.show_scores(np.ones((2, 2)))
    assert grid.selected == -1


def test_rejects_bad_input():
    with pytest.raises(TypeError, match="unknown keyword"):
        HeadGrid(colour="red")
    grid = HeadGrid()
    with pytest.raises(ValueError, match="n_layers, n_heads"):
        grid.show_scores(np.zeros(4))
    with pytest.raises(ValueError, match="outside"):
        grid.show_scores(np.zeros((2, 2)), {(5, 0)})


def _ensemble_result(stability, n_saes=3):
    """A result of an ensemble whose ``stability`` says how many SAEs rank each head."""
    result = CircuitResult("sae", np.arange(6, dtype=float).reshape(2, 3))
    result.stability = np.asarray(stability, dtype=float)  # a typed field of newer results
    result.extras["n_saes"] = n_saes  # where older results record the ensemble's size
    return result


def test_stability_across_the_ensemble_is_a_second_channel():
    from sae_circuits_widget.engine import result as result_module
    from sae_circuits_widget.widgets._common import from_float32_bytes

    share = [[0, 1 / 3, 2 / 3], [1, 0, 0]]
    grid = HeadGrid(_ensemble_result(share))
    np.testing.assert_allclose(from_float32_bytes(grid.stability).reshape(2, 3), share, rtol=1e-6)
    assert grid.n_saes == 3 and grid.top_k == getattr(result_module, "STABILITY_K", 5)
    grid.show_scores(np.zeros((2, 3)))  # scores without stability clear it
    assert grid.stability == b"" and grid.n_saes == 0


def test_no_stability_is_drawn_without_an_ensemble():
    assert HeadGrid(_ensemble_result([[1, 0, 0], [0, 0, 0]], n_saes=1)).n_saes == 0
    assert HeadGrid(CircuitResult("eap", np.zeros((2, 3)))).stability == b""
    with pytest.raises(ValueError, match="stability must be"):
        HeadGrid().show_scores(np.zeros((2, 3)), stability=np.zeros(4), n_saes=3, top_k=5)
