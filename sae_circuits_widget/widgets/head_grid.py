"""HeadGrid: a layers x heads heatmap of head scores, with the known circuit outlined.

The grid shows any ``CircuitResult`` (discrete SAE or a baseline). Scores travel to the
browser as one float32 buffer; the browser picks colours from a perceptually uniform,
colour-blind-safe scale (viridis or cividis, both readable in greyscale print). Clicking a
cell or moving with the arrow keys sets ``selected``, which Python can observe.

Under an ensemble of SAEs each cell also carries a second channel, the head's
*stability*: a bar along the cell's bottom edge as wide as the share of the ensemble's
SAEs whose top-k holds the head, and a tooltip line ("in the top 5 of 2/3 SAEs"). A head
with a high mean score but a short bar is one that a single seed put there.

Whole-number scores (the SAE's counts of codes unique to the positives) get a discrete
legend, one swatch per value with the number of heads at it, so ties read as ties; every
cell prints its value. When a score cannot be computed (``show_unavailable``, e.g. EAP
without answers), the grid gives way to the reason.

Example:
    >>> grid = HeadGrid(result, ground_truth=task.ground_truth)   # doctest: +SKIP
    >>> grid                                                       # doctest: +SKIP
    >>> grid.selected_head                                         # doctest: +SKIP
    (1, 2)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

import anywidget
import numpy as np
import traitlets as t
from jaxtyping import Float

from ..engine.result import CircuitResult
from ._common import (
    bundle,
    check_kwargs,
    float32_bytes,
    from_float32_bytes,
    head_stability,
    sae_run_value,
)


class HeadGrid(anywidget.AnyWidget):
    """Heatmap of one score per attention head; click or arrow keys select a head."""

    _esm = bundle("head_grid")

    n_layers = t.Int(0).tag(sync=True)
    """Number of layers (grid rows)."""
    n_heads = t.Int(0).tag(sync=True)
    """Heads per layer (grid columns)."""
    scores = t.Bytes(b"").tag(sync=True)
    """Scores as little-endian float32, ``n_layers * n_heads`` values, layer-major."""
    ground_truth = t.List(t.Int()).tag(sync=True)
    """Flat indices (``layer * n_heads + head``) of the known circuit's heads."""
    selected = t.Int(-1).tag(sync=True)
    """Selected head as a flat index; -1 for none. Set by clicks and arrow keys."""
    label = t.Unicode("score").tag(sync=True)
    """What the scores are, shown on the legend."""
    scale = t.Enum(["viridis", "cividis"], default_value="viridis").tag(sync=True)
    """Colour scale (both colour-blind safe and monotonic in lightness)."""
    message = t.Unicode("").tag(sync=True)
    """A note under the grid (e.g. why the scores carry no signal)."""
    show_values = t.Bool(True).tag(sync=True)
    """Print each value in its cell (helps in print and for exact reading)."""
    stability = t.Bytes(b"").tag(sync=True)
    """Per head, the share (0-1) of the ensemble's SAEs whose top ``top_k`` holds it, as
    float32 like ``scores``; empty when there is no ensemble (nothing drawn)."""
    n_saes = t.Int(0).tag(sync=True)
    """SAEs in the ensemble behind ``stability`` (0: no stability shown)."""
    top_k = t.Int(0).tag(sync=True)
    """The k of the top-k in ``stability``."""
    unavailable = t.Unicode("").tag(sync=True)
    """Why there are no scores to show ("" = there are): the page shows it instead of the grid."""

    _TRAITS = (
        "n_layers", "n_heads", "scores", "ground_truth", "selected", "label", "scale", "message", "show_values",
        "stability", "n_saes", "top_k",
    )

    def __init__(
        self,
        result: Optional[CircuitResult] = None,
        *,
        ground_truth: Optional[Iterable[tuple[int, int]]] = None,
        **traits: Any,
    ):
        check_kwargs("HeadGrid", traits, self._TRAITS)
        super().__init__(**traits)
        if result is not None:
            self.show_scores(
                result.node_scores, ground_truth, label=traits.get("label", f"{result.method} score"),
                **stability_of(result),
            )

    @t.validate("selected")
    def _valid_selected(self, proposal: Any) -> int:
        v = int(proposal["value"])
        if v < -1 or v >= max(self.n_layers * self.n_heads, 0):
            raise t.TraitError(
                f"selected must be -1 or a head index 0-{self.n_layers * self.n_heads - 1}, got {v}"
            )
        return v

    def show_scores(
        self,
        scores: Float[np.ndarray, "n_layers n_heads"],
        ground_truth: Optional[Iterable[tuple[int, int]]] = None,
        *,
        label: Optional[str] = None,
        message: str = "",
        stability: Optional[Float[np.ndarray, "n_layers n_heads"]] = None,
        n_saes: int = 0,
        top_k: int = 0,
    ) -> None:
        """Draw ``scores`` ``[n_layers, n_heads]``; heads in ``ground_truth`` are outlined.

        ``stability`` (same shape, shares in [0, 1]) with the ensemble's ``n_saes`` and
        its ``top_k`` adds the second channel; ``None`` clears it.
        """
        arr = np.asarray(scores, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"scores must be [n_layers, n_heads], got shape {arr.shape}")
        n_layers, n_heads = arr.shape
        stab = b""
        if stability is not None and n_saes > 1:
            share = np.asarray(stability, dtype=np.float64)
            if share.size != arr.size:
                raise ValueError(f"stability must be [n_layers, n_heads] like the scores {arr.shape}, got shape {share.shape}")
            stab = float32_bytes(np.clip(share, 0.0, 1.0))
        else:
            n_saes = top_k = 0
        gt = sorted(int(layer) * n_heads + int(head) for layer, head in (ground_truth or ()))
        bad = [i for i in gt if not 0 <= i < n_layers * n_heads]
        if bad:
            raise ValueError(f"ground truth names heads outside this {n_layers}x{n_heads} grid")
        with self.hold_sync():
            if (n_layers, n_heads) != (self.n_layers, self.n_heads):
                self.selected = -1
            self.n_layers, self.n_heads = int(n_layers), int(n_heads)
            self.scores = float32_bytes(arr)
            self.ground_truth = gt
            if label is not None:
                self.label = label
            self.message = message
            self.stability, self.n_saes, self.top_k = stab, int(n_saes), int(top_k)
            self.unavailable = ""

    def show_unavailable(self, reason: str, *, label: Optional[str] = None) -> None:
        """Show ``reason`` (one line) instead of scores; the shape and selection stay.

        Example:
            >>> grid = HeadGrid(); grid.show_unavailable("EAP needs answers")
            >>> grid.unavailable, grid.scores
            ('EAP needs answers', b'')
        """
        with self.hold_sync():
            self.scores = b""
            self.stability, self.n_saes, self.top_k = b"", 0, 0
            if label is not None:
                self.label = label
            self.message = ""
            self.unavailable = str(reason) or "no scores"

    @property
    def values(self) -> Float[np.ndarray, "n_layers n_heads"]:
        """The scores shown, as ``[n_layers, n_heads]`` (float32 precision; NaN while ``unavailable``)."""
        if not self.scores:
            return np.full((self.n_layers, self.n_heads), np.nan)
        return from_float32_bytes(self.scores).reshape(self.n_layers, self.n_heads)

    @property
    def selected_head(self) -> Optional[tuple[int, int]]:
        """The selected head as (layer, head), or None."""
        if self.selected < 0 or not self.n_heads:
            return None
        return divmod(self.selected, self.n_heads)


def stability_of(result: Any) -> dict[str, Any]:
    """``show_scores``'s stability arguments for ``result`` (empty without an ensemble).

    Reads ``result.stability`` where the result has it; ``top_k`` is the engine's
    ``STABILITY_K``.
    """
    share = head_stability(result)
    n_saes = int(sae_run_value(result, "n_saes", 1) or 1)
    if share is None or n_saes < 2:
        return {}
    from ..engine import result as result_module

    return {"stability": share, "n_saes": n_saes, "top_k": int(getattr(result_module, "STABILITY_K", 5))}
