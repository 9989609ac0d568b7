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
