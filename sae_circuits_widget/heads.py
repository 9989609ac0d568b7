"""Attention heads: one way to number them, one way to name them.

A head is ``(layer, head)``, its head index within the layer counting from 0. Flat arrays
over every head of a model (codes ``[prompts, heads]``, edge scores ``[heads, heads]``)
number heads layer by layer: ``index = layer * n_heads + head``. A head is written
``"L5H1"`` everywhere text shows one (tables, the grid, the code inspector, JSON keys);
``parse_head`` also reads ``"5.1"``, ``"L5.H1"`` and ``(5, 1)``.

Example:
    >>> head_index((5, 1), n_heads=12)
    61
    >>> head_at(61, n_heads=12)
    (5, 1)
    >>> head_label((5, 1)), parse_head("5.1"), parse_head("L5H1")
    ('L5H1', (5, 1), (5, 1))
"""

from __future__ import annotations

import re
from typing import Any, Optional

Head = tuple[int, int]
"""An attention head as (layer, head index within the layer)."""

_TEXT = re.compile(r"^\s*L?(\d+)\s*(?:\.|H|\.H|,)\s*(\d+)\s*$", re.IGNORECASE)


def head_index(head: Head, n_heads: int) -> int:
    """Flat index ``layer * n_heads + head`` of a head."""
    layer, h = head
    return int(layer) * int(n_heads) + int(h)


def head_at(index: int, n_heads: int) -> Head:
    """The (layer, head) of a flat head index."""
    return int(index) // int(n_heads), int(index) % int(n_heads)


def head_label(head: Head) -> str:
    """A head as text: ``head_label((5, 1)) == "L5H1"``."""
    return f"L{int(head[0])}H{int(head[1])}"


def parse_head(value: Any, n_layers: Optional[int] = None, n_heads: Optional[int] = None) -> Head:
    """A head from ``(layer, head)``, ``"L5H1"``, ``"5.1"`` or ``"L5.H1"``; with the model's
    shape given, a head outside it is a ``ValueError`` that names the valid range."""
    if isinstance(value, str):
        m = _TEXT.match(value)
        if m is None:
            raise ValueError(f"cannot read {value!r} as a head: write it as 'L5H1', '5.1' or (5, 1)")
        head = (int(m.group(1)), int(m.group(2)))
    else:
        try:
            layer, h = value
            head = (int(layer), int(h))
        except (TypeError, ValueError):
            raise ValueError(f"cannot read {value!r} as a head: give (layer, head), 'L5H1' or '5.1'") from None
        if (head[0], head[1]) != tuple(value) or isinstance(layer, bool) or isinstance(h, bool):
            raise ValueError(f"a head's layer and index are whole numbers, got {value!r}")
    if n_layers is not None and n_heads is not None:
        check_head(head, n_layers, n_heads)
    return head


def check_head(head: Head, n_layers: int, n_heads: int) -> None:
    """``ValueError`` naming the valid range when ``head`` is not in an ``n_layers x n_heads`` model."""
    layer, h = head
    if not (0 <= layer < n_layers and 0 <= h < n_heads):
        raise ValueError(
            f"head ({layer}, {h}) does not exist: the model has layers 0-{n_layers - 1} "
            f"and heads 0-{n_heads - 1} per layer"
        )
