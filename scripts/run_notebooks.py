"""Execute the notebooks in place, so that what GitHub and the docs show is what the code does.

A notebook is stored with its outputs so that a reader sees its results without running
it. Those outputs go stale whenever the notebook or the package changes; this script is
the one command that regenerates them:

    .venv/bin/python scripts/run_notebooks.py                      # every notebook in EXECUTED
    .venv/bin/python scripts/run_notebooks.py notebooks/03_teaching.ipynb

Each notebook runs top to bottom in a fresh ``python3`` kernel (the Python that runs this
script), with one thread per numeric library, ``PYTHONHASHSEED=0`` and the Hugging Face
hub offline; the notebooks seed everything they draw. Cells run in the notebook's folder,
so files a notebook writes land beside it. Cell timing metadata is not recorded, so a
rerun on unchanged code changes nothing but the files it must (deterministic seeds, no
wall-clock times printed).

After a run the notebook's metadata holds ``sae_circuits.executed_sources``: a hash of its
code cells' sources. ``problems`` (also used by ``tests/test_notebook_outputs.py``) flags
a notebook whose code changed after its outputs were stored, an error output, a code cell
without outputs, and a chart without a static figure (PNG or SVG, what GitHub and the
docs can show without a kernel).

``02_paper_reproduction.ipynb`` runs here on the bundled GPT-2-architecture organism
(its ``MODEL`` parameter's default); with a network, set ``MODEL = "gpt2"`` in the notebook
to run it on GPT-2 small. A notebook listed in ``SKIPPED`` is not run, with the reason.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"
"""The kernel every notebook runs in: ipykernel's own, started with this script's Python."""
TIMEOUT_S = 600
"""Longest a single cell may run."""

EXECUTED = ["01_quickstart.ipynb", "02_paper_reproduction.ipynb", "03_teaching.ipynb", "04_reading_edges.ipynb"]
"""Notebooks stored with their outputs (run offline on the bundled models)."""
SKIPPED: dict[str, str] = {}
"""Notebooks this script does not run, and why."""
PENDING: dict[str, str] = {}
"""Notebooks in ``EXECUTED`` whose stored outputs are known to be missing, and why.
``tests/test_notebook_outputs.py`` expects them to fail its checks (strict xfail), so an
entry has to go once the notebook is executed."""

KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TQDM_DISABLE": "1",
}
"""Environment of the kernel, on top of this process's own."""

FIGURE_TAG = "figure"
"""Cell tag of a cell that must show a figure."""
STATIC_IMAGES = ("image/png", "image/svg+xml")
CHART_MIMETYPE_PREFIXES = ("application/vnd.vegalite", "application/vnd.vega.")
CHART_REPR_PREFIXES = ("alt.Chart(", "alt.LayerChart(", "alt.FacetChart(", "alt.HConcatChart(",
                       "alt.VConcatChart(", "alt.ConcatChart(", "<VegaLite")
"""What ``text/plain`` of a chart displayed without a working renderer starts with."""


