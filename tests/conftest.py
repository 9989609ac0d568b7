"""Shared fixtures: seeded randomness and small in-process models."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from sae_circuits_widget.testing import tiny_model as _tiny_model


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_model():
    """A random 2-layer x 4-head attention-only model with a word-level tokenizer."""
    return _tiny_model()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for a module: on a busy 2-core machine more threads make
    small operations far slower. Use with ``pytestmark = pytest.mark.usefixtures(...)``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def organism():
    """The bundled model (shipped weights), loaded once per test module."""
    from sae_circuits_widget.organism import load_organism

    return load_organism()


@pytest.fixture(scope="module")
def circuits():
    """The bundled model's ``circuits.json`` as a dict."""
    import json

    from sae_circuits_widget.organism import WEIGHTS_DIR

    return json.loads((WEIGHTS_DIR / "circuits.json").read_text())
