"""Fixtures for the widget tests.

The widgets only adapt the engine, so these tests shorten the SAE fit (40 epochs instead
of the paper's 500) to keep the unit tier fast on a shared 2-core machine; the pipeline
is otherwise the real one.
"""

from __future__ import annotations

import functools
import warnings

import pytest


@pytest.fixture(autouse=True)
def _quiet_no_signal_warning():
    # random tiny models often give "no head has a code unique to the positives"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture(autouse=True)
def _short_sae_fit(monkeypatch):
    import importlib

    discover_module = importlib.import_module("sae_circuits_widget.engine.discover")
    name = "fit_saes" if hasattr(discover_module, "fit_saes") else "fit_sae"  # the ensemble's fits, or one
    monkeypatch.setattr(discover_module, name, functools.partial(getattr(discover_module, name), epochs=40))
    yield