def sources_digest(nb: Any) -> str:
    """SHA-256 of the notebook's code cells' sources, in order (what its outputs came from)."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(cell.source.encode("utf-8"))
            h.update(b"\x00")
    return h.hexdigest()


def _text_plain(output: Any) -> str:
    data = output.get("data", {}) if isinstance(output, dict) else {}
    text = data.get("text/plain", "")
    return "".join(text) if isinstance(text, list) else str(text)


def is_chart_output(output: Any) -> bool:
    """True for an output that displays an altair chart (whatever the renderer)."""
    data = output.get("data", {})
    if any(k.startswith(CHART_MIMETYPE_PREFIXES) for k in data):
        return True
    return _text_plain(output).lstrip().startswith(CHART_REPR_PREFIXES)


def has_static_image(output: Any) -> bool:
    return any(k in output.get("data", {}) for k in STATIC_IMAGES)


def problems(nb: Any) -> list[str]:
    """Why the stored outputs of ``nb`` cannot be shown as they are: ``[]`` when they can.

    - ``code changed since the outputs were stored``: the sources' digest differs from the
      one this script recorded (or none was recorded);
    - ``cell N: error output``: an exception was stored;
    - ``cell N: no output``: a code cell shows nothing;
    - ``cell N: chart without a static figure``: a chart (a Vega-Lite output, or a chart's
      text repr) with no PNG or SVG beside it, or a cell tagged ``figure`` without one.

    Cells are numbered from 1 over all cells, as JupyterLab shows them.
    """
    found = []
    recorded = nb.metadata.get("sae_circuits", {}).get("executed_sources")
    if recorded != sources_digest(nb):
        found.append("code changed since the outputs were stored (or they never were)")
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        if not outputs:
            found.append(f"cell {number}: no output")
            continue
        for output in outputs:
            if output.get("output_type") == "error":
                found.append(f"cell {number}: error output ({output.get('ename')}: {output.get('evalue')})")
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                if "Traceback" in "".join(output.get("text", "")):
                    found.append(f"cell {number}: a traceback on stderr")
        charts = [o for o in outputs if o.get("output_type") in ("display_data", "execute_result") and is_chart_output(o)]
        if any(not has_static_image(o) for o in charts):
            found.append(f"cell {number}: chart without a static figure (PNG or SVG)")
        elif FIGURE_TAG in cell.metadata.get("tags", []) and not any(has_static_image(o) for o in outputs):
            found.append(f"cell {number}: tagged {FIGURE_TAG!r} but shows no figure")
    return found


def output_kinds(nb: Any) -> list[list[tuple[str, ...]]]:
    """Per code cell, the kind of each output: ``("stream", name)`` or the sorted mimetypes.

    Consecutive writes to one stream count once: the kernel splits a cell's printing into
    as many stream outputs as it happened to flush, which depends on timing, not on what
    the cell shows."""
    kinds = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        row = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                kind = ("stream", o.get("name", ""))
                if not row or row[-1] != kind:
                    row.append(kind)
            elif o.get("output_type") == "error":
                row.append(("error", o.get("ename", "")))
            else:
                row.append(tuple(sorted(o.get("data", {}))))
        kinds.append(row)
    return kinds


def execute(path: Path, out: Path | None = None) -> Any:
    """Run the notebook at ``path`` top to bottom and write it (with outputs) to ``out``
    (default: in place). Returns the executed notebook; raises on the first failing cell
    (nbclient's ``CellExecutionError``, which names the cell and the error)."""
    from nbclient import NotebookClient

    path = Path(path)
    if path.name in SKIPPED:
        raise SystemExit(f"{path.name} is not executed here: {SKIPPED[path.name]}")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=TIMEOUT_S, kernel_name=KERNEL, allow_errors=False, record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env={**os.environ, **KERNEL_ENV})
    nb.metadata.setdefault("sae_circuits", {})["executed_sources"] = sources_digest(nb)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL}
    nbformat.write(nb, Path(out) if out is not None else path)
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path,
        help=f"notebooks to run (default: {', '.join(n for n in EXECUTED if n not in PENDING)})",
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or [NOTEBOOKS / name for name in EXECUTED if name not in PENDING]
    missing = [str(p) for p in paths if not Path(p).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    skipped = [p.name for p in paths if p.name in SKIPPED]
    if skipped:
        parser.error(f"{', '.join(skipped)}: {SKIPPED[skipped[0]]}")
    from nbclient.exceptions import CellExecutionError

    failed = 0
    for path in paths:
        t0 = time.perf_counter()
        try:
            nb = execute(path)
        except CellExecutionError as exc:
            print(f"{path.name}: a cell failed ({exc.ename}: {exc.evalue}); the stored notebook is unchanged")
            failed += 1
            continue
        left = problems(nb)
        seconds = time.perf_counter() - t0
        print(f"{path.name}: executed in {seconds:.1f} s" + (f"; {'; '.join(left)}" if left else ""))
        failed += bool(left)
    for name, why in {**SKIPPED, **PENDING}.items():
        if not args.notebooks:
            print(f"{name}: not executed ({why})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
