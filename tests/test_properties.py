"""Property-based tests of the scoring (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sae_circuits_widget.engine.scoring import pool_edge_scores, unique_positive_codes, unique_positive_pairs


@st.composite
def code_tables(draw, max_prompts=10, max_heads=6, max_code=6):
    n_prompts = draw(st.integers(2, max_prompts))
    n_heads = draw(st.integers(2, max_heads))
    codes = draw(arrays(np.int64, (n_prompts, n_heads), elements=st.integers(-1, max_code)))
    pos = draw(arrays(np.bool_, (n_prompts,), elements=st.booleans()))
    return codes, pos


fast = settings(max_examples=60, deadline=None, derandomize=True)  # the same examples every run


@fast
@given(code_tables(), st.randoms(use_true_random=False))
def test_permuting_heads_permutes_scores(table, rnd):
    codes, pos = table
    perm = np.array(rnd.sample(range(codes.shape[1]), codes.shape[1]))
    node = unique_positive_codes(codes, pos)
    edge = unique_positive_pairs(codes, pos)
    np.testing.assert_array_equal(unique_positive_codes(codes[:, perm], pos), node[perm])
    np.testing.assert_array_equal(unique_positive_pairs(codes[:, perm], pos), edge[np.ix_(perm, perm)])
    np.testing.assert_allclose(pool_edge_scores(edge[np.ix_(perm, perm)]), pool_edge_scores(edge)[perm])


@fast
@given(code_tables(), st.data())
def test_adding_a_negative_never_raises_a_node_score(table, data):
    codes, pos = table
    new_row = data.draw(arrays(np.int64, (1, codes.shape[1]), elements=st.integers(-1, 6)))
    before = unique_positive_codes(codes, pos)
    after = unique_positive_codes(np.vstack([codes, new_row]), np.append(pos, False))
    assert np.all(after <= before)
    e_before = unique_positive_pairs(codes, pos)
    e_after = unique_positive_pairs(np.vstack([codes, new_row]), np.append(pos, False))
    assert np.all(e_after <= e_before)


@fast
@given(code_tables(), st.randoms(use_true_random=False))
def test_scores_are_invariant_to_relabelling_codes(table, rnd):
    codes, pos = table
    labels = list(range(7))
    new = rnd.sample(range(1000), 7)  # injective relabelling of 0..6
    mapping = dict(zip(labels, new))
    relabelled = np.vectorize(lambda c: -1 if c < 0 else mapping[int(c)])(codes).astype(np.int64)
    np.testing.assert_array_equal(unique_positive_codes(relabelled, pos), unique_positive_codes(codes, pos))
    np.testing.assert_array_equal(unique_positive_pairs(relabelled, pos), unique_positive_pairs(codes, pos))


@fast
@given(code_tables())
def test_swapping_positives_and_negatives_swaps_unique_counts(table):
    codes, pos = table
    # codes unique to negatives, computed directly
    neg_unique = []
    for h in range(codes.shape[1]):
        p = {c for c in codes[pos, h] if c >= 0}
        n = {c for c in codes[~pos, h] if c >= 0}
        neg_unique.append(len(n - p))
    np.testing.assert_array_equal(unique_positive_codes(codes, ~pos), neg_unique)
    # and swapping twice is the identity
    np.testing.assert_array_equal(unique_positive_codes(codes, ~~pos), unique_positive_codes(codes, pos))
