"""The exact speed-ups change no bit: the fast training loop, its Adam and the ensemble's
parallel fits against the plain loop of ``benchmarks/speed.py`` (``torch.optim.Adam``,
members one after another), on random data and on the tiny model's head outputs."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import toy_ioi

from sae_circuits_widget import discover
from sae_circuits_widget.engine.activations import HeadOutputCache, head_outputs
from sae_circuits_widget.engine.discover import _training_draw
from sae_circuits_widget.engine.sae import _Adam, fit_sae, fit_saes
from sae_circuits_widget.errors import Cancelled

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:no head has a code unique"),
]

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"
TASK = toy_ioi(6)


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("speed_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_vectors(tiny_model):
    """Head outputs of the toy IOI prompts on the tiny model, ``[12, 8, 32]``."""
    return head_outputs(tiny_model, TASK.positives + TASK.negatives, "mean")


def same_fit(a, b) -> bool:
    """Bitwise equal weights, buffers, losses and epochs."""
    sa, sb = a.state_dict(), b.state_dict()
    return (
        sa.keys() == sb.keys()
        and all(torch.equal(sa[k], sb[k]) for k in sa)
        and a.losses == b.losses
        and a.epochs_run == b.epochs_run
    )


def test_adam_is_torch_adam_bitwise():
    # odd sizes, so that the vectorised kernels' scalar tails are exercised
    shapes = [(7, 13), (13, 7), (13,), (5,)]
    g = torch.Generator().manual_seed(0)
    ours = [torch.nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
    theirs = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    start = [p.detach().clone() for p in ours]
    a, b = _Adam(ours, lr=1e-3), torch.optim.Adam(theirs, lr=1e-3, foreach=False)
    for _ in range(40):
        for p, q in zip(ours, theirs):
            p.grad = torch.randn(p.shape, generator=g) * 10
            q.grad = p.grad.clone()
        a.step()
        b.step()
    assert all(torch.equal(p, q) for p, q in zip(ours, theirs))
    assert all(torch.equal(m, b.state[q]["exp_avg_sq"]) for m, q in zip(a.exp_avg_sq, theirs))
    assert not any(torch.equal(p, q) for p, q in zip(ours, start))  # the parameters moved


def test_adam_refuses_a_parameter_without_gradient():
    p = torch.nn.Parameter(torch.ones(3))
    with pytest.raises(RuntimeError, match="no gradient"):
        _Adam([p], lr=1e-3).step()


@pytest.mark.parametrize("recipe", ["paper", "stable"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_is_the_plain_loop_bitwise(speed, tiny_vectors, recipe, seed):
    x = tiny_vectors[: 6 if seed else 4].reshape(-1, tiny_vectors.shape[-1])  # 48 or 32 vectors
    kw = dict(n_features=13, l1=0.02, seed=seed, recipe=recipe, epochs=60, max_epochs=300, patience=40)
    fast, plain = fit_sae(x, **kw), speed.plain_fit_sae(x, **kw)
    assert fast.epochs_run == (60 if recipe == "paper" else plain.epochs_run) and len(fast.losses) > 0
    assert same_fit(fast, plain)
    assert torch.equal(fast.codes(tiny_vectors), plain.codes(tiny_vectors))


def test_a_full_paper_fit_with_the_discover_draw_is_the_plain_loop(speed, tiny_vectors):
    rows, gen = _training_draw(np.array([True] * 6 + [False] * 6), 4, 3, "paper")
    _, gen_plain = _training_draw(np.array([True] * 6 + [False] * 6), 4, 3, "paper")
    x = tiny_vectors[torch.as_tensor(rows)].reshape(-1, tiny_vectors.shape[-1])
    fast = fit_sae(x, n_features=24, seed=3, generator=gen)
    plain = speed.plain_fit_sae(x, n_features=24, seed=3, generator=gen_plain)
    assert fast.epochs_run == 500 and same_fit(fast, plain)


@pytest.mark.parametrize("recipe", ["paper", "stable"])
def test_parallel_members_are_the_sequential_fits(tiny_vectors, recipe):
    xs = [tiny_vectors[i : i + 5].reshape(-1, tiny_vectors.shape[-1]) for i in (0, 3, 7)]
    kw = dict(n_features=16, recipe=recipe, epochs=80, max_epochs=200, patience=40)
    parallel = fit_saes(xs, [4, 5, 6], workers=3, **kw)
    sequential = [fit_sae(x, seed=s, **kw) for x, s in zip(xs, [4, 5, 6])]
    assert all(same_fit(a, b) for a, b in zip(parallel, sequential))
    assert not same_fit(parallel[0], parallel[1])
    assert torch.get_num_threads() == 1  # the caller's thread setting is back


def test_discover_with_a_thread_budget_is_discover_on_one_thread(tiny_model):
    runs = []
    for threads in (1, 3):
        torch.set_num_threads(threads)
        try:
            runs.append(discover(tiny_model, TASK, seed=1, n_saes=2, n_features=16, cache=HeadOutputCache()))
        finally:
            torch.set_num_threads(1)
    one, three = runs
    assert np.array_equal(one.node_scores, three.node_scores)
    assert np.array_equal(one.edge_scores, three.edge_scores)
    assert np.array_equal(one.codes, three.codes)
    assert np.array_equal(one.sae_run.member_node_scores, three.sae_run.member_node_scores)
    assert one.sae_run.final_loss == three.sae_run.final_loss


def test_discover_with_the_slow_path_gives_the_same_result(speed, tiny_model):
    fast = discover(tiny_model, TASK, seed=2, n_saes=2, n_features=16, cache=HeadOutputCache())
    with speed.slow_path():
        slow = discover(tiny_model, TASK, seed=2, n_saes=2, n_features=16, cache=HeadOutputCache())
    assert speed.same_result(fast, slow)
    assert np.array_equal(fast.codes, slow.codes) and np.array_equal(fast.edge_scores, slow.edge_scores)


def test_a_stop_ends_every_parallel_fit(tiny_vectors):
    xs = [tiny_vectors.reshape(-1, tiny_vectors.shape[-1])] * 3
    calls = []
    lock = threading.Lock()

    def stop() -> bool:
        with lock:
            calls.append(1)
            return len(calls) > 30

    before = threading.active_count()
    with pytest.raises(Cancelled, match="cancelled during an SAE fit"):
        fit_saes(xs, [0, 1, 2], workers=3, n_features=16, stop=stop)
    assert len(calls) < 3 * 500  # no fit ran to the end
    assert threading.active_count() == before


def test_a_failing_member_fails_the_ensemble_with_its_own_error(tiny_vectors):
    xs = [tiny_vectors.reshape(-1, tiny_vectors.shape[-1])] * 3

    def observe(epoch, sae):
        if sae.cfg.seed == 1 and epoch == 5:
            raise ValueError("member 1 failed")

    with pytest.raises(ValueError, match="member 1 failed"):
        fit_saes(xs, [0, 1, 2], workers=3, n_features=16, observe=observe)


def test_observe_sees_every_epoch_and_changes_nothing(tiny_vectors):
    x = tiny_vectors.reshape(-1, tiny_vectors.shape[-1])
    seen: list[int] = []
    codes: list[torch.Tensor] = []

    def observe(epoch, sae):
        seen.append(epoch)
        codes.append(sae.codes(x))

    watched = fit_sae(x, n_features=16, epochs=30, observe=observe)
    assert seen == list(range(1, 32))
    assert same_fit(watched, fit_sae(x, n_features=16, epochs=30))
    assert torch.equal(codes[-1], watched.codes(x))  # the last call sees the final weights


@pytest.mark.parametrize("shape, n_codes", [((12, 30), 3), ((20, 50), 8), ((7, 40), 2)])
def test_edge_scores_by_matrix_products_and_by_keys_agree(speed, shape, n_codes):
    from sae_circuits_widget.engine.scoring import pairs_by_keys, pairs_by_products, unique_positive_pairs

    rng = np.random.default_rng(sum(shape) + n_codes)
    codes = rng.integers(0, n_codes, size=shape)
    codes[rng.random(shape) < 0.3] = -1
    is_positive = rng.random(shape[0]) < 0.5
    is_positive[0], is_positive[-1] = True, False
    expected = unique_positive_pairs(codes, is_positive)
    assert expected.sum() > 0
    assert np.array_equal(pairs_by_products(codes, is_positive), expected)
    assert np.array_equal(pairs_by_keys(codes, is_positive), expected)
    senders = [0, 3, shape[1] - 1]
    assert np.array_equal(speed.plain_pair_scores(codes, is_positive, senders), expected[senders])
