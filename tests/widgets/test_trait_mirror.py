"""Each widget's synced traits and its TypeScript interface name the same fields."""

from __future__ import annotations

import re
from pathlib import Path

import anywidget
import pytest

from sae_circuits_widget.widgets import CircuitExplorer, CodeInspector, HeadGrid, PromptPanel

JS = Path(__file__).resolve().parents[2] / "js"


def _interface_fields(ts: str, name: str) -> set[str]:
    body = re.search(r"export interface " + name + r" \{(.*?)\n\}", ts, re.S)
    assert body, f"interface {name} not found"
    return set(re.findall(r"^\s+(\w+)\??:", body.group(1), re.M))


@pytest.mark.parametrize(
    "cls, module, interface",
    [
        (HeadGrid, "head_grid", "HeadGridModel"),
        (PromptPanel, "prompt_panel", "PromptPanelModel"),
        (CodeInspector, "code_inspector", "CodeInspectorModel"),
        (CircuitExplorer, "circuit_explorer", "CircuitExplorerModel"),
    ],
)
def test_typescript_interface_mirrors_synced_traits(cls, module, interface):
    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    synced = set(cls.class_trait_names(sync=True)) - base
    ts = (JS / f"{module}.ts").read_text()
    assert _interface_fields(ts, interface) == synced
    assert f"sae_circuits_widget/widgets/{module}.py" in ts  # the comment naming the Python file


@pytest.mark.parametrize("cls", [HeadGrid, PromptPanel, CodeInspector, CircuitExplorer])
def test_every_synced_trait_is_documented(cls):
    import inspect

    source = inspect.getsource(cls)
    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    for name in set(cls.class_trait_names(sync=True)) - base:
        assert re.search(rf"^    {name} = .*\n    \"\"\"", source, re.M), f"{cls.__name__}.{name} has no docstring"
