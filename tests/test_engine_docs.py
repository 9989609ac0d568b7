"""The runnable examples in the engine's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "sae_circuits_widget.scoring",
    "sae_circuits_widget.sae",
    "sae_circuits_widget.evaluate",
    "sae_circuits_widget.validation",
    "sae_circuits_widget.discover",
    "sae_circuits_widget.model",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
