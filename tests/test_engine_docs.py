"""The runnable examples in the engine's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "sae_circuits_widget.engine.scoring",
    "sae_circuits_widget.engine.sae",
    "sae_circuits_widget.evaluation.metrics",
    "sae_circuits_widget.engine.validation",
    "sae_circuits_widget.engine.discover",
    "sae_circuits_widget.engine.model",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
