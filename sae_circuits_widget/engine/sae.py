"""The discrete sparse autoencoder: one small SAE over every head's output, then codes.

A sparse autoencoder maps a ``d_model`` vector to ``n_features`` non-negative feature
activations (ReLU encoder) and reconstructs it as a weighted sum of dictionary vectors
(the decoder). A tied *pre-encoder bias* ``b_pre`` is subtracted before encoding and
added back after decoding. Training minimises

    MSE (mean over vectors and dimensions) + l1 * mean over vectors of sum_f |a_f|

The sparsity term is the L1 norm of each vector's activations, averaged over vectors,
as in the authors' code: a mean over features as well would make ``l1`` 200 times
weaker at 200 features. At the reference strength most (prompt, head) vectors have no
active feature at all, which is what makes a code informative.

*Discretising* turns each head-output vector into one integer: the index of its most
active feature (its **code**). Circuit heads produce codes on positive prompts that never
occur on negatives; ``scoring`` counts them.

Recipes
-------
``recipe="paper"`` follows the authors' implementation (github charlieoneill11/sae-circuits,
``src/sae.py``, ``src/train.py``, ``src/main.py``) point by point:

* initialisation, drawn from one generator in this order (the reference uses torch's
  global generator; ``discover`` first draws the training prompts from the same one):
  encoder weights ``[n_features, d_model]`` standard normal, each feature's encoder
  vector scaled to unit norm; encoder bias uniform in ``+-1/sqrt(d_model)``; decoder
  weights ``[d_model, n_features]`` standard normal, normalised along the *feature* axis
  (see below); ``b_pre`` zero. Encoder and decoder are drawn independently (no tying).
* the unit-norm constraint is applied at the start of every forward pass, and a
  gradient projection removes the component of each constrained vector's gradient that
  is parallel to it (the reference does this in a backward hook; here it is applied to
  ``.grad`` between ``backward`` and the optimiser step: the same arithmetic);
* Adam (lr 1e-3), 500 full-batch epochs on raw (unscaled) inputs.

A quirk kept on purpose: the reference's decoder is a ``Linear(n_features, d_model)``
whose weight ``[d_model, n_features]`` it normalises along its last axis, so what has unit
norm is, for each output dimension, the vector of its weights over features, not each
feature's dictionary vector (its own docstring says columns; the code normalises rows).
Here ``W_dec`` is ``[n_features, d_model]``, so the paper recipe normalises ``W_dec``
along axis 0. The dictionary vectors therefore have norms near ``sqrt(d_model / n_features)``.

``recipe="stable"`` makes the fit dependable on any model:

* inputs divided by one scalar (the root-mean-square vector norm of the training set,
  stored in the SAE) so that ``l1`` means the same on a model whose head outputs are
  tiny or huge;
* ``W_enc = W_dec.T`` at the start, dictionary vectors (rows of ``W_dec``) kept at
  unit norm after every step, encoder bias zero, ``b_pre`` starting at the training mean,
  so features model deviations from the typical head output rather than the offset
  every head shares;
* a convergence stop: training ends once the codes of the training vectors (what the
  method actually uses) have not changed for ``patience`` epochs and the loss has
  improved by less than ``tol`` (relative) over them; at most ``max_epochs``.

Silent vectors
--------------
The argmax of an all-zero activation row is index 0, which is *not* a real code; the
reference's argmax gives such a vector code 0 all the same. Every recipe here departs
from the reference on this one point: a vector on which no feature fires gets code
``-1`` ("silent", no code), and ``-1`` never counts as a code in any score: a head whose
positive vectors are all silent cannot score from them, and a silent negative does not
cancel any positive code. ``discover`` reports the share of silent vectors
(``silent_fraction``).

Encoding in chunks
------------------
``codes`` and ``live_features`` never build the whole ``[n_vectors, n_features]``
activation matrix: 20,000 prompts of a 24-head model are 480,000 vectors, 384 MB of
activations at 200 features (and every elementwise step of the encoder makes another
such matrix). They encode ``chunk_rows`` vectors at a time (``ENCODE_CHUNK_BYTES`` of
activations, a multiple of 64 rows) and keep one integer per vector. A chunk's rows give
the same activations as the same rows of an all-at-once encoding: BLAS only changes its
summation order for matrices of very few rows, so a short tail (under 64 rows) is folded
into the chunk before it, and an input that fits one chunk is encoded in one call
exactly as before.

Everything is seeded: initialisation uses its own CPU ``torch.Generator``; full-batch
Adam on the CPU is deterministic, so the same seed gives bitwise-identical codes across
runs and processes. ``fit_sae(..., device="cuda")`` trains on a GPU (``discover`` does so
for a model on a GPU): results there are close, not bitwise, and the fitted SAE is
returned on the CPU.

Speed, exactly
--------------
On the bundled model a fit is 240 vectors x 128 dimensions x 200 features: each of an
epoch's six matrix products (two forward, four backward) is 12 MFLOP, a fraction of a
millisecond, and most of an epoch is the hundred or so small operations around them. The
training loop therefore does only the recipe's arithmetic: Adam is ``_Adam`` (torch's
single-tensor Adam, the same operations through torch's multi-tensor calls) and the
gradient projection reuses the weights the constraint has just laid out in the
reference's layout. ``fit_saes`` fits the members of an ensemble in parallel threads,
each on one intra-op thread. Both leave every floating-point operation as it was, so
weights, losses and codes are bitwise those of a plain loop with ``torch.optim.Adam``
fitting one member after another (``tests/test_speed.py``; ``benchmarks/speed.py``
times both). Stopping the paper recipe early is not offered: its training codes never
settle within its 500 epochs, and fits stopped sooner score differently
(``benchmarks/results/speed.txt``).

``fit="sparse"`` trades those bits for speed: ``sparse_fit.train_sparse`` runs the
same recipe without the products of zeros (after the first hundred or so epochs under 1%
of the activations are non-zero), equal to this loop up to rounding.

(Over 500 lines: the SAE, its training loop, the ensemble's parallel fits, encoding in
chunks and the fit cache share the recipe's details and are kept together.)
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Optional

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from ..errors import Cancelled
from ..settings import FITS
from .sparse_fit import train_sparse

RECIPES = ("paper", "stable")
NO_CODE = -1
"""The code of a vector on which no SAE feature fires."""
ENCODE_CHUNK_BYTES = 16 * 2**20
"""Activations (float32) held at once while encoding many vectors (``encode_chunks``)."""
MIN_CHUNK_ROWS = 64
"""Chunks are a multiple of this many vectors, and no chunk is shorter (see the module docstring)."""


@dataclass
class SAEConfig:
    """Settings of one SAE fit (see the module docstring for the recipes)."""

    d_model: int
    n_features: int = 200
    l1: float = 0.02
    lr: float = 1e-3
    recipe: str = "paper"
    epochs: int = 500
    """Epochs of the paper recipe (fixed)."""
    max_epochs: int = 2000
    """Upper bound for the stable recipe."""
    tol: float = 0.05
    """Stable recipe: stop once the loss improved by less than this (relative) over ``patience`` epochs..."""
    patience: int = 100
    """...and the training codes have not changed for ``patience`` epochs."""
    seed: int = 0


class DiscreteSAE(nn.Module):
    """ReLU sparse autoencoder with a tied pre-encoder bias; see the module docstring.

    ``W_enc`` is ``[d_model, n_features]``, ``W_dec`` is ``[n_features, d_model]`` (row f
    is feature f's dictionary vector). ``generator`` draws the initial weights (default:
    a fresh one seeded with ``cfg.seed``).

    Example:
        >>> sae = DiscreteSAE(SAEConfig(d_model=8, n_features=16))
        >>> sae.encode(torch.randn(3, 8)).shape
        torch.Size([3, 16])
    """

    input_scale: Tensor
    """The scalar the inputs are divided by (1 in the paper recipe); a buffer."""

    def __init__(self, cfg: SAEConfig, generator: Optional[torch.Generator] = None):
        super().__init__()
        self.cfg = cfg
        gen = generator if generator is not None else torch.Generator().manual_seed(int(cfg.seed))
        d, f = int(cfg.d_model), int(cfg.n_features)
        if cfg.recipe == "paper":
            # The reference's draw order: encoder weight, encoder bias, decoder weight.
            enc = _unit(torch.empty(f, d).normal_(0.0, 1.0, generator=gen), dim=1)
            bound = 1.0 / math.sqrt(d)
            b_enc = torch.empty(f).uniform_(-bound, bound, generator=gen)
            dec = _unit(torch.empty(d, f).normal_(0.0, 1.0, generator=gen), dim=1)
            w_enc, w_dec = enc.T.clone(), dec.T.clone()
        else:
            w_dec = _unit(torch.randn(f, d, generator=gen), dim=1)
            w_enc, b_enc = w_dec.T.clone(), torch.zeros(f)
        self.W_enc = nn.Parameter(w_enc)  # [d_model, n_features]
        self.W_dec = nn.Parameter(w_dec)  # [n_features, d_model]
        self.b_enc = nn.Parameter(b_enc)
        self.b_pre = nn.Parameter(torch.zeros(d))
        self.register_buffer("input_scale", torch.ones(()))
        self.losses: list[float] = []
        self.epochs_run = 0

    def encode(self, x: Float[Tensor, "... d_model"]) -> Float[Tensor, "... n_features"]:
        """Feature activations (non-negative) of vectors in the model's units."""
        x = x / self.input_scale
        return torch.relu((x - self.b_pre) @ self.W_enc + self.b_enc)

    def decode(self, acts: Float[Tensor, "... n_features"]) -> Float[Tensor, "... d_model"]:
        """Reconstruction in the model's units."""
        return (acts @ self.W_dec + self.b_pre) * self.input_scale

    def forward(self, x: Float[Tensor, "... d_model"]) -> tuple[Tensor, Tensor]:
        acts = self.encode(x)
        return self.decode(acts), acts

    @torch.no_grad()
    def normalize_decoder(self) -> None:
        """Apply the recipe's unit-norm constraint (see the module docstring)."""
        if self.cfg.recipe == "paper":
            self._normalize_paper()
        else:
            self.W_dec.copy_(_unit(self.W_dec, dim=1))  # each dictionary vector

    @torch.no_grad()
    def _normalize_paper(self) -> tuple[Tensor, Tensor]:
        """The paper recipe's constraint; returns the constrained weights in the
        reference's layout (``[n_features, d_model]`` and ``[d_model, n_features]``,
        contiguous), equal to ``W_enc.T.contiguous()`` and ``W_dec.T.contiguous()`` after it."""
        # In the reference's layout (contiguous [n_features, d_model] encoder and
        # [d_model, n_features] decoder weights, unit norm along the last axis), so that
        # the norms are reduced in the same order and the result is bitwise the same.
        enc = _unit(self.W_enc.T.contiguous(), dim=1)  # each feature's encoder vector
        dec = _unit(self.W_dec.T.contiguous(), dim=1)  # the reference's decoder axis
        self.W_enc.copy_(enc.T)
        self.W_dec.copy_(dec.T)
        return enc, dec

    @torch.no_grad()
    def project_gradients(self, layouts: Optional[tuple[Tensor, Tensor]] = None) -> None:
        """Paper recipe: drop the part of each constrained vector's gradient parallel to it.

        For a unit vector ``w`` with gradient ``g`` the step keeps ``g - (g . w) w``, which
        moves ``w`` along the sphere. The constrained vectors are the columns of ``W_enc``
        and of ``W_dec`` (axis 0), as in ``normalize_decoder``. ``layouts``: the weights
        in the reference's layout if the caller has them (``_normalize_paper``'s result,
        when the weights have not changed since), else they are copied here.
        """
        for i, w in enumerate((self.W_enc, self.W_dec)):
            if w.grad is not None:
                # the reference's arithmetic in its layout (einsum dot products), bitwise;
                # the outer product "o,oi->oi" has no sum, so it is one rounded product
                # per entry, which is what ``*`` computes
                g = w.grad.T.contiguous()
                wt = layouts[i] if layouts is not None else w.detach().T.contiguous()
                along = torch.einsum("oi,oi->o", g, wt)
                unit = wt / torch.norm(wt, dim=-1, keepdim=True)
                w.grad.copy_((g - along[:, None] * unit).T)

    def loss(self, x: Float[Tensor, "n d_model"]) -> Tensor:
        """``MSE + l1 * mean_vectors(sum_features |acts|)`` in the units the SAE trains in."""
        return self.scaled_loss(x / self.input_scale)

    def scaled_loss(self, xs: Float[Tensor, "n d_model"]) -> Tensor:
        """``loss`` of inputs already divided by ``input_scale`` (the training loop
        divides once, not every epoch). The activations are ReLU outputs, so their L1
        norm is their sum over features."""
        acts = torch.relu((xs - self.b_pre) @ self.W_enc + self.b_enc)
        recon = acts @ self.W_dec + self.b_pre
        # paper: the L1 norm as the reference computes it (torch.norm, p=1): the same
        # gradient as a sum, and a loss value reduced in the same order
        l1 = torch.norm(acts, p=1, dim=-1) if self.cfg.recipe == "paper" else acts.sum(dim=-1)
        return ((recon - xs) ** 2).mean() + self.cfg.l1 * l1.mean()

    @torch.no_grad()
    def codes(self, x: Float[Tensor, "... d_model"], chunk_rows: Optional[int] = None) -> Int[Tensor, "..."]:
        """Code of each vector: its most active feature, or ``-1`` if none fires.

        Encodes ``chunk_rows`` vectors at a time (default: ``default_chunk_rows``), so
        memory stays at one chunk's activations whatever the number of vectors; the codes
        are those of encoding everything at once (see the module docstring).

        Example:
            >>> sae = DiscreteSAE(SAEConfig(d_model=8, n_features=16))
            >>> x = torch.randn(300, 8)
            >>> torch.equal(sae.codes(x, chunk_rows=64), codes_from_activations(sae.encode(x)))
            True
        """
        flat = x.reshape(-1, x.shape[-1])
        out = torch.empty(flat.shape[0], dtype=torch.long, device=flat.device)
        for start, stop, acts in self.encode_chunks(flat, chunk_rows):
            out[start:stop] = codes_from_activations(acts)
        return out.reshape(x.shape[:-1])

    @torch.no_grad()
    def encode_chunks(
        self, x: Float[Tensor, "n d_model"], chunk_rows: Optional[int] = None
    ) -> Iterator[tuple[int, int, Float[Tensor, "chunk n_features"]]]:
        """``(start, stop, encode(x[start:stop]))`` over ``x`` in chunks of ``chunk_rows``
        vectors (at least ``MIN_CHUNK_ROWS``; a shorter tail joins the chunk before it)."""
        rows = default_chunk_rows(self.cfg.n_features) if chunk_rows is None else int(chunk_rows)
        for start, stop in chunk_bounds(int(x.shape[0]), max(rows, MIN_CHUNK_ROWS)):
            yield start, stop, self.encode(x[start:stop])

    def state(self) -> dict[str, Any]:
        """JSON-ready weights and settings (for saving a result)."""
        return {
            "config": asdict(self.cfg),
            "weights": {k: v.detach().cpu().tolist() for k, v in self.state_dict().items()},
            "epochs_run": self.epochs_run,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "DiscreteSAE":
        sae = cls(SAEConfig(**state["config"]))
        sae.load_state_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in state["weights"].items()})
        sae.epochs_run = int(state.get("epochs_run", 0))
        return sae


