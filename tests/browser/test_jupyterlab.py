"""End to end in JupyterLab: run the quickstart, edit a prompt in the page, see the grid
change, and check that the kernel saw the edit; then read the model check above the grid
and switch the grid to EAP from the page, as a user judging the circuit would."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from .jupyter_server import JupyterLab

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_quickstart.ipynb"

KERNEL_READY = """() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === "idle" && k.connectionStatus === "connected";
}"""

RUN_IN_NEW_CELL = """async (code) => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  await app.commands.execute("notebook:insert-cell-below");
  nb.activeCell.model.sharedModel.setSource(code);
  await app.commands.execute("notebook:run-cell");
  return nb.widgets.length - 1;
}"""


def _choose_edit():
    """A one-word edit of positive 0 that changes the scores (found with the same engine,
    seed and settings as the notebook, which is deterministic on CPU)."""
    from sae_circuits_widget.widgets import CircuitExplorer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = CircuitExplorer(task="ioi", live=False)
        before = e.grid.values.copy()
        pos, neg = list(e.panel.positives), list(e.panel.negatives)
        words = pos[0].split()
        # whole other prompts first, then one-word edits that take the word at the same
        # place in another prompt (names, places, objects of the task's vocabulary)
        candidates = [*neg, *pos[1:]] + [
            " ".join(words[:i] + [other.split()[i]] + words[i + 1:])
            for other in [*pos[1:], *neg]
            for i in range(min(len(words), len(other.split())))
            if other.split()[i] != words[i]
        ]
        for text in candidates:
            if text == pos[0]:
                continue
            e.panel.positives = [text] + pos[1:]
            if e.error == "" and not np.allclose(e.grid.values, before):
                e.close()
                return pos[0], text
    e.close()
    raise AssertionError("no candidate edit changes the scores; pick other candidates")


def _cell_values(page):
    return page.eval_on_selector_all(".scw-explorer .scw-cell", "els => els.map(e => e.dataset.value)")


def test_quickstart_edit_updates_grid_and_kernel(tmp_path, page):
    original, edited = _choose_edit()
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    lab = JupyterLab(tmp_path)
    lab.start()
    try:
        page.set_default_timeout(60000)
        page.goto(f"{lab.url}/lab/tree/{NOTEBOOK.name}?token={lab.token}")
        page.wait_for_function(KERNEL_READY, timeout=90000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            "() => { const s = document.querySelector('.scw-explorer .scw-status');"
            " return !!s && s.textContent.startsWith('updated in'); }",
            timeout=180000,
        )
        before = _cell_values(page)
        assert before and all(v != "" for v in before)
        first = page.locator(".scw-explorer .scw-positive textarea.scw-input").first
        assert first.input_value() == original
        first.fill(edited)
        page.wait_for_function(
            "(before) => { const v = Array.from(document.querySelectorAll('.scw-explorer .scw-cell')).map(e => e.dataset.value);"
            " return v.length === before.length && v.some((x, i) => x !== before[i]); }",
            arg=before, timeout=120000,
        )
        page.wait_for_function(  # a training-prompt edit draws a preview first: wait for the final grid
            "() => { const s = document.querySelector('.scw-explorer .scw-status');"
            " return !!s && !s.classList.contains('scw-preview') && s.textContent.startsWith('updated in'); }",
            timeout=120000,
        )
        after = _cell_values(page)
        page.wait_for_function(KERNEL_READY, timeout=60000)
        index = page.evaluate(
            RUN_IN_NEW_CELL,
            "import json\nprint('KERNEL', json.dumps([explorer.panel.positives[0],"
            " explorer.grid.values.reshape(-1).tolist(), explorer.error]))",
        )
        out = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output")
        out.filter(has_text="KERNEL").wait_for(timeout=60000)
        import json

        text = out.filter(has_text="KERNEL").inner_text()
        seen_text, values, error = json.loads(text.split("KERNEL", 1)[1].strip())
        assert seen_text == edited and error == ""
        np.testing.assert_allclose(np.array(values, dtype=float), np.array(after, dtype=float), rtol=1e-5)

        # the model check of the edited prompts, above the grid and under each prompt
        page.wait_for_function(  # the checks of the final result (EAP, faithfulness) are done
            "() => { const a = document.querySelector('.scw-explorer .scw-agreement');"
            " return !!a && a.textContent.startsWith('SAE vs EAP'); }",
            timeout=120000,
        )
        summary = page.locator(".scw-explorer .scw-behaviour-summary .scw-summary-line").inner_text()
        assert summary.startswith("model check: ") and "positives solved" in summary
        marks = page.eval_on_selector_all(".scw-explorer .scw-prompt .scw-behaviour", "els => els.map(e => e.dataset.kind)")
        assert marks and all(m in ("ok", "flag") for m in marks)
        assert page.locator(".scw-explorer .scw-faithfulness-value").inner_text().startswith("top 5 head(s) keep")
        # switch the grid to EAP in the page: the legend says so and the kernel sees the choice
        page.select_option(".scw-explorer select.scw-set-score_kind", "eap")
        page.wait_for_function(
            "() => { const l = document.querySelector('.scw-explorer .scw-legend-label'); return !!l && l.textContent.startsWith('EAP'); }",
            timeout=60000,
        )
        eap_cells = _cell_values(page)
        page.wait_for_function(KERNEL_READY, timeout=60000)
        index = page.evaluate(
            RUN_IN_NEW_CELL,
            "import json\nprint('TRUST', json.dumps([explorer.behaviour_summary, explorer.score_kind,"
            " explorer.checks.second('eap')[0].node_scores.reshape(-1).tolist(), explorer.agreement]))",
        )
        out = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output")
        out.filter(has_text="TRUST").wait_for(timeout=60000)
        kernel_summary, kind, eap, agreement = json.loads(out.filter(has_text="TRUST").inner_text().split("TRUST", 1)[1].strip())
        assert summary == f"model check: {kernel_summary}" and kind == "eap"
        np.testing.assert_allclose(np.array(eap_cells, dtype=float), np.array(eap, dtype=float), rtol=1e-5)
        assert page.locator(".scw-explorer .scw-agreement").inner_text().startswith(f"SAE vs EAP: Spearman {agreement['spearman']:.2f}")
    finally:
        lab.stop()
