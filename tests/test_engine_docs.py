"""The runnable examples in every module's docstrings stay true.

Modules are found by walking the package's files, not by importing it, so collecting
this test imports nothing: a module that fails to import (a missing optional
dependency, a syntax error) fails only its own test, with the import error, instead of
stopping collection the way ``--doctest-modules`` would. Each module's examples run
under ``tests/conftest.py``'s seeding, like every other test.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sae_circuits_widget"
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


MODULES = _module_names()
# Examples that load the bundled model or train one: outside the unit tier.
SLOW_EXAMPLES = {
    "sae_circuits_widget": pytest.mark.integration,  # load_model() and discover()
    "sae_circuits_widget.organism.train": pytest.mark.training,
}


def test_every_module_is_walked():
    assert "sae_circuits_widget" in MODULES
    for name in ("engine.scoring", "evaluation.metrics", "heads", "widgets.circuit_explorer"):
        assert f"sae_circuits_widget.{name}" in MODULES
    assert not [name for name in MODULES if "static" in name.split(".")]


@pytest.mark.parametrize("name", [pytest.param(n, marks=SLOW_EXAMPLES.get(n, ())) for n in MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_a_wrong_example_fails():
    """The runner above reports a wrong example (it is not silently skipped)."""
    test = doctest.DocTestParser().get_doctest(">>> 6 * 7\n41\n", {}, "wrong", "wrong.py", 0)
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    runner.run(test, out=report.append)
    assert runner.failures == 1 and "Expected:\n    41\nGot:\n    42" in "".join(report)
