"""The package's top level: every public name resolves, widgets load only when used, and
what it imports is declared (core dependencies or the extra that needs it)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sae_circuits_widget


def test_every_public_name_resolves():
    for name in sae_circuits_widget.__all__:
        assert getattr(sae_circuits_widget, name) is not None, name
    assert set(sae_circuits_widget.__all__) <= set(dir(sae_circuits_widget))


def test_widgets_are_the_widget_classes():
    from sae_circuits_widget import CircuitExplorer, CodeInspector, HeadGrid, PromptPanel, widgets

    assert (CircuitExplorer, CodeInspector, HeadGrid, PromptPanel) == (
        widgets.CircuitExplorer, widgets.CodeInspector, widgets.HeadGrid, widgets.PromptPanel,
    )


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'CircuitExplorr'"):
        sae_circuits_widget.CircuitExplorr  # noqa: B018


def test_import_does_not_load_the_widget_stack():
    code = (
        "import sys, sae_circuits_widget as s\n"
        "heavy = ['anywidget', 'ipywidgets', 'altair', 'sae_circuits_widget.widgets']\n"
        "print([m for m in heavy if m in sys.modules])\n"
        "s.CircuitExplorer\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.strip().splitlines()
    assert before == "[]"
    assert "anywidget" in after and "sae_circuits_widget.widgets" in after


# ----------------------------------------------------------------------------- packaging

ROOT = Path(__file__).resolve().parents[1]
# Modules imported only where an extra is installed, and that extra.
OPTIONAL_IMPORTS = {"vl_convert": "export"}


def _normalise(requirement: str) -> str:
    return re.split(r"[ <>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party module -> the package files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "sae_circuits_widget").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("sae_circuits_widget", "__future__"):
                    found.setdefault(top, set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_every_imported_distribution_is_declared():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_normalise(r) for r in project["dependencies"]}
    extras = {name: {_normalise(r) for r in reqs} for name, reqs in project["optional-dependencies"].items()}
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for module, files in _third_party_imports().items():
        dists = {_normalise(d) for d in distributions.get(module, [module])}
        declared = extras[OPTIONAL_IMPORTS[module]] if module in OPTIONAL_IMPORTS else core
        if not dists & declared:
            missing.append(f"{module} ({sorted(dists)}; imported in {sorted(files)})")
    assert not missing, "imported but not declared in pyproject.toml: " + "; ".join(missing)


def test_optional_and_test_only_packages_stay_out_of_the_core():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_normalise(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert not core & {"scikit-learn", "vl-convert-python", "watchfiles", "ruff", "pyright", "pytest"}
    assert "sklearn" not in _third_party_imports()
    assert {_normalise(r) for r in extras["export"]} == {"vl-convert-python"}
    assert {"watchfiles", "ruff", "pyright"} <= {_normalise(r) for r in extras["dev"]}
    assert "scikit-learn" in {_normalise(r) for r in extras["test"]}


def test_png_export_without_the_extra_names_it(tmp_path, monkeypatch):
    from sae_circuits_widget.evaluation.charts import roc_chart_from_points, save_chart

    chart = roc_chart_from_points({"sae": {"fpr": [0, 0, 1], "tpr": [0, 1, 1]}})
    monkeypatch.setitem(sys.modules, "vl_convert", None)  # import vl_convert now raises ImportError
    for name in ("roc.png", "roc.svg"):
        with pytest.raises(ImportError, match=re.escape('pip install "sae-circuits-widget[export]"')):
            save_chart(chart, tmp_path / name)
        assert not (tmp_path / name).exists()
    assert save_chart(chart, tmp_path / "roc.json").read_text(encoding="utf-8").startswith("{")
