"""The built bundles in real Chromium, fed the state of real Python widgets."""

from __future__ import annotations

import pytest

from sae_circuits_widget.widgets import CircuitExplorer, HeadGrid

from .pages import ROOT, bare_page_html, route_page, short_sae_fit

pytestmark = pytest.mark.browser


def _open(page, bundle, widget):
    route_page(page, bare_page_html(bundle, widget))
    page.goto(ROOT + "/")
    page.wait_for_function("window.rendered === true", timeout=15000)
    assert page.evaluate("window.errors") == []


@pytest.fixture(scope="module")
def explorer():
    from sae_circuits_widget.testing import tiny_model

    with short_sae_fit():
        e = CircuitExplorer(tiny_model(), "ioi", n_pairs=4, n_features=32, position="last", live=False)
    evil = "<img src=x onerror=window.hacked=1> When Mary"
    e.panel.set_pairs([evil] + e.panel.positives[1:], e.panel.negatives)
    yield e
    e.close()


def test_explorer_renders_and_writes_back(page, explorer):
    _open(page, "circuit_explorer", explorer)
    grid_id, panel_id = explorer.grid.model_id, explorer.panel.model_id
    n = explorer.grid.n_layers * explorer.grid.n_heads
    assert page.locator(".scw-cell").count() == n
    # prompt text is text: the <img> is not an element and its handler never ran
    assert page.locator(".scw-panel img").count() == 0
    assert page.evaluate("window.hacked") is None
    assert page.locator("textarea.scw-input").first.input_value().startswith("<img")
    # click a head: the grid model gets the selection, the cell is marked
    page.locator(".scw-cell").nth(n - 1).click()
    assert page.evaluate(f"window.models['{grid_id}'].get('selected')") == n - 1
    assert "scw-selected" in page.locator(".scw-cell").nth(n - 1).get_attribute("class")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(f"window.models['{grid_id}'].get('selected')") == n - 2
    # type in a prompt: after the pause the panel model holds the new text
    box = page.locator(".scw-positive textarea.scw-input").nth(1)
    box.fill("When Anna and Tom went to the park , Tom gave a book to")
    page.wait_for_function(
        f"window.models['{panel_id}'].get('positives')[1] === 'When Anna and Tom went to the park , Tom gave a book to'",
        timeout=5000,
    )
    # hover shows layer.head and the value
    page.locator(".scw-cell").nth(0).hover()
    assert page.locator(".scw-tooltip").inner_text().startswith("0.0: ")


def test_head_grid_alone_colours_by_score(page):
    import numpy as np

    grid = HeadGrid()
    grid.show_scores(np.array([[0.0, 1.0], [0.5, 0.25]]), {(0, 1)}, label="demo")
    _open(page, "head_grid", grid)
    colours = page.eval_on_selector_all(".scw-cell", "els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert colours[0] == "rgb(68, 1, 84)" and colours[1] == "rgb(253, 231, 37)"
    assert page.locator(".scw-cell.scw-gt").count() == 1
