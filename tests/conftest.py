"""Shared fixtures (seeded randomness, small in-process models) and the test tiers.

Every test gets one tier marker here, at collection, so test files need no decoration:

- ``browser``: everything under ``tests/browser/`` (real Chromium);
- ``notebook``: ``tests/widgets/test_notebooks.py`` (runs the notebooks in a kernel);
- ``training``: tests whose body uses a module-level name from the bundled model's
  training code (``TRAINING_CODE``: ``organism.train``, ``organism.data``);
- ``integration``: tests that load the bundled model (a fixture named ``organism*``),
  start a subprocess (a fresh interpreter costs seconds of imports), or sit outside
  ``UNIT_MODULES`` (SAE fits, baselines, ablation sweeps: seconds each);
- ``unit``: the rest of ``UNIT_MODULES`` (the tiny in-process model at most), under a
  minute all together.

Every test outside the unit tier is also marked ``slow``, so ``pytest -m "not slow"``
(or ``-m unit``) is the unit tier and plain ``pytest`` runs every tier. A tier marker
written on a test or module by hand wins (for example ``@pytest.mark.unit`` on a fast
test in an integration module); a test marked only ``slow`` joins ``integration``.
Commands: see the README's testing section.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from sae_circuits_widget.testing import tiny_model as _tiny_model


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 - code under test may draw from the global generator
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


# ----------------------------------------------------------------------------- test tiers

TESTS_DIR = Path(__file__).resolve().parent
TIERS = ("browser", "notebook", "training", "integration")
NOTEBOOK_MODULES = {"widgets/test_notebooks.py"}
TRAINING_CODE = {"sae_circuits_widget.organism.train", "sae_circuits_widget.organism.data"}
# The unit tier: modules whose tests take well under a second each. A module not listed
# here is ``integration`` (new modules start there; list one when it is fast).
UNIT_MODULES = {
    "test_activations.py",
    "test_architecture.py",
    "test_engine_docs.py",
    "test_evaluate.py",
    "test_limits.py",
    "test_model.py",
    "test_package.py",
    "test_properties.py",
    "test_sae.py",
    "test_scoring.py",
    "test_settings.py",
    "test_task_check.py",
    "test_tasks.py",
    "test_testing.py",
    "test_validation.py",
    "widgets/test_charts.py",
    "widgets/test_frontend.py",
    "widgets/test_head_grid.py",
    "widgets/test_prompt_panel.py",
    "widgets/test_trait_mirror.py",
}
# Tests of unit modules that run whole pipelines (seconds each); better marked in place
# with @pytest.mark.integration, listed here until they are.
INTEGRATION_TESTS = {
    "test_limits.py::test_discover_encodes_in_chunks",
}


def _tier_of(item: pytest.Item) -> str:
    """The tier of one collected test (see the module docstring)."""
    path = Path(str(item.path)).resolve()
    if TESTS_DIR.parent / "research" in path.parents:
        return "training"  # research/tests: the organism's training switches
    if TESTS_DIR not in path.parents:
        return "integration"
    rel = path.relative_to(TESTS_DIR).as_posix()
    if rel.startswith("browser/"):
        return "browser"
    if rel in NOTEBOOK_MODULES:
        return "notebook"
    function = getattr(item, "function", None)
    names = set(function.__code__.co_names) if function is not None else set()
    module = getattr(item, "module", None)
    used = [getattr(module, name, None) for name in names]
    if any(getattr(obj, "__module__", None) in TRAINING_CODE for obj in used):
        return "training"
    if any(name.startswith("organism") for name in getattr(item, "fixturenames", ())):
        return "integration"
    if "subprocess" in names:
        return "integration"
    if rel not in UNIT_MODULES or f"{rel}::{getattr(item, 'originalname', item.name)}" in INTEGRATION_TESTS:
        return "integration"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marked = [tier for tier in (*TIERS, "unit") if item.get_closest_marker(tier) is not None]
        if marked:
            tier = marked[0]
        elif item.get_closest_marker("slow") is not None:
            tier = "integration"
        else:
            tier = _tier_of(item)
        item.add_marker(tier)
        if tier != "unit":
            item.add_marker("slow")
