"""Node and edge scores from codes, checked against a direct set-based count."""

from __future__ import annotations

import numpy as np
import pytest

from sae_circuits_widget.engine.scoring import (
    PRODUCTS_MAX_POSITIVES,
    code_sets,
    pairs_by_keys,
    pairs_by_products,
    pool_edge_scores,
    softmax_scores,
    unique_positive_codes,
    unique_positive_pairs,
)


def slow_node(codes, pos):
    out = []
    for h in range(codes.shape[1]):
        p = {c for c, f in zip(codes[:, h], pos) if f and c >= 0}
        n = {c for c, f in zip(codes[:, h], pos) if not f and c >= 0}
        out.append(len(p - n))
    return np.array(out)


def slow_edges(codes, pos):
    H = codes.shape[1]
    out = np.zeros((H, H), dtype=int)
    for a in range(H):
        for b in range(H):
            if a == b:
                continue
            p = {(x, y) for x, y, f in zip(codes[:, a], codes[:, b], pos) if f and x >= 0 and y >= 0}
            n = {(x, y) for x, y, f in zip(codes[:, a], codes[:, b], pos) if not f and x >= 0 and y >= 0}
            out[a, b] = len(p - n)
    return out


def test_node_scores_match_set_definition():
    rng = np.random.default_rng(1)
    codes = rng.integers(-1, 6, size=(12, 7))
    pos = rng.random(12) < 0.5
    np.testing.assert_array_equal(unique_positive_codes(codes, pos), slow_node(codes, pos))


def test_edge_scores_match_set_definition():
    rng = np.random.default_rng(2)
    codes = rng.integers(-1, 4, size=(10, 5))
    pos = rng.random(10) < 0.5
    e = unique_positive_pairs(codes, pos)
    np.testing.assert_array_equal(e, slow_edges(codes, pos))
    np.testing.assert_array_equal(e, e.T)
    assert np.all(np.diag(e) == 0)
    # the key-sorting algorithm, in small blocks of senders, gives the same answer
    np.testing.assert_array_equal(pairs_by_keys(codes, pos, max_keys=7), e)
    np.testing.assert_array_equal(pairs_by_products(codes, pos), e)


def test_many_positives_switch_to_sorted_keys_with_the_same_counts(monkeypatch):
    import sae_circuits_widget.engine.scoring as scoring

    rng = np.random.default_rng(5)
    codes = rng.integers(-1, 5, size=(PRODUCTS_MAX_POSITIVES + 40, 6))
    pos = np.arange(len(codes)) < PRODUCTS_MAX_POSITIVES + 20
    expected = slow_edges(codes, pos)
    used = []
    monkeypatch.setattr(scoring, "pairs_by_products", lambda *a: used.append("products"))
    np.testing.assert_array_equal(unique_positive_pairs(codes, pos), expected)
    assert not used, "above PRODUCTS_MAX_POSITIVES the keys are sorted"
    monkeypatch.undo()
    np.testing.assert_array_equal(pairs_by_products(codes, pos), expected)


def test_no_code_never_counts():
    codes = np.array([[-1, 3], [-1, 3], [2, 3]])
    pos = np.array([True, True, False])
    # head 0: positives have no code at all -> 0; head 1: same code on both sides -> 0
    assert unique_positive_codes(codes, pos).tolist() == [0, 0]
    # a dead negative does not cancel a live positive code
    codes = np.array([[4, 1], [-1, 1]])
    assert unique_positive_codes(codes, np.array([True, False])).tolist() == [1, 0]


def test_duplicates_do_not_double_count():
    codes = np.array([[1, 2], [1, 2], [1, 2], [0, 0]])
    pos = np.array([True, True, True, False])
    assert unique_positive_codes(codes, pos).tolist() == [1, 1]
    assert unique_positive_pairs(codes, pos)[0, 1] == 1


def test_unequal_numbers_of_positives_and_negatives():
    codes = np.array([[1], [2], [3], [1]])
    assert unique_positive_codes(codes, np.array([True, True, True, False])).tolist() == [2]
    assert unique_positive_codes(codes, np.array([True, False, False, False])).tolist() == [0]


def test_shape_errors():
    with pytest.raises(ValueError, match="prompts, heads"):
        unique_positive_codes(np.zeros(3, dtype=int), np.array([True, False, True]))
    with pytest.raises(ValueError, match="one entry per prompt"):
        unique_positive_codes(np.zeros((3, 2), dtype=int), np.array([True, False]))


def test_pooling_counts_membership_in_top_pairs():
    e = np.array([[0, 5, 1, 0], [5, 0, 0, 0], [1, 0, 0, 2], [0, 0, 2, 0]], dtype=float)
    pooled = pool_edge_scores(e, top_k=4)
    # top 4 ordered pairs: (0,1),(1,0),(2,3),(3,2)
    assert pooled.tolist() == [2.0, 2.0, 2.0, 2.0]
    pooled = pool_edge_scores(e, top_k=2)
    assert pooled.tolist() == [2.0, 2.0, 0.0, 0.0]


def test_pooling_shares_ties_and_ignores_zero_pairs():
    e = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    pooled = pool_edge_scores(e, top_k=3)  # 6 tied pairs share 3 places
    np.testing.assert_allclose(pooled, [2.0, 2.0, 2.0])
    assert pool_edge_scores(np.zeros((3, 3))).tolist() == [0.0, 0.0, 0.0]


def test_default_top_k_is_half_the_ordered_pairs():
    e = np.arange(16, dtype=float).reshape(4, 4)
    e = e + e.T
    np.fill_diagonal(e, 0)
    assert pool_edge_scores(e).sum() == pytest.approx(2 * 8)


def test_code_sets_and_softmax():
    codes = np.array([[1, 0], [2, 0], [2, 5]])
    pos = np.array([True, True, False])
    assert code_sets(codes, pos, 0) == {"positive": [1, 2], "negative": [2], "unique_positive": [1]}
    s = softmax_scores(np.array([[1.0, 2.0], [0.0, 3.0]]))
    assert s.sum() == pytest.approx(1.0)
    assert np.argmax(s) == 3