def _unit(w: Tensor, dim: int) -> Tensor:
    """``w`` scaled to unit norm along ``dim`` (norms below 1e-12 are taken as 1e-12)."""
    return w / w.norm(dim=dim, keepdim=True).clamp_min(1e-12)


def default_chunk_rows(n_features: int, chunk_bytes: Optional[int] = None) -> int:
    """Vectors per encoding chunk: ``chunk_bytes`` (default ``ENCODE_CHUNK_BYTES``) of
    float32 activations, rounded down to a multiple of ``MIN_CHUNK_ROWS`` (at least that).

    Example:
        >>> default_chunk_rows(200)
        20928
    """
    budget = ENCODE_CHUNK_BYTES if chunk_bytes is None else int(chunk_bytes)
    rows = budget // (4 * max(1, int(n_features)))
    return max(MIN_CHUNK_ROWS, rows - rows % MIN_CHUNK_ROWS)


def chunk_bounds(n: int, rows: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of consecutive chunks of ``rows`` (>= 1) over ``n`` items; a last
    chunk shorter than ``min(rows, MIN_CHUNK_ROWS)`` joins the one before it.

    Example:
        >>> chunk_bounds(150, 64)
        [(0, 64), (64, 150)]
    """
    starts = list(range(0, n, rows))
    if len(starts) > 1 and n - starts[-1] < min(rows, MIN_CHUNK_ROWS):
        starts.pop()
    return list(zip(starts, starts[1:] + [n]))


def codes_from_activations(acts: Float[Tensor, "... n_features"]) -> Int[Tensor, "..."]:
    """Argmax feature per vector; ``-1`` where every activation is zero (dead row).

    Example:
        >>> codes_from_activations(torch.tensor([[0.0, 2.0, 1.0], [0.0, 0.0, 0.0]]))
        tensor([ 1, -1])
    """
    best = acts.argmax(dim=-1)
    live = acts.amax(dim=-1) > 0
    return torch.where(live, best, torch.full_like(best, NO_CODE))


def fit_sae(
    x_train: Float[Tensor, "n d_model"],
    *,
    n_features: int = 200,
    l1: float = 0.02,
    seed: int = 0,
    recipe: str = "paper",
    lr: float = 1e-3,
    epochs: int = 500,
    max_epochs: int = 2000,
    tol: float = 0.05,
    patience: int = 100,
    device: Any = None,
    generator: Optional[torch.Generator] = None,
    stop: Optional[Callable[[], bool]] = None,
    observe: Optional[Callable[[int, "DiscreteSAE"], None]] = None,
    fit: str = "exact",
) -> DiscreteSAE:
    """Train one SAE on ``x_train`` (full batch) with the chosen recipe.

    ``fit``: ``"exact"`` (the default) runs the training loop whose every floating-point
    operation is the reference's (bitwise the authors' code); ``"sparse"`` (paper recipe
    only) runs ``sparse_fit.train_sparse``, the same arithmetic without the products of
    zeros, equal up to rounding and several times faster once the penalty has made the
    activations sparse.

    ``generator`` draws the initial weights (default: one seeded with ``seed``);
    ``discover``'s paper recipe passes the generator it drew the training prompts from.
    ``stop`` is polled before every epoch; when it returns True training ends with
    ``errors.Cancelled`` (the arithmetic of the epochs run is unchanged). ``observe``, if
    given, is called as ``observe(epoch, sae)`` before each epoch's forward pass (after
    the paper recipe's constraint: the weights that pass encodes with) and once more with
    the final weights (``epoch = epochs_run + 1``); it must not change the SAE. It is how
    ``benchmarks/speed.py`` follows the codes during a fit.

    Example:
        >>> sae = fit_sae(torch.randn(40, 8), n_features=16, seed=0)
        >>> len(sae.losses)
        500
    """
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    if fit == "sparse" and recipe != "paper":
        raise ValueError("fit='sparse' is a training loop of the paper recipe; use fit='exact' with recipe='stable'")
    device = torch.device(device) if device is not None else x_train.device
    x = x_train.detach().float().to(device)
    cfg = SAEConfig(
        d_model=int(x.shape[-1]), n_features=n_features, l1=l1, lr=lr, recipe=recipe,
        epochs=epochs, max_epochs=max_epochs, tol=tol, patience=patience, seed=seed,
    )
    sae = DiscreteSAE(cfg, generator).to(device)  # initialised on the CPU generator, then moved
    if recipe == "stable":
        with torch.no_grad():
            rms = x.pow(2).sum(dim=-1).mean().sqrt()
            sae.input_scale.fill_(float(rms) if float(rms) > 0 else 1.0)
            sae.b_pre.copy_((x / sae.input_scale).mean(dim=0))
    n_epochs = epochs if recipe == "paper" else max_epochs
    # Small problems run fastest on one thread (and do not fight other processes for cores).
    from .activations import few_threads

    with few_threads(is_small_fit(x.shape, n_features, device)):
        if fit == "sparse":
            losses = train_sparse(sae, x, n_epochs, stop, observe)
        else:
            losses = _train(sae, x, n_epochs, tol, patience, stop, observe)
    sae.losses = losses
    sae.epochs_run = len(losses)
    sae.eval()
    return sae.cpu()


SMALL_FIT_WORK = 20_000_000
"""``vectors * d_model * n_features`` below which a CPU fit runs on one thread."""


def is_small_fit(shape: Sequence[int], n_features: int, device: Any = "cpu") -> bool:
    """Whether a fit on vectors of ``shape`` ``[n, d_model]`` runs on one CPU thread
    (each product is then too small for a second thread to pay for its start).

    Example:
        >>> is_small_fit((240, 128), 200), is_small_fit((1440, 768), 200)
        (True, False)
    """
    return torch.device(device).type == "cpu" and int(shape[0]) * int(shape[1]) * int(n_features) < SMALL_FIT_WORK


# torch's multi-tensor operations, the ones ``torch.optim.Adam(foreach=True)`` calls
_foreach_lerp_ = torch._foreach_lerp_  # pyright: ignore[reportPrivateImportUsage]
_foreach_mul_ = torch._foreach_mul_  # pyright: ignore[reportPrivateImportUsage]
_foreach_addcmul_ = torch._foreach_addcmul_  # pyright: ignore[reportPrivateImportUsage]
_foreach_sqrt = torch._foreach_sqrt  # pyright: ignore[reportPrivateImportUsage]
_foreach_div_ = torch._foreach_div_  # pyright: ignore[reportPrivateImportUsage]
_foreach_add_ = torch._foreach_add_  # pyright: ignore[reportPrivateImportUsage]
_foreach_addcdiv_ = torch._foreach_addcdiv_  # pyright: ignore[reportPrivateImportUsage]


class _Adam:
    """``torch.optim.Adam`` (``foreach=False``, no weight decay) with the same arithmetic.

    Each step does, per parameter and in the same order, exactly the floating-point
    operations of torch's single-tensor Adam (``lerp_``, ``mul_``, ``addcmul_``, ``sqrt``,
    division by the bias correction, ``add_(eps)``, ``addcdiv_``), with the bias
    corrections computed in Python floats as torch computes them. It calls torch's
    ``_foreach`` ops, which on the CPU run the same per-tensor kernels one parameter after
    another, so the parameters are bitwise those of ``torch.optim.Adam`` (checked in
    ``tests/test_speed.py``) at a fraction of the optimiser's per-step Python work.
    """

    def __init__(self, params: Sequence[Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.params = list(params)
        self.lr, (self.beta1, self.beta2), self.eps = float(lr), betas, float(eps)
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params if p.grad is not None]
        if len(grads) != len(self.params):  # every parameter enters the SAE's loss
            raise RuntimeError("an SAE parameter has no gradient; run loss.backward() before step()")
        self.steps += 1
        step = float(self.steps)  # torch keeps the count in a float32 tensor and reads it back
        _foreach_lerp_(self.exp_avg, grads, 1 - self.beta1)
        _foreach_mul_(self.exp_avg_sq, self.beta2)
        _foreach_addcmul_(self.exp_avg_sq, grads, grads, value=1 - self.beta2)
        step_size = self.lr / (1 - self.beta1**step)
        bias_correction2_sqrt = (1 - self.beta2**step) ** 0.5
        denom = _foreach_sqrt(self.exp_avg_sq)
        _foreach_div_(denom, bias_correction2_sqrt)
        _foreach_add_(denom, self.eps)
        _foreach_addcdiv_(self.params, self.exp_avg, denom, value=-step_size)


def _optimiser(sae: DiscreteSAE, device: torch.device) -> Any:
    """The recipe's Adam over ``W_enc, W_dec, b_enc, b_pre``: ``_Adam`` on the CPU."""
    params = [sae.W_enc, sae.W_dec, sae.b_enc, sae.b_pre]
    if device.type == "cpu":
        return _Adam(params, lr=sae.cfg.lr)
    return torch.optim.Adam(params, lr=sae.cfg.lr, foreach=False)


