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
norms again) and Adam's arithmetic are the exact loop's, at the same points of the
epoch. At the bundled model's size (240 vectors, 128 dimensions, 200 features) an epoch
is a few dozen small operations, so their count sets the time: Adam runs once on one
flat buffer that holds all four parameters (``_FlatAdam``), the gradients are written
into views of one buffer, and the losses are summed up after the last epoch. In exact
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


def _dense(t: Tensor) -> bool:
    """Whether ``t``'s elements fill its span in some order (contiguous, or a 2-D
    transpose of contiguous: the paper recipe's ``W_enc`` and ``W_dec`` are kept in the
    reference's layout, and a flat view keeps it)."""
    return t.is_contiguous() or (t.dim() == 2 and t.T.is_contiguous())


class _FlatAdam:
    """``sae._Adam``'s update (torch's single-tensor Adam: ``lerp_``, ``mul_``,
    ``addcmul_``, ``sqrt``, division by the bias correction, ``add_(eps)``, ``addcdiv_``)
    on one flat buffer that holds every parameter: seven elementwise operations a step
    instead of seven per parameter. The parameters become views into ``flat`` with their
    own shapes and strides; their gradients are written into views of ``grad``."""

    def __init__(self, params: list[Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = params
        sizes = [p.numel() for p in params]
        self.flat = torch.empty(sum(sizes), dtype=params[0].dtype, device=params[0].device)
        self.grad = torch.zeros_like(self.flat)
        self.views, self.grads = [], []
        for p, chunk, g in zip(params, self.flat.split(sizes), self.grad.split(sizes)):
            stride = p.stride() if _dense(p) else torch.empty(p.shape).stride()
            view = chunk.as_strided(p.shape, stride)
            view.copy_(p.data)
            p.data = view
            self.views.append(view)
            self.grads.append(g.as_strided(p.shape, stride))
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), betas, float(eps)
        self.steps = 0

    def release(self) -> None:
        """Give each parameter its own storage again (same values, shape and strides), so
        that nothing outside this loop sees them share one buffer (``safetensors``, for
        one, refuses tensors that share memory)."""
        for p in self.params:
            p.data = p.data.clone()  # a dense tensor's clone keeps its strides

    def step(self) -> None:
        self.steps += 1
        step = float(self.steps)
        self.exp_avg.lerp_(self.grad, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(self.grad, self.grad, value=1 - self.beta2)
        denom = self.exp_avg_sq.sqrt().div_((1 - self.beta2**step) ** 0.5).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-self.lr / (1 - self.beta1**step))


@torch.no_grad()
def train_sparse(
    sae: Any, x: Tensor, n_epochs: int,
    stop: Optional[Callable[[], bool]] = None, observe: Optional[Callable[[int, Any], None]] = None,
) -> list[float]:
    """Run ``n_epochs`` full-batch epochs of the paper recipe on ``x`` (already in the
    SAE's units) on ``sae`` (a ``sae.DiscreteSAE``; not imported here, which ``sae``
    imports) with Adam at ``sae.cfg.lr`` over ``W_enc, W_dec, b_enc, b_pre``; returns the
    loss of each epoch. ``stop`` and ``observe`` as in ``fit_sae``."""
    W_enc, W_dec, b_enc, b_pre = sae.W_enc, sae.W_dec, sae.b_enc, sae.b_pre
    opt = _FlatAdam([W_enc, W_dec, b_enc, b_pre], lr=float(sae.cfg.lr))
    we, wd, be, bp = opt.views
    g_we, g_wd, g_be, g_bp = opt.grads
    n, d = int(x.shape[0]), int(x.shape[1])
    l1 = float(sae.cfg.l1)
    # d loss / d recon = 2 (recon - x) / (n d); d (l1 term) / d acts = l1 / n where acts > 0
    g_scale = 2.0 / (n * d)
    g_l1 = x.new_full((), l1 / n)
    renormalise_every = n_epochs // 10 if n_epochs >= 10 else 0
    squares: list[Tensor] = []  # sum of squared errors per epoch
    l1_terms: list[Tensor] = []  # sum of activations per epoch
    nothing = x.new_zeros(())
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
        active = bool(rows.numel())
        if active:
            cols = (pre.amax(dim=0) > 0).nonzero().squeeze(1)
            acts = pre.index_select(0, rows).index_select(1, cols).clamp_min_(0)  # [r, c]
            wd_c = wd.index_select(0, cols)  # [c, d]
            diff.index_add_(0, rows, acts @ wd_c)
            l1_terms.append(acts.sum())
        else:
            l1_terms.append(nothing)
        flat_diff = diff.view(-1)
        squares.append(torch.dot(flat_diff, flat_diff))
        g_rec = diff.mul_(g_scale)  # [n, d]
        opt.grad.zero_()
        torch.sum(g_rec, dim=0, out=g_bp)
        if active:
            g_rows = g_rec.index_select(0, rows)
            g_wd_c = acts.T @ g_rows  # [c, d]
            g_pre = torch.addmm(g_l1, g_rows, wd_c.T).mul_(acts.sign())  # [r, c]; acts >= 0: the ReLU's mask
            g_we_c = xc.index_select(0, rows).T @ g_pre  # [d, c]
            g_be_c = g_pre.sum(dim=0)
            we_c = we.index_select(1, cols)
            g_bp.addmv_(we_c, g_be_c, alpha=-1)
            # the projection of W_enc's gradient: zero outside the active columns
            g_we_c.addcmul_((g_we_c * we_c).sum(dim=0, keepdim=True), we_c, value=-1)
            g_we.index_copy_(1, cols, g_we_c)
            g_be.index_copy_(0, cols, g_be_c)
            along = (g_wd_c * wd_c).sum(dim=0, keepdim=True)  # [1, d]: W_dec's projection
            torch.mul(wd, along, out=g_wd).neg_().index_add_(0, cols, g_wd_c)
        opt.step()
        if renormalise_every and (epoch - 1) % renormalise_every == 0:
            _unit_columns_(we)  # as the exact loop: the reference's eval pass renormalises
            _unit_columns_(wd)
    _unit_columns_(we)
    _unit_columns_(wd)
    if observe is not None:
        observe(len(squares) + 1, sae)
    opt.release()
    if not squares:
        return []
    losses = torch.stack(squares) / (n * d) + l1 * torch.stack(l1_terms) / n
    return losses.tolist()
