"""A griffe extension for the API reference: doctest examples become Python code blocks.

The package's docstrings show their examples as doctests under an ``Example:`` line
(``tests/test_engine_docs.py`` runs them), unfenced, as Python's own tools expect. Read as
Markdown, ``>>>`` starts a nested block quote and ``x["a"]["b"]`` looks like a reference
link, so mkdocstrings would garble them (and ``--strict`` stops on the link it cannot
resolve). This extension wraps every run of doctest lines (a ``>>>`` line, its ``...``
continuations and the expected output up to the next blank line) in a ```` ```pycon ````
fence before griffe parses the docstring. Docstrings in the source are not changed.

Used by ``mkdocs.yml`` (``plugins.mkdocstrings.handlers.python.options.extensions``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

PROMPT = re.compile(r"^(\s*)>>>( |$)")
FENCE = re.compile(r"^\s*(```|~~~)")


def fence_doctests(text: str) -> str:
    """``text`` with each run of doctest lines fenced as ``pycon``.

    Example:
        >>> fence_doctests("Example:\\n    >>> 1 + 1\\n    2").split("\\n")
        ['Example:', '    ```pycon', '    >>> 1 + 1', '    2', '    ```']
    """
    lines = text.split("\n")
    out: list[str] = []
    i, fenced = 0, False
    while i < len(lines):
        line = lines[i]
        if FENCE.match(line):
            fenced = not fenced
        m = None if fenced else PROMPT.match(line)
        if m is None:
            out.append(line)
            i += 1
            continue
        indent = m.group(1)
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Fence the doctest examples of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
