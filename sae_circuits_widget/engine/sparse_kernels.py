"""The compiled body of ``sparse_fit``'s epoch (numba; CPU, float32).

After the encoder's product, an epoch of the sparse loop is a scan of the pre-activations
for the active entries, a few passes over the ``[n, d_model]`` residual, a loop over the
active entries, and Adam over every parameter: under a million floating-point operations
on the bundled model, which as separate torch operations cost more in dispatch than in
arithmetic. Here each of those is one compiled loop, and an epoch is one call.

The weights are kept feature-major: ``we[f]`` is feature ``f``'s encoder vector (a column
of ``W_enc``) and ``wd[f]`` its dictionary vector (a row of ``W_dec``), so every inner loop
runs over contiguous ``d_model`` floats. Sums run in whatever order the compiler
vectorises them (reassociation allowed; NaN and infinity semantics kept).
"""

from __future__ import annotations

import numba
import numpy as np

_FLAGS = {"reassoc", "contract", "nsz", "arcp"}  # no "nnan"/"ninf": a non-finite input stays visible


def _jit(fn):
    """Compile ``fn`` lazily (on its first call), without the GIL, with the cache on disk
    beside this file or in the user's cache folder; where neither can be written (a
    read-only install and no writable home), without the cache: each process then
    compiles on first use."""
    options = {"nogil": True, "fastmath": _FLAGS, "error_model": "numpy"}
    try:
        return numba.njit(cache=True, **options)(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return numba.njit(**options)(fn)


@_jit
def constrain(we: np.ndarray, wd: np.ndarray, norms: np.ndarray) -> None:  # pragma: no cover - compiled
    """The paper recipe's unit-norm constraint, in place: each feature's encoder vector
    (``we[f]``), and each ``d_model`` axis of the dictionary (``wd[:, j]``, the reference's
    decoder axis). Norms are clamped below at 1e-12, as ``torch``'s ``normalize``."""
    n_features, d = we.shape
    for f in range(n_features):
        s = np.float32(0.0)
        for j in range(d):
            s += we[f, j] * we[f, j]
        norm = max(np.sqrt(s), np.float32(1e-12))
        for j in range(d):
            we[f, j] /= norm
    norms[:] = 0.0
    for f in range(n_features):
        for j in range(d):
            norms[j] += wd[f, j] * wd[f, j]
    for j in range(d):
        norms[j] = max(np.sqrt(norms[j]), np.float32(1e-12))
    for f in range(n_features):
        for j in range(d):
            wd[f, j] /= norms[j]


@_jit
def epoch(
    pre, x, xc, we, wd, bp, params, grad, exp_avg, exp_avg_sq,
    diff, entries, values, active, along,
    g_scale, g_l1, step_size, bias_correction2_sqrt, beta1, beta2, eps,
):  # pragma: no cover - compiled
    """One epoch after the encoder's product ``pre = xc @ we.T + b_enc`` (``xc = x - b_pre``):
    the reconstruction on the active entries, the loss terms, the gradients of every
    parameter (with the paper recipe's projections), and one Adam step on ``params``.

    ``params``, ``grad``, ``exp_avg`` and ``exp_avg_sq`` are flat: ``we``, ``wd``, ``b_enc``
    and ``b_pre`` in that order (``we``, ``wd`` and ``bp`` are views of ``params``).
    ``diff`` ``[n, d]``, ``entries`` (int32, two per entry), ``values``, ``active``
    (``[n_features]`` bool) and ``along`` ``[d]`` are scratch. Adam is torch's
    single-tensor update (``lerp``, ``addcmul``, ``sqrt``, the bias corrections, ``eps``,
    ``addcdiv``); ``step_size`` is ``lr / (1 - beta1**t)``. Returns the sum of squared
    errors and the sum of activations (the two loss terms before their means).
    """
    n, n_features = pre.shape
    d = x.shape[1]
    size = n_features * d
    g_we = grad[:size].reshape((n_features, d))
    g_wd = grad[size:2 * size].reshape((n_features, d))
    g_be = grad[2 * size:2 * size + n_features]
    g_bp = grad[2 * size + n_features:]
    grad[:] = 0.0
    active[:] = False
    # the active entries (the ReLU's support) and the L1 term
    k = 0
    l1_sum = np.float32(0.0)
    for i in range(n):
        for f in range(n_features):
            a = pre[i, f]
            if a > 0:
                entries[2 * k] = i
                entries[2 * k + 1] = f
                values[k] = a
                active[f] = True
                l1_sum += a
                k += 1
    # reconstruction minus input
    for i in range(n):
        for j in range(d):
            diff[i, j] = bp[j] - x[i, j]
    for t in range(k):
        i, f, a = entries[2 * t], entries[2 * t + 1], values[t]
        for j in range(d):
            diff[i, j] += a * wd[f, j]
    # squared error; d loss / d recon = g_scale (recon - x); b_pre's direct gradient
    squares = np.float32(0.0)
    for i in range(n):
        for j in range(d):
            squares += diff[i, j] * diff[i, j]
            diff[i, j] *= g_scale
            g_bp[j] += diff[i, j]
    # through the active entries: W_dec, then the pre-activation (masked by the ReLU)
    for t in range(k):
        i, f, a = entries[2 * t], entries[2 * t + 1], values[t]
        g_pre = np.float32(0.0)
        for j in range(d):
            g_wd[f, j] += a * diff[i, j]
            g_pre += diff[i, j] * wd[f, j]
        g_pre += g_l1
        for j in range(d):
            g_we[f, j] += g_pre * xc[i, j]
        g_be[f] += g_pre
    # b_pre through the encoder (-W_enc @ g_be), and the projection of W_enc's gradient
    # off each (unit) encoder vector; both are zero outside the active features
    for f in range(n_features):
        if active[f]:
            s = np.float32(0.0)
            for j in range(d):
                g_bp[j] -= we[f, j] * g_be[f]
                s += g_we[f, j] * we[f, j]
            for j in range(d):
                g_we[f, j] -= s * we[f, j]
    # the projection of W_dec's gradient off each (unit) decoder axis
    along[:] = 0.0
    for f in range(n_features):
        for j in range(d):
            along[j] += g_wd[f, j] * wd[f, j]
    for f in range(n_features):
        for j in range(d):
            g_wd[f, j] -= wd[f, j] * along[j]
    # Adam
    for p in range(params.shape[0]):
        g = grad[p]
        exp_avg[p] += (g - exp_avg[p]) * (1 - beta1)
        exp_avg_sq[p] = exp_avg_sq[p] * beta2 + (1 - beta2) * g * g
        params[p] -= step_size * exp_avg[p] / (np.sqrt(exp_avg_sq[p]) / bias_correction2_sqrt + eps)
    return squares, l1_sum
