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

This loop computes the forward pass and the gradients by hand on the active block only
(one full product per epoch, the encoder's, to find it). The unit-norm constraint, the
gradient projection (on the weights just constrained, so without dividing by their
norms again) and Adam are the exact loop's, at the same points of the epoch. In exact
arithmetic every quantity equals the exact loop's; in floating point the sums run in
another order, so the weights differ by rounding, and a discrete code flips now and then
where two features are nearly tied; over 500 epochs the fits drift apart as two fits of
the exact loop do on CPUs with different vector units. ``benchmarks/speed.py`` measures the node and edge AUCs of
both loops over ten seeds per task in one run; the exact loop (``fit="exact"``) stays
the one that is bitwise the authors' code (``benchmarks/reference_crosscheck.py``).

Only the paper recipe has this loop: the stable recipe's convergence test encodes the
training set every ten epochs anyway and its fits are short.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

import torch
from torch import Tensor

from ..errors import Cancelled


def _unit_columns_(w: Tensor) -> Tensor:
    """Scale each column of ``w`` to unit norm, in place (the paper recipe's constraint:
    ``W_enc``'s columns are the features' encoder vectors; ``W_dec``'s columns are the
    reference's decoder axis, see ``sae``)."""
    return w.div_(w.norm(dim=0, keepdim=True).clamp_min_(1e-12))


@torch.no_grad()
def train_sparse(
    sae: Any, x: Tensor, n_epochs: int, opt: Any,
    stop: Optional[Callable[[], bool]] = None, observe: Optional[Callable[[int, Any], None]] = None,
) -> list[float]:
    """Run ``n_epochs`` full-batch epochs of the paper recipe on ``x`` (already in the
    SAE's units) on ``sae`` (a ``sae.DiscreteSAE``; not imported here, which ``sae``
    imports) with the optimiser ``opt`` (``sae._Adam`` over ``W_enc, W_dec, b_enc,
    b_pre``); returns the loss of each epoch. ``stop`` and ``observe`` as in ``fit_sae``."""
    W_enc, W_dec, b_enc, b_pre = sae.W_enc, sae.W_dec, sae.b_enc, sae.b_pre
    we, wd, be, bp = W_enc.data, W_dec.data, b_enc.data, b_pre.data
    n, d = int(x.shape[0]), int(x.shape[1])
    l1 = float(sae.cfg.l1)
    # d loss / d recon = 2 (recon - x) / (n d); d (l1 term) / d acts = l1 / n where acts > 0
    g_scale, g_l1 = 2.0 / (n * d), l1 / n
    renormalise_every = n_epochs // 10 if n_epochs >= 10 else 0
    trace: list[Tensor] = []
    for epoch in range(1, n_epochs + 1):
        if stop is not None and stop():
            raise Cancelled(f"the run was cancelled during an SAE fit (epoch {epoch} of at most {n_epochs})")
        _unit_columns_(we)
        _unit_columns_(wd)
        if observe is not None:
            observe(epoch, sae)
        xc = x - bp
        pre = torch.addmm(be, xc, we)  # the one full product: which entries are active
        rows = (pre.amax(dim=1) > 0).nonzero().squeeze(1)  # max reductions: faster than any()
        diff = bp - x  # recon - x where no feature fires
        if rows.numel():
            cols = (pre.amax(dim=0) > 0).nonzero().squeeze(1)
            acts = pre.index_select(0, rows).index_select(1, cols).clamp_min_(0)  # [r, c]
            wd_c = wd.index_select(0, cols)  # [c, d]
            diff.index_add_(0, rows, acts @ wd_c)
            l1_term = acts.sum()
        else:
            l1_term = x.new_zeros(())
        trace.append(diff.square().mean() + l1 * l1_term / n)
        g_rec = diff.mul_(g_scale)  # [n, d]
        g_bp = g_rec.sum(dim=0)
        if rows.numel():
            g_rows = g_rec.index_select(0, rows)
            g_wd_c = acts.T @ g_rows  # [c, d]
            g_pre = (g_rows @ wd_c.T).add_(g_l1).mul_(acts > 0)  # [r, c]
            g_we_c = xc.index_select(0, rows).T @ g_pre  # [d, c]
            g_be_c = g_pre.sum(dim=0)
            we_c = we.index_select(1, cols)
            g_bp.sub_(we_c @ g_be_c)
            # the projection of W_enc's gradient: zero outside the active columns
            g_we_c.sub_((g_we_c * we_c).sum(dim=0, keepdim=True) * we_c)
            g_we = torch.zeros_like(we).index_copy_(1, cols, g_we_c)
            g_be = torch.zeros_like(be).index_copy_(0, cols, g_be_c)
            along = (g_wd_c * wd_c).sum(dim=0, keepdim=True)  # [1, d]: W_dec's projection
            g_wd = (wd * along).neg_().index_add_(0, cols, g_wd_c)
        else:
            g_we, g_be, g_wd = torch.zeros_like(we), torch.zeros_like(be), torch.zeros_like(wd)
        W_enc.grad, W_dec.grad, b_enc.grad, b_pre.grad = g_we, g_wd, g_be, g_bp
        opt.step()
        if renormalise_every and (epoch - 1) % renormalise_every == 0:
            _unit_columns_(we)  # as the exact loop: the reference's eval pass renormalises
            _unit_columns_(wd)
    _unit_columns_(we)
    _unit_columns_(wd)
    if observe is not None:
        observe(len(trace) + 1, sae)
    return torch.stack(trace).tolist() if trace else []
