"""The paper recipe's training loop without the arithmetic on zeros (``fit="sparse"``).

Once the paper recipe's sparsity penalty has taken hold (after about a hundred of its 500
epochs on the bundled model), under 1% of the activation matrix is non-zero: about a
third of the vectors have any active feature, and about a quarter of the features are
active on any vector. Every matrix product of an epoch but the encoder's then multiplies
mostly zeros:

* the reconstruction ``acts @ W_dec`` only needs the active vectors and features;
* the decoder's gradient ``acts.T @ g`` is zero outside the active features' rows;
* the encoder's pre-activation gradient is masked by ``acts > 0``, so the product
  ``g @ W_dec.T`` is only needed on the active block, and so is ``xc.T @ g_pre``;
* ``b_pre``'s gradient through the encoder is ``-W_enc @ (sum over vectors of g_pre)``,
  a matrix-vector product where autograd forms the ``[n, d_model]`` gradient of ``xc``.

This loop computes the forward pass and the gradients by hand on the active entries only
(one full product per epoch, the encoder's, to find them). The unit-norm constraint, the
gradient projection (on the weights just constrained, so without dividing by their
norms again) and Adam's arithmetic are the exact loop's, at the same points of the
epoch. At the bundled model's size (240 vectors, 128 dimensions, 200 features) the rest
of an epoch is under a million floating-point operations, too little to pay for dozens
of torch calls, so it is one compiled call (``sparse_kernels``, numba) beside the
encoder's product, which torch's BLAS does. In exact arithmetic every quantity equals
the exact loop's; in floating point the sums run in another order, so the weights differ
by rounding, and a discrete code flips now and then where two features are nearly tied;
over 500 epochs the fits drift apart as two fits of the exact loop do on CPUs with
different vector units. ``benchmarks/speed.py`` measures the node and edge AUCs of both
loops over ten seeds per task in one run; the exact loop (``fit="exact"``) stays the one
that is bitwise the authors' code (``benchmarks/reference_crosscheck.py``).

The loop runs on the CPU whatever the device asked for (on a GPU the exact loop's dense
products are the fast way), and the first call in a fresh environment compiles the
kernels once (numba caches them on disk for later processes).

Only the paper recipe has this loop: the stable recipe's convergence test encodes the
training set every ten epochs anyway and its fits are short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

import numpy as np
import torch
from torch import Tensor

from ..errors import Cancelled


@torch.no_grad()
def train_sparse(
    sae: Any, x: Tensor, n_epochs: int,
    stop: Optional[Callable[[], bool]] = None, observe: Optional[Callable[[int, Any], None]] = None,
) -> list[float]:
    """Run ``n_epochs`` full-batch epochs of the paper recipe on ``x`` (already in the
    SAE's units) on ``sae`` (a ``sae.DiscreteSAE``; not imported here, which ``sae``
    imports) with Adam at ``sae.cfg.lr`` over ``W_enc, W_dec, b_enc, b_pre``; returns the
    loss of each epoch. ``stop`` and ``observe`` as in ``fit_sae``. The SAE's parameters
    are written once, at the end (and before each ``observe`` call)."""
    from . import sparse_kernels as kernels  # numba: imported (and compiled) on first use

    params_out = [sae.W_enc, sae.W_dec, sae.b_enc, sae.b_pre]
    x_np = x.detach().cpu().float().contiguous().numpy()
    n, d = x_np.shape
    n_features = int(sae.W_enc.shape[1])
    size = n_features * d
    # one flat buffer: W_enc.T, W_dec, b_enc, b_pre (every weight vector contiguous)
    params = np.empty(2 * size + n_features + d, dtype=np.float32)
    we = params[:size].reshape(n_features, d)
    wd = params[size:2 * size].reshape(n_features, d)
    be = params[2 * size:2 * size + n_features]
    bp = params[2 * size + n_features:]
    for view, p in zip((we, wd, be, bp), (sae.W_enc.T, sae.W_dec, sae.b_enc, sae.b_pre)):
        view[...] = p.detach().cpu().float().numpy()
    grad, exp_avg, exp_avg_sq = np.zeros_like(params), np.zeros_like(params), np.zeros_like(params)
    pre, xc, diff = np.empty((n, n_features), np.float32), np.empty((n, d), np.float32), np.empty((n, d), np.float32)
    entries, values = np.empty(2 * n * n_features, np.int32), np.empty(n * n_features, np.float32)
    active, along = np.empty(n_features, np.bool_), np.empty(d, np.float32)
    x_t, xc_t, pre_t = torch.from_numpy(x_np), torch.from_numpy(xc), torch.from_numpy(pre)
    we_t, be_t, bp_t = torch.from_numpy(we), torch.from_numpy(be), torch.from_numpy(bp)

    def write_back() -> None:
        for p, view in zip(params_out, (we.T, wd, be, bp)):
            p.copy_(torch.from_numpy(view))

    lr, beta1, beta2, eps = float(sae.cfg.lr), 0.9, 0.999, 1e-8
    l1 = float(sae.cfg.l1)
    # d loss / d recon = 2 (recon - x) / (n d); d (l1 term) / d acts = l1 / n where acts > 0
    g_scale, g_l1 = np.float32(2.0 / (n * d)), np.float32(l1 / n)
    renormalise_every = n_epochs // 10 if n_epochs >= 10 else 0
    sums = np.empty((n_epochs, 2))  # squared error and sum of activations per epoch
    for epoch in range(1, n_epochs + 1):
        if stop is not None and stop():
            raise Cancelled(f"the run was cancelled during an SAE fit (epoch {epoch} of at most {n_epochs})")
        kernels.constrain(we, wd, along)
        if observe is not None:
            write_back()
            observe(epoch, sae)
        torch.sub(x_t, bp_t, out=xc_t)
        torch.addmm(be_t, xc_t, we_t.T, out=pre_t)  # the one full product: which entries are active
        sums[epoch - 1] = kernels.epoch(
            pre, x_np, xc, we, wd, bp, params, grad, exp_avg, exp_avg_sq,
            diff, entries, values, active, along,
            g_scale, g_l1, np.float32(lr / (1 - beta1**epoch)), np.float32((1 - beta2**epoch) ** 0.5),
            np.float32(beta1), np.float32(beta2), np.float32(eps),
        )
        if renormalise_every and (epoch - 1) % renormalise_every == 0:
            kernels.constrain(we, wd, along)  # as the exact loop: the reference's eval pass renormalises
    kernels.constrain(we, wd, along)
    write_back()
    if observe is not None:
        observe(n_epochs + 1, sae)  # a cancelled fit raised above: every epoch ran
    losses = sums[:, 0] / (n * d) + l1 * sums[:, 1] / n
    return losses.tolist()
