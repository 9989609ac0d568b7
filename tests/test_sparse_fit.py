"""The sparse training loop (``fit="sparse"``) against the exact one it shortcuts."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from engine_helpers import toy_ioi

from sae_circuits_widget import discover
from sae_circuits_widget.engine.activations import head_outputs
from sae_circuits_widget.engine.sae import SAECache, fit_sae
from sae_circuits_widget.errors import Cancelled, SettingsError
from sae_circuits_widget.settings import Settings

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:no head has a code unique"),
    pytest.mark.filterwarnings("ignore:no answers given"),
]

TASK = toy_ioi(6)


@pytest.fixture(scope="module")
def vectors(tiny_model):
    """Head outputs of the toy IOI prompts on the tiny model, ``[96, 32]``."""
    x = head_outputs(tiny_model, TASK.positives + TASK.negatives, "mean")
    return x.reshape(-1, x.shape[-1])


def weights(sae):
    return [sae.W_enc, sae.W_dec, sae.b_enc, sae.b_pre]


@pytest.mark.parametrize("l1", [0.0, 0.02, 0.5, 1e3])
def test_a_few_epochs_are_the_exact_loop_up_to_rounding(vectors, l1):
    # l1 = 0: every feature can fire (dense); 1e3: after the first step none fires (the
    # no-active-vector branch); the epochs in between mix both.
    exact = fit_sae(vectors, n_features=24, l1=l1, seed=3, epochs=5)
    sparse = fit_sae(vectors, n_features=24, l1=l1, seed=3, epochs=5, fit="sparse")
    assert sparse.epochs_run == exact.epochs_run == 5
    assert sparse.losses == pytest.approx(exact.losses, rel=1e-5)
    for a, b in zip(weights(sparse), weights(exact)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_full_fit_follows_the_exact_loss_curve_and_codes(vectors):
    exact = fit_sae(vectors, n_features=48, seed=0)
    sparse = fit_sae(vectors, n_features=48, seed=0, fit="sparse")
    assert len(sparse.losses) == 500
    # early epochs agree to rounding; the discrete codes may drift apart later, so the
    # end is compared loosely
    assert sparse.losses[:50] == pytest.approx(exact.losses[:50], rel=1e-4)
    assert sparse.losses[-1] == pytest.approx(exact.losses[-1], rel=0.05)
    agree = (sparse.codes(vectors) == exact.codes(vectors)).float().mean()
    assert agree >= 0.8
    # the paper recipe's constraint holds on the weights it returns
    torch.testing.assert_close(sparse.W_enc.norm(dim=0), torch.ones(48))
    torch.testing.assert_close(sparse.W_dec.norm(dim=0), torch.ones(vectors.shape[1]))


def test_the_sparse_loop_is_deterministic(vectors):
    a = fit_sae(vectors, n_features=24, seed=1, epochs=60, fit="sparse")
    b = fit_sae(vectors, n_features=24, seed=1, epochs=60, fit="sparse")
    assert a.losses == b.losses
    assert all(torch.equal(p, q) for p, q in zip(weights(a), weights(b)))


def test_stop_and_observe_work_as_in_the_exact_loop(vectors):
    seen: list[int] = []
    fit_sae(vectors, n_features=16, epochs=20, fit="sparse", observe=lambda epoch, sae: seen.append(epoch))
    assert seen == list(range(1, 22))
    calls: list[int] = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 7

    with pytest.raises(Cancelled, match="epoch 8 of at most 500"):
        fit_sae(vectors, n_features=16, fit="sparse", stop=stop)


def test_observe_sees_the_weights_of_each_epoch(vectors):
    # the sparse loop keeps its own buffers and writes the SAE's weights back before each
    # observe call: what observe sees follows the exact loop's weights epoch by epoch
    def recorder(into: list):
        return lambda epoch, sae: into.append([w.detach().clone() for w in weights(sae)])

    exact_seen: list = []
    sparse_seen: list = []
    fit_sae(vectors, n_features=24, seed=1, epochs=6, observe=recorder(exact_seen))
    fit_sae(vectors, n_features=24, seed=1, epochs=6, fit="sparse", observe=recorder(sparse_seen))
    assert len(sparse_seen) == len(exact_seen) == 7
    assert not torch.equal(sparse_seen[0][0], sparse_seen[-1][0])  # the weights moved
    for a, b in zip(sparse_seen, exact_seen):
        for p, q in zip(a, b):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_sparse_is_refused_for_the_stable_recipe(vectors):
    with pytest.raises(ValueError, match="paper recipe"):
        fit_sae(vectors, n_features=16, recipe="stable", fit="sparse")
    with pytest.raises(ValueError, match="fit must be one of"):
        fit_sae(vectors, n_features=16, fit="fast")
    with pytest.raises(SettingsError, match="paper recipe"):
        Settings(recipe="stable", fit="sparse")
    with pytest.raises(SettingsError, match="fit must be one of"):
        Settings(fit="fast")


def test_discover_with_the_sparse_loop(tiny_model):
    cache = SAECache()
    few = dict(n_features=32, n_train=4, n_saes=2, edges=True)
    exact = discover(tiny_model, positives=TASK.positives, negatives=TASK.negatives, sae_cache=cache, **few)
    sparse = discover(tiny_model, positives=TASK.positives, negatives=TASK.negatives, sae_cache=cache,
                      fit="sparse", **few)
    assert exact.settings["fit"] == "exact" and sparse.settings["fit"] == "sparse"
    assert sparse.sae_run is not None and sparse.sae_run.source == "fit"  # not the exact fits from the cache
    assert cache.fits == 4
    assert sparse.node_scores.shape == exact.node_scores.shape
    assert sparse.edge_scores is not None and sparse.edge_scores.shape == exact.edge_scores.shape
    # the same training prompts and starting weights: the losses start equal
    assert sparse.sae.losses[0] == pytest.approx(exact.sae.losses[0], rel=1e-6)


def test_the_weights_keep_the_exact_loops_layout(vectors):
    # the sparse loop runs Adam on one flat buffer that the parameters are views into; the
    # parameters it hands back have the exact loop's shapes and strides (the reference's layout)
    exact = fit_sae(vectors, n_features=24, seed=1, epochs=3)
    sparse = fit_sae(vectors, n_features=24, seed=1, epochs=3, fit="sparse")
    for a, b in zip(weights(sparse), weights(exact)):
        assert (a.shape, a.stride()) == (b.shape, b.stride())
    # and each has its own storage again (safetensors refuses tensors that share memory)
    pointers = {p.untyped_storage().data_ptr() for p in weights(sparse)}
    assert len(pointers) == 4


def test_the_kernels_compile_where_no_cache_can_be_written():
    # a read-only install with no writable home: numba finds no cache folder, and the
    # kernels compile per process instead of failing at import
    code = (
        "import numba.core.caching as caching\n"
        "caching.CacheImpl._locator_classes = []\n"
        "import torch\n"
        "from sae_circuits_widget.engine import sparse_kernels\n"
        "assert not sparse_kernels.epoch._cache.__class__.__name__ == 'FunctionCache'\n"
        "from sae_circuits_widget.engine.sae import fit_sae\n"
        "torch.manual_seed(0)\n"
        "x = torch.randn(12, 4)\n"
        "a, b = fit_sae(x, n_features=5, epochs=4), fit_sae(x, n_features=5, epochs=4, fit='sparse')\n"
        "torch.testing.assert_close(a.W_enc, b.W_enc, rtol=1e-5, atol=1e-6)\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
