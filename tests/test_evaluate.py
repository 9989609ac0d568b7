"""Evaluation against a ground-truth circuit: AUC, best F1, precision/recall at k."""

from __future__ import annotations

import numpy as np
import pytest

from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.errors import GroundTruthError
from sae_circuits_widget.evaluation.metrics import (
    best_f1,
    evaluate_scores,
    heads_mask,
    precision_recall_at_k,
    roc_area,
    roc_auc,
    roc_curve,
)


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
        ({"x"}, "cannot read 'x' as a head"),
        ({(0, 0), (True, 1)}, "whole numbers"),
    ],
)
def test_bad_ground_truth(truth, match):
    with pytest.raises(GroundTruthError, match=match):
        evaluate_scores(np.zeros((2, 2)), truth)


def test_string_heads_are_accepted():
    assert heads_mask({"1.0", "L0H1"}, 2, 2).tolist() == [[False, True], [True, False]]


def test_result_evaluate_delegates():
    r = CircuitResult(method="x", node_scores=np.array([[3.0, 0.0], [0.0, 1.0]]),
                      edge_head_scores=np.array([[0.0, 1.0], [0.0, 0.0]]))
    ev = r.evaluate({(0, 0)})
    assert ev["node_auc"] == 1.0 and ev["edge_auc"] == pytest.approx(1 / 3)
    with pytest.raises(GroundTruthError):
        r.evaluate({(9, 9)})


def _random_cases(n_cases: int = 300):
    """Labels with both classes and scores with many ties (small integers, some halves)."""
    rng = np.random.default_rng(0)
    for i in range(n_cases):
        n = int(rng.integers(2, 40))
        labels = rng.integers(0, 2, size=n)
        labels[rng.choice(n, 2, replace=False)] = [0, 1]
        scores = rng.integers(-3, 4, size=n) / (2.0 if i % 2 else 1.0)
        if i % 3 == 0:
            scores = scores + rng.normal(size=n) * (rng.random(n) < 0.5)
        yield labels, scores


def test_roc_matches_sklearn_on_ties():
    """Oracle: the numpy ROC path gives scikit-learn's numbers exactly, ties included."""
    metrics = pytest.importorskip("sklearn.metrics")
    for labels, scores in _random_cases(120):
        assert roc_auc(labels, scores) == metrics.roc_auc_score(labels, scores)
        fpr, tpr, thresholds = roc_curve(labels, scores)
        ref_fpr, ref_tpr, ref_thresholds = metrics.roc_curve(labels, scores)
        np.testing.assert_array_equal(fpr, ref_fpr)
        np.testing.assert_array_equal(tpr, ref_tpr)
        np.testing.assert_array_equal(thresholds, ref_thresholds)
        precision, recall, pr_thresholds = metrics.precision_recall_curve(labels, scores)
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)[:-1]
        i = int(np.argmax(f1))
        assert best_f1(labels, scores) == (f1[i], pr_thresholds[i])


def test_roc_auc_is_the_pairwise_win_rate_with_ties_half():
    for labels, scores in _random_cases(100):
        pos, neg = scores[labels == 1], scores[labels == 0]
        wins = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
        assert roc_auc(labels, scores) == pytest.approx(wins, abs=1e-12)


def test_roc_curve_runs_from_origin_to_one_one_and_ties_move_diagonally():
    fpr, tpr, thresholds = roc_curve([1, 0, 1, 0], [2.0, 1.0, 1.0, 0.0])
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0] and tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert thresholds.tolist() == [np.inf, 2.0, 1.0, 0.0]
    assert roc_area(fpr, tpr) == roc_auc([1, 0, 1, 0], [2.0, 1.0, 1.0, 0.0]) == 0.875


def test_minus_infinity_ranks_last():
    assert roc_auc([1, 0, 0], [0.0, -np.inf, 1.0]) == 0.5
    assert roc_auc([True, False], [-np.inf, -np.inf]) == 0.5


def test_best_f1_prefers_the_lowest_of_equally_good_thresholds():
    assert best_f1([1, 0, 1, 0], [3.0, 2.0, 1.0, 0.0]) == (0.8, 1.0)
    f1, threshold = best_f1([1, 0, 0, 1], [3.0, 2.0, 1.0, 0.0])  # 2/3 at thresholds 3 and 0
    assert f1 == pytest.approx(2 / 3) and threshold == 0.0
    assert best_f1([1, 0], [1.0, 0.0]) == (1.0, 1.0)


def test_precision_recall_at_k():
    assert precision_recall_at_k([1, 1, 0, 0], [4.0, 3.0, 2.0, 1.0], 2) == (1.0, 1.0)
    assert precision_recall_at_k([1, 0, 1, 0], [4.0, 3.0, 3.0, 1.0], 2) == (0.75, 0.75)
    with pytest.raises(ValueError, match="k must be between 1 and"):
        precision_recall_at_k([1, 0], [1.0, 0.0], 3)


@pytest.mark.parametrize(
    "labels, scores, match",
    [
        ([1, 0, 1], [0.1, 0.2], "differ in length"),
        ([1, 1], [0.1, 0.2], "one positive and one negative"),
        ([0, 0], [0.1, 0.2], "one positive and one negative"),
        ([1, 0], [np.nan, 0.2], "NaN"),
        ([2, 0], [0.1, 0.2], "0/1"),
    ],
)
def test_roc_input_errors(labels, scores, match):
    with pytest.raises(ValueError, match=match):
        roc_auc(labels, scores)


def test_benchmark_runs_methods_on_one_thread_for_a_small_model(tiny_model, monkeypatch):
    """As discover runs its own stages; an explicit ``threads=`` is kept."""
    import torch

    from sae_circuits_widget.evaluation import benchmark
    from sae_circuits_widget.testing import toy_ioi_task

    seen = []

    def record(model, task, seed=0):
        seen.append(torch.get_num_threads())
        return CircuitResult(method="record", node_scores=np.arange(8.0).reshape(2, 4))

    monkeypatch.setitem(benchmark._REGISTRY, "record", ("sae_circuits_widget.baselines.trivial", ("x",), {}))
    monkeypatch.setattr(benchmark, "resolve_method", lambda name: record)
    task = toy_ioi_task(tiny_model)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        out = benchmark.run_benchmark(tiny_model, [task], seeds=1, methods=["record"], faithful=False,
                                      cpr_cmd=False, log=None)
        benchmark.run_benchmark(tiny_model, [task], seeds=1, methods=["record"], faithful=False,
                                cpr_cmd=False, threads=2, log=None)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 2] and out["meta"]["threads"] == 1
