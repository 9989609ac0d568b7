"""The layout's rules, checked on the import graph of the package's source.

Every import counts, also one inside a function: a cycle hidden in a function is still a
cycle. Package ``__init__`` modules are nodes of their own (``sae_circuits_widget.engine``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sae_circuits_widget

ROOT = Path(sae_circuits_widget.__file__).parent
PKG = "sae_circuits_widget"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or '', line) for every import in a module."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for a in node.names:
                sub = f"{module}.{a.name}"
                out.append((sub, "", node.lineno) if sub in MODULES else (module, a.name, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    return {
        name: {m for m, _, _ in _imports(name) if m in MODULES and m != name}
        for name in MODULES
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_scanner_sees_every_module_and_relative_imports():
    assert f"{PKG}.engine.discover" in MODULES and f"{PKG}.widgets.circuit_explorer" in MODULES
    assert f"{PKG}.engine.result" in _graph()[f"{PKG}.engine.discover"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    # the package's own __init__ imports the public API from every layer; a module that
    # imports it back would be a cycle, and is one here too
    assert _cycles(_graph()) == []


def test_the_engine_imports_no_widget_and_only_the_batching_helpers_of_interventions():
    bad = []
    for name in MODULES:
        if name.startswith(f"{PKG}.engine"):
            for module, _, line in _imports(name):
                widget = module.startswith(f"{PKG}.widgets")
                intervention = module.startswith(f"{PKG}.interventions") and module != f"{PKG}.interventions.hooks"
                if widget or intervention or module in ("anywidget", "ipywidgets", "altair"):
                    bad.append(f"{name}:{line} imports {module}")
    assert bad == []


def test_widget_modules_import_neither_torch_nor_transformer_lens():
    bad = [
        f"{name}:{line} imports {module}"
        for name in MODULES
        if name.startswith(f"{PKG}.widgets")
        for module, _, line in _imports(name)
        if module.split(".")[0] in ("torch", "transformer_lens")
    ]
    assert bad == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_private_names_of_another(name):
    bad = [
        f"{name}:{line} imports {what} from {module}"
        for module, what, line in _imports(name)
        if what.startswith("_") and not what.startswith("__") and module != name
    ]
    assert bad == []