def _train(
    sae: DiscreteSAE, x: Tensor, n_epochs: int, tol: float, patience: int,
    stop: Optional[Callable[[], bool]] = None, observe: Optional[Callable[[int, DiscreteSAE], None]] = None,
) -> list[float]:
    # The per-epoch work is the arithmetic and little else: the inputs are scaled once
    # (``input_scale`` is fixed while training), gradients are dropped by assignment, the
    # paper recipe's gradient projection reuses the weights its constraint has just laid
    # out in the reference's layout, Adam is ``_Adam`` on the CPU, and losses stay tensors
    # until the end instead of a sync to a Python float every epoch. The floating-point
    # operations are the same as a plain loop's with ``torch.optim.Adam``, in the same
    # order, so results are bitwise unchanged (tests/test_speed.py).
    recipe = sae.cfg.recipe
    check_every = 10
    last_codes: Optional[Tensor] = None
    stable_since = 0
    xs = x / sae.input_scale
    params = [sae.W_enc, sae.W_dec, sae.b_enc, sae.b_pre]
    opt = _optimiser(sae, x.device)
    trace: list[Tensor] = []
    paper = recipe == "paper"
    renormalise_every = n_epochs // 10 if n_epochs >= 10 else 0
    for epoch in range(1, n_epochs + 1):
        if stop is not None and stop():
            raise Cancelled(f"the run was cancelled during an SAE fit (epoch {epoch} of at most {n_epochs})")
        for p in params:
            p.grad = None
        layouts = sae._normalize_paper() if paper else None  # the reference constrains at the start of each forward
        if observe is not None:
            observe(epoch, sae)
        loss = sae.scaled_loss(xs)
        loss.backward()
        if paper:
            sae.project_gradients(layouts)
        opt.step()
        if not paper:
            sae.normalize_decoder()
        elif renormalise_every and (epoch - 1) % renormalise_every == 0:
            # the reference's eval pass (after the step of its epochs 0, 50, ...) runs a
            # forward, which renormalises the weights once more before the next epoch
            sae.normalize_decoder()
        trace.append(loss.detach())
        if recipe != "stable" or epoch % check_every:
            continue
        # Convergence stop: the codes of the training vectors have not changed for
        # `patience` epochs and the loss has improved by less than `tol` (relative).
        codes = sae.codes(x)
        if last_codes is not None and torch.equal(codes, last_codes):
            stable_since += check_every
        else:
            stable_since = 0
        last_codes = codes
        if stable_since >= patience and len(trace) > patience:
            before, now = float(trace[-patience - 1]), float(trace[-1])
            if before - now <= tol * abs(before):
                break
    if paper:
        sae.normalize_decoder()  # the weights the reference encodes with after training
    if observe is not None:
        observe(len(trace) + 1, sae)
    return torch.stack(trace).tolist() if trace else []


