"""Evaluation against a ground-truth circuit: AUC, best F1, precision/recall at k."""

from __future__ import annotations

import numpy as np
import pytest

from sae_circuits_widget.errors import GroundTruthError
from sae_circuits_widget.evaluation.metrics import evaluate_scores, heads_mask
from sae_circuits_widget.engine.result import CircuitResult


def test_perfect_and_reversed_rankings():
    scores = np.array([[5.0, 0.0, 1.0], [0.0, 4.0, 0.0]])
    truth = {(0, 0), (1, 1)}
    ev = evaluate_scores(scores, truth)
    assert ev["node_auc"] == 1.0 and ev["best_f1"] == 1.0
    assert ev["precision_at_k"] == 1.0 and ev["recall_at_k"] == 1.0
    assert ev["k"] == ev["n_ground_truth"] == 2 and ev["n_heads"] == 6
    assert ev["edge_auc"] is None
    assert evaluate_scores(-scores, truth)["node_auc"] == 0.0


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(3, 4)).astype(float)
    truth = {(0, 1), (2, 3), (1, 0)}
    ev = evaluate_scores(scores, truth)
    mask = heads_mask(truth, 3, 4).reshape(-1)
    s = scores.reshape(-1)
    pairs = [(a, b) for a in s[mask] for b in s[~mask]]
    expected = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs])
    assert ev["node_auc"] == pytest.approx(expected)


def test_ties_at_k_are_shared():
    scores = np.array([[1.0, 1.0, 1.0, 1.0]])
    ev = evaluate_scores(scores, {(0, 0)})
    assert ev["precision_at_k"] == pytest.approx(0.25) and ev["node_auc"] == 0.5


def test_edge_auc_from_pooled_scores_and_pairs():
    node = np.array([[1.0, 0.0], [0.0, 1.0]])
    edge = np.zeros((4, 4))
    edge[0, 3] = edge[3, 0] = 5
    ev = evaluate_scores(node, {(0, 0), (1, 1)}, edge_scores=edge, edge_ground_truth={((0, 0), (1, 1))})
    assert ev["edge_auc"] == 1.0 and ev["edge_pair_auc"] == 1.0


@pytest.mark.parametrize(
    "truth, match",
    [
        ({(0, 0), (5, 1)}, r"do not exist: \[\(5, 1\)\].*layers 0-1"),
        ({(0, -1)}, "do not exist"),
        (set(), "empty"),
        ({(0, 0), (0, 1), (1, 0), (1, 1)}, "every head"),
        ("0.1", "collection of heads"),
        ({"x"}, "cannot read head"),
    ],
)
def test_bad_ground_truth(truth, match):  # case 17
    with pytest.raises(GroundTruthError, match=match):
        evaluate_scores(np.zeros((2, 2)), truth)


def test_string_heads_are_accepted():
    assert heads_mask({"1.0", "L0H1"}, 2, 2).tolist() == [[False, True], [True, False]]


def test_result_evaluate_delegates():
    r = CircuitResult(method="x", node_scores=np.array([[3.0, 0.0], [0.0, 1.0]]),
                      extras={"edge_head_scores": np.array([[0.0, 1.0], [0.0, 0.0]])})
    ev = r.evaluate({(0, 0)})
    assert ev["node_auc"] == 1.0 and ev["edge_auc"] == pytest.approx(1 / 3)
    with pytest.raises(GroundTruthError):
        r.evaluate({(9, 9)})
