"""The notebooks: the offline ones run top to bottom; the GPT-2 one at least parses."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _run(name: str, tmp_path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    nb = nbformat.read(tmp_path / name, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def _text(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


def test_quickstart_runs_offline(tmp_path):
    nb = _run("01_quickstart.ipynb", tmp_path)
    assert "top heads:" in _text(nb)
    assert (tmp_path / "circuit.json").exists() and (tmp_path / "chart.svg").exists()
    widget_views = [o for c in nb.cells for o in c.get("outputs", []) if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widget_views, "the explorer cell should display a widget"


@pytest.mark.parametrize("name", ["01_quickstart.ipynb", "02_paper_reproduction.ipynb", "03_teaching.ipynb"])
def test_notebook_code_parses(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)