def fit_saes(
    x_trains: Sequence[Float[Tensor, "n d_model"]],
    seeds: Sequence[int],
    *,
    generators: Optional[Sequence[Optional[torch.Generator]]] = None,
    workers: int = 1,
    stop: Optional[Callable[[], bool]] = None,
    **fit_args: Any,
) -> list[DiscreteSAE]:
    """One ``fit_sae(x_trains[k], seed=seeds[k], generator=generators[k], **fit_args)``
    per member of an ensemble, in that order, ``workers`` at a time.

    Fits that run on one CPU thread (``is_small_fit``: the bundled model's) run in
    parallel threads, at most ``workers`` at once, each on one intra-op thread: every
    member is the same sequence of floating-point operations as when fitted alone, so
    the SAEs are bitwise those of ``fit_sae`` one after another (tests/test_speed.py);
    torch releases the interpreter lock inside its operations, so the threads overlap.
    Larger fits (several threads each) and GPU fits run one after another. ``stop`` is
    polled by every fit; once it returns True, or one fit fails, the others stop at their
    next epoch and the first error is raised (a failure before a cancellation).

    Example:
        >>> xs = [torch.randn(40, 8), torch.randn(40, 8)]
        >>> a = fit_saes(xs, [0, 1], workers=2, n_features=16, epochs=20)
        >>> b = [fit_sae(x, seed=s, n_features=16, epochs=20) for x, s in zip(xs, [0, 1])]
        >>> all(torch.equal(p.W_enc, q.W_enc) for p, q in zip(a, b))
        True
    """
    n = len(x_trains)
    if len(seeds) != n or (generators is not None and len(generators) != n):
        raise ValueError(f"fit_saes needs one seed (and generator) per training set: {n} sets, {len(seeds)} seeds")
    gens = list(generators) if generators is not None else [None] * n
    n_features = int(fit_args.get("n_features", 200))
    device = fit_args.get("device")
    parallel = int(workers) > 1 and n > 1 and all(
        is_small_fit(x.shape, n_features, device if device is not None else x.device) for x in x_trains
    )
    if not parallel:
        return [fit_sae(x, seed=s, generator=g, stop=stop, **fit_args) for x, s, g in zip(x_trains, seeds, gens)]
    from concurrent.futures import ThreadPoolExecutor

    halt = threading.Event()

    def halted() -> bool:
        if not halt.is_set() and stop is not None and stop():
            halt.set()
        return halt.is_set()

    def one(k: int) -> DiscreteSAE:
        torch.set_num_threads(1)  # thread-local in torch's OpenMP and MKL settings; one per fit as when sequential
        try:
            return fit_sae(x_trains[k], seed=seeds[k], generator=gens[k], stop=halted, **fit_args)
        except BaseException:
            halt.set()
            raise

    threads_before = torch.get_num_threads()
    try:
        with ThreadPoolExecutor(max_workers=min(int(workers), n), thread_name_prefix="sae-fit") as pool:
            futures = [pool.submit(one, k) for k in range(n)]
            errors = [f.exception() for f in futures]
    finally:
        torch.set_num_threads(threads_before)
    failures = [e for e in errors if e is not None]
    if failures:
        raise next((e for e in failures if not isinstance(e, Cancelled)), failures[0])
    return [f.result() for f in futures]


