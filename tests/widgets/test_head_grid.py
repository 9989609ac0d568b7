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
