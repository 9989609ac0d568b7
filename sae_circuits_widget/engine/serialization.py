"""Saving results and sessions as JSON (never pickle).

Every file carries ``"format": "sae-circuits/<kind>"`` and ``"format_version"``. Reading
refuses, with a ``FileFormatError`` that says what to do:

* text that is not complete JSON (e.g. a file cut off while saving);
* a file of another kind, or without the format fields;
* a ``format_version`` newer than this package understands (upgrade the package).

Readers take a path (``str`` or ``os.PathLike``) or an open file; a ``str`` is never
taken for JSON text, so a file named ``"[draft] circuit.json"`` opens as a file. JSON text
goes through separate calls (``Session.loads``, ``Session.read_saved_text``,
``CircuitResult.loads``, ``CircuitExplorer.loads``).

Numbers round-trip exactly: floats are written with ``repr`` precision by ``json``.

Size: a file (or text) over ``validation.MAX_FILE_BYTES`` is refused before it is read,
and a result's arrays are checked (``validation.check_result_arrays``: shapes, types,
aligned lengths, the prompt limits) before a ``CircuitResult`` is built from them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FileFormatError
from .validation import MAX_FILE_BYTES

FORMAT_VERSION = 2
"""2: a result's SAE records, stability, task check, warnings and pooled edge scores are
fields of their own (in version 1 some of them sat in ``extras``); version 1 still reads."""


def _short(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters for a message (the text itself is kept whole)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _too_big(where: str, size: int) -> FileFormatError:
    return FileFormatError(
        f"the {where} is {size / 2**20:,.1f} MB, more than the limit of {MAX_FILE_BYTES / 2**20:,.0f} MB "
        "for a saved result, session or prompts file; save fewer prompts per file"
    )


def parse_json_text(text: Any, where: str = "text") -> Any:
    """Parse JSON text (``str`` or UTF-8 ``bytes``), with clear errors.

    Text is never taken for a path: read files with ``read_json_file``. Text longer than
    ``MAX_FILE_BYTES`` is refused before parsing.
    """
    if isinstance(text, (str, bytes, bytearray)) and len(text) > MAX_FILE_BYTES:
        raise _too_big(where, len(text))
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise FileFormatError(
                f"the {where} is not a text (UTF-8 JSON) file: open a file written by "
                "to_json / the widget's save button"
            ) from None
    if not isinstance(text, str):
        raise TypeError(f"expected JSON text (str), got {type(text).__name__}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"the {where} is not valid JSON ({exc.msg} at character {exc.pos} of {len(text)}); "
            "it may be truncated: save it again from the notebook"
        ) from None


def read_json_file(path_or_file: Any, text_call: str = "a call that takes JSON text") -> Any:
    """Parse the JSON in a file: a path (``str`` or ``os.PathLike``) or an open file object.

    A ``str`` is always a path, whatever it starts with (``"[draft] circuit.json"`` is a
    file name); JSON text goes through ``parse_json_text`` (``text_call`` names the public
    call that takes text, for the error message when text is given here).
    """
    if hasattr(path_or_file, "read") and not isinstance(path_or_file, (str, bytes, os.PathLike)):
        name = getattr(path_or_file, "name", None)
        where = f"file {str(name)!r}" if isinstance(name, (str, os.PathLike)) else "file object"
        text = path_or_file.read(MAX_FILE_BYTES + 1)  # never more than the limit, plus one to tell
        if len(text) > MAX_FILE_BYTES:
            raise _too_big(where, len(text))
        return parse_json_text(text, where)
    if not isinstance(path_or_file, (str, os.PathLike)):
        raise TypeError(
            f"expected a file path (str or pathlib.Path) or an open file, got {type(path_or_file).__name__}; "
            f"for JSON text use {text_call}"
        )
    path = Path(path_or_file)
    shown = repr(_short(str(path)))
    looks_like_text = isinstance(path_or_file, str) and path_or_file.lstrip().startswith(("{", "["))
    try:
        if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
            raise _too_big(f"file {shown}", path.stat().st_size)
        data = path.read_bytes()
    except IsADirectoryError:
        raise FileFormatError(f"{shown} is a folder, not a saved file: give the path of a .json file") from None
    except OSError as exc:
        if looks_like_text:
            raise FileFormatError(
                f"no such file: {shown}; this looks like JSON text, which {text_call} takes (a str here is a path)"
            ) from None
        if isinstance(exc, FileNotFoundError):
            raise FileFormatError(f"no such file: {shown}") from None
        raise FileFormatError(f"cannot read {shown} ({exc.strerror or type(exc).__name__})") from None
    return parse_json_text(data, f"file {shown}")


def check_header(data: Any, kind: str) -> None:
    """Check ``format`` and ``format_version`` of a parsed file."""
    if not isinstance(data, dict) or "format_version" not in data or "format" not in data:
        raise FileFormatError(f"this is not a saved sae-circuits {kind} (no format header)")
    if data["format"] != f"sae-circuits/{kind}":
        raise FileFormatError(f"this file holds {data['format']!r}, not a sae-circuits {kind}")
    version = data["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise FileFormatError(f"format_version must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"this {kind} was saved by a newer version of sae-circuits-widget (format "
            f"{version}; this version reads up to {FORMAT_VERSION}): upgrade the package"
        )


def array_or_none(a: Any) -> Any:
    return None if a is None else np.asarray(a).tolist()


def jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as lists and Python numbers, for ``json``."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)