def fit_key(
    train_texts: Sequence[str], x_train: Float[Tensor, "n d_model"], **fit_settings: Any
) -> tuple[Hashable, ...]:
    """What determines an SAE fit, as a hashable key for ``SAECache``.

    The texts of the training prompts (in order) and the fit settings (position, seed,
    n_features, l1, recipe, device, ...) identify the fit; a digest of the training
    vectors themselves is added, so a fit is never reused after the model's weights
    change under the same texts.

    Example:
        >>> x = torch.ones(4, 8)
        >>> fit_key(["a", "b"], x, seed=0) == fit_key(["a", "b"], x, seed=0)
        True
        >>> fit_key(["a", "b"], x, seed=0) == fit_key(["a", "c"], x, seed=0)
        False
    """
    data = x_train.detach().float().cpu().contiguous().numpy()
    digest = hashlib.blake2b(data.tobytes(), digest_size=16).hexdigest()
    return (tuple(str(t) for t in train_texts), tuple(sorted(fit_settings.items())), tuple(data.shape), digest)


class SAECache:
    """Fitted SAEs by ``fit_key``, at most ``maxsize``, least recently used dropped first.

    ``Session`` keeps one, so that a run after editing a prompt outside the training
    set reuses the SAE instead of fitting it again (the fit is most of a run's time).
    ``fits`` and ``hits`` count fits stored and fits reused. Thread-safe.

    Example:
        >>> cache = SAECache(maxsize=2)
        >>> sae = fit_sae(torch.randn(20, 8), n_features=16, epochs=5)
        >>> cache.put(("k",), sae); cache.get(("k",)) is sae
        True
    """

    def __init__(self, maxsize: int = 8):
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize must be an int >= 1, got {maxsize!r}")
        self.maxsize = maxsize
        self.fits = 0
        self.hits = 0
        self._items: "OrderedDict[Hashable, DiscreteSAE]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Optional[DiscreteSAE]:
        """The SAE stored under ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            sae = self._items.get(key)
            if sae is not None:
                self._items.move_to_end(key)
                self.hits += 1
            return sae

    def put(self, key: Hashable, sae: DiscreteSAE) -> None:
        """Store a freshly fitted SAE, dropping the least recently used beyond ``maxsize``."""
        with self._lock:
            self._items[key] = sae
            self._items.move_to_end(key)
            self.fits += 1
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items


def live_features(
    sae: DiscreteSAE, x: Float[Tensor, "n d_model"], chunk_rows: Optional[int] = None
) -> Int[Tensor, " n_live"]:
    """Indices of features that fire (> 0) on at least one vector of ``x`` (encoded in chunks)."""
    with torch.no_grad():
        fired = torch.zeros(int(sae.cfg.n_features), dtype=torch.bool, device=x.device)
        for _, _, acts in sae.encode_chunks(x.reshape(-1, x.shape[-1]), chunk_rows):
            fired |= (acts > 0).any(dim=0)
        return fired.nonzero().flatten()


@torch.no_grad()
def code_meaning(model: Any, sae: DiscreteSAE, feature: int, k: int = 8) -> list[tuple[str, float]]:
    """What a code writes: the ``k`` tokens its decoder direction promotes most.

    The feature's dictionary vector lives in the residual stream. Read through the final
    LayerNorm (centred, then scaled elementwise by its weight; the per-prompt scale does
    not change the order) and the unembedding ``W_U`` it gives a score per vocabulary
    token. Special tokens (<bos>, <pad>, ...) are never predictions and are left out.

    Returns:
        ``[(token_text, logit_contribution), ...]``, best first. ``feature=-1`` (no
        code) returns ``[]``.

    Example:
        >>> code_meaning(model, result.sae, int(result.codes[0, 5]), k=5)  # doctest: +SKIP
        [(' Mary', 3.1), ...]
    """
    if feature == NO_CODE:
        return []
    if not (0 <= int(feature) < sae.cfg.n_features):
        raise ValueError(f"code {feature} does not exist: the SAE has codes 0-{sae.cfg.n_features - 1}")
    direction = sae.W_dec[int(feature)].detach().float().cpu()
    ln_weight = getattr(getattr(model, "ln_final", None), "weight", None)
    if isinstance(ln_weight, torch.Tensor) and ln_weight.shape == direction.shape:
        direction = (direction - direction.mean()) * ln_weight.detach().float().cpu()
    W_U = model.W_U.detach().float().cpu()  # [d_model, d_vocab]
    logits = direction @ W_U
    tokenizer = getattr(model, "tokenizer", None)
    special = [i for i in getattr(tokenizer, "all_special_ids", []) if 0 <= i < logits.shape[0]]
    logits[special] = float("-inf")
    k = max(0, min(int(k), logits.shape[0] - len(special)))
    values, ids = torch.topk(logits, k)
    out = []
    for v, i in zip(values.tolist(), ids.tolist()):
        text = tokenizer.decode([i]) if tokenizer is not None else str(i)
        out.append((text, float(v)))
    return out
