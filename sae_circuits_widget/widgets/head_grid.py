"""HeadGrid: a layers x heads heatmap of head scores, with the known circuit outlined.

The grid shows any ``CircuitResult`` (discrete SAE or a baseline). Scores travel to the
browser as one float32 buffer; the browser picks colours from a perceptually uniform,
colour-blind-safe scale (viridis or cividis, both readable in greyscale print). Clicking a
cell or moving with the arrow keys sets ``selected``, which Python can observe.

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
from ._common import bundle, check_kwargs, float32_bytes, from_float32_bytes


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

    _TRAITS = ("n_layers", "n_heads", "scores", "ground_truth", "selected", "label", "scale", "message", "show_values")

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
            self.show_scores(result.node_scores, ground_truth, label=traits.get("label", f"{result.method} score"))

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
    ) -> None:
        """Draw ``scores`` ``[n_layers, n_heads]``; heads in ``ground_truth`` are outlined."""
        arr = np.asarray(scores, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"scores must be [n_layers, n_heads], got shape {arr.shape}")
        n_layers, n_heads = arr.shape
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

    @property
    def values(self) -> Float[np.ndarray, "n_layers n_heads"]:
        """The scores shown, as ``[n_layers, n_heads]`` (float32 precision)."""
        return from_float32_bytes(self.scores).reshape(self.n_layers, self.n_heads)

    @property
    def selected_head(self) -> Optional[tuple[int, int]]:
        """The selected head as (layer, head), or None."""
        if self.selected < 0 or not self.n_heads:
            return None
        return divmod(self.selected, self.n_heads)
