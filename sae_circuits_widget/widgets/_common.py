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
