"""The notebooks' stored outputs: present, free of errors, with a figure for every chart, current.

The notebooks are stored with their outputs so that GitHub and the docs show results without
a kernel; ``scripts/run_notebooks.py`` regenerates them. The unit checks here read the
stored files only (milliseconds); the notebook-tier check executes each notebook again and
compares what it shows with what is stored.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _load_runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


def _stored(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _executed_params():
    return [
        pytest.param(name, marks=pytest.mark.xfail(reason=runner.PENDING[name], strict=True))
        if name in runner.PENDING else name
        for name in runner.EXECUTED
    ]


# ----------------------------------------------------------------------------- stored files


@pytest.mark.unit
@pytest.mark.parametrize("name", _executed_params())
def test_stored_notebook_shows_its_results(name):
    problems = runner.problems(_stored(name))
    assert not problems, f"{name}: {'; '.join(problems)}; run: .venv/bin/python scripts/run_notebooks.py notebooks/{name}"


@pytest.mark.unit
def test_every_notebook_is_either_executed_or_skipped_for_a_reason():
    on_disk = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    listed = set(runner.EXECUTED) | set(runner.SKIPPED)
    assert on_disk == listed, (
        f"not listed in scripts/run_notebooks.py: {sorted(on_disk - listed)}; listed but missing: {sorted(listed - on_disk)}"
    )
    assert not set(runner.EXECUTED) & set(runner.SKIPPED)
    assert set(runner.PENDING) <= set(runner.EXECUTED)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["03_teaching.ipynb", "04_reading_edges.ipynb"])
def test_every_exercise_has_a_collapsed_solution(name):
    cells = _stored(name).cells
    exercises = [c for c in cells if c.cell_type == "markdown" and "### Exercise" in c.source]
    solutions = []
    for before, cell in zip(cells, cells[1:]):
        if before.cell_type == "markdown" and before.source.lstrip("# ").startswith("Solution"):
            assert cell.cell_type == "code", f"{name}: the cell after {before.source!r} is not code"
            assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, f"{name}: {before.source!r} is not collapsed"
            solutions.append(cell)
    assert exercises and len(solutions) == len(exercises)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["03_teaching.ipynb", "04_reading_edges.ipynb"])
def test_lessons_have_a_figure_at_each_step(name):
    cells = _stored(name).cells
    steps = [
        i for i, c in enumerate(cells)
        if c.cell_type == "markdown" and any(line.startswith("## Step") for line in c.source.splitlines())
    ]
    assert len(steps) >= 5
    for start, stop in zip(steps, steps[1:] + [len(cells)]):
        figures = [c for c in cells[start:stop] if c.cell_type == "code" and runner.FIGURE_TAG in c.metadata.get("tags", [])]
        heading = next(line for line in cells[start].source.splitlines() if line.startswith("## Step"))
        assert figures, f"{name}: {heading!r} has no figure cell"


# ----------------------------------------------------------------------------- the checker


def _good_notebook():
    nb = new_notebook(cells=[
        new_markdown_cell("# A lesson"),
        new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")]),
        new_code_cell("chart", metadata={"tags": ["figure"]}, outputs=[
            new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "alt.Chart(...)"}),
        ]),
    ])
    nb.metadata["sae_circuits"] = {"executed_sources": runner.sources_digest(nb)}
    return nb


@pytest.mark.unit
def test_the_checker_passes_a_notebook_with_current_outputs():
    assert runner.problems(_good_notebook()) == []


def _show(nb, cell, output):
    nb.cells[cell].outputs[:] = [output]


SPOILED = {
    "no output": (lambda nb: nb.cells[1].outputs.clear(), "cell 2: no output"),
    "an error": (
        lambda nb: nb.cells[1].outputs.append(new_output("error", ename="KeyError", evalue="'x'", traceback=[])),
        "cell 2: error output (KeyError",
    ),
    "a chart's repr only": (
        lambda nb: _show(nb, 2, new_output("display_data", data={"text/plain": "alt.LayerChart(...)"})),
        "cell 3: chart without a static figure",
    ),
    "a Vega-Lite output only": (
        lambda nb: _show(nb, 2, new_output("display_data", data={"application/vnd.vegalite.v5+json": {}})),
        "cell 3: chart without a static figure",
    ),
    "text in a figure cell": (
        lambda nb: _show(nb, 2, new_output("stream", name="stdout", text="no chart\n")),
        "cell 3: tagged 'figure' but shows no figure",
    ),
    "code edited after the run": (
        lambda nb: setattr(nb.cells[1], "source", "print(2)"),
        "code changed since the outputs were stored",
    ),
}


@pytest.mark.unit
@pytest.mark.parametrize("case", list(SPOILED))
def test_the_checker_flags_a_stale_notebook(case):
    spoil, expected = SPOILED[case]
    nb = _good_notebook()
    spoil(nb)
    found = runner.problems(nb)
    assert any(p.startswith(expected) for p in found), found


# ----------------------------------------------------------------------------- executing


@pytest.mark.notebook
@pytest.mark.parametrize("name", [n for n in runner.EXECUTED if n not in runner.PENDING])
def test_notebook_runs_and_shows_what_is_stored(name, tmp_path):
    shutil.copy(NOTEBOOKS / name, tmp_path / name)
    fresh = runner.execute(tmp_path / name)
    stored = _stored(name)
    assert runner.problems(fresh) == []
    assert runner.output_kinds(fresh) == runner.output_kinds(stored), (
        f"{name}: the outputs it shows now differ in kind from the stored ones; "
        f"run: .venv/bin/python scripts/run_notebooks.py notebooks/{name}"
    )
