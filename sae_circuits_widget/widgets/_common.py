"""Helpers shared by the widgets: bundle paths, strict keyword checks, compact arrays.

The widgets are thin: they hold synced state and call the engine; they compute nothing
themselves. Numeric arrays go to the browser as little-endian binary buffers
(``traitlets.Bytes`` travels as a binary message part, not as JSON numbers).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

STATIC = Path(__file__).resolve().parent.parent / "static"

_MISSING_BUNDLE = """
export default { render({ el }) {
  const d = document.createElement("div");
  d.textContent = "The front-end bundle %s.js is missing. Build it from a source checkout: npm ci && npm run build";
  el.append(d);
} };
"""


def bundle(name: str) -> Any:
    """The built ES module of widget ``name`` (a Path, so anywidget can hot-reload it).

    A source checkout without a build gets a stand-in module that says how to build,
    instead of failing at import.
    """
    path = STATIC / f"{name}.js"
    if path.exists():
        return path
    return _MISSING_BUNDLE % name


def check_kwargs(cls_name: str, given: dict[str, Any], allowed: Iterable[str]) -> None:
    """Raise ``TypeError`` naming unknown keyword arguments and the accepted ones."""
    allowed = set(allowed)
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TypeError(
            f"{cls_name}() got unknown keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(sorted(allowed))}"
        )


def float32_bytes(values: Any) -> bytes:
    """Flatten ``values`` to little-endian float32 bytes (NaN kept; the grid greys it)."""
    return np.ascontiguousarray(np.asarray(values, dtype="<f4").reshape(-1)).tobytes()


def int32_bytes(values: Any) -> bytes:
    """Flatten ``values`` to little-endian int32 bytes."""
    return np.ascontiguousarray(np.asarray(values, dtype="<i4").reshape(-1)).tobytes()


def from_float32_bytes(data: bytes) -> np.ndarray:
    """Inverse of ``float32_bytes`` (flat)."""
    return np.frombuffer(bytes(data), dtype="<f4").astype(np.float64)


def from_int32_bytes(data: bytes) -> np.ndarray:
    """Inverse of ``int32_bytes`` (flat)."""
    return np.frombuffer(bytes(data), dtype="<i4").astype(np.int64)


def head_name(index: int, n_heads: int) -> str:
    """``"L1.H2"`` for flat head index ``index``."""
    return f"L{index // n_heads}.H{index % n_heads}"


# The result's SAE-specific parts, read from its typed fields (``edge_head_scores``,
# ``warnings``, ``sae_run``, ``stability``) or, in a result built before they existed, from
# ``extras``: the widgets show both the same way.


def edge_head_scores(result: Any) -> Any:
    """Edge scores pooled per head ``[n_layers, n_heads]`` (or flat), or None."""
    value = getattr(result, "edge_head_scores", None)
    return value if value is not None else (getattr(result, "extras", None) or {}).get("edge_head_scores")


def result_warnings(result: Any) -> list[str]:
    """The result's warnings (e.g. no head has a code unique to the positives)."""
    value = getattr(result, "warnings", None)
    if value is None:
        value = (getattr(result, "extras", None) or {}).get("warnings")
    return [str(w) for w in (value or [])]


def sae_run_value(result: Any, name: str, default: Any = None) -> Any:
    """``result.sae_run.<name>`` (``source``, ``train_rows``, ``n_saes``, ``preview``),
    or the same from ``extras`` (``source`` was ``extras["sae_source"]``)."""
    run = getattr(result, "sae_run", None)
    if run is not None:
        value = getattr(run, name, None)
        return default if value is None else value
    extras = getattr(result, "extras", None) or {}
    value = extras.get("sae_source" if name == "source" else name)
    return default if value is None else value


def head_stability(result: Any) -> Any:
    """``[n_layers, n_heads]`` share of the ensemble's SAEs whose top-k holds each head,
    or None (a single SAE, a baseline, or a result without the figure)."""
    value = getattr(result, "stability", None)
    return None if value is None else np.asarray(value, dtype=np.float64)
