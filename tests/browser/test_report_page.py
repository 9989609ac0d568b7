"""A report written by ``write_html`` opened from a file in real Chromium, offline."""

from __future__ import annotations

import numpy as np
import pytest

from sae_circuits_widget.engine.result import CircuitResult, SAERun
from sae_circuits_widget.evaluation.report import write_html

pytestmark = pytest.mark.browser

EVIL = "<img src=x onerror=window.hacked=1> When Mary and John"


@pytest.fixture
def report_file(tmp_path):
    result = CircuitResult(
        method="sae",
        node_scores=np.array([[4.0, 3.0, 0.0, 1.0], [2.0, 0.0, 5.0, 1.0], [0.5, 0.0, 0.0, 2.0]]),
        edge_head_scores=np.zeros((3, 4)),
        prompts=[EVIL, "When Anna and Tom went", "When Mary and Tom went", "When Anna and John went"],
        is_positive=np.array([True, True, False, False]),
        stability=np.full((3, 4), 0.5),
        sae_run=SAERun(n_saes=2, member_node_scores=np.zeros((2, 3, 4))),
        settings={"seed": 0},
    )
    path = tmp_path / "report.html"
    write_html(result, path, ground_truth={(0, 0), (1, 2)})
    return path


def test_the_report_renders_offline_from_a_file(browser, report_file):
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(report_file.as_uri())
        # the static grid: one SVG cell per head, two outlined
        assert page.locator("svg.grid g.cell").count() == 12
        assert page.locator("svg.grid rect.gt-outline").count() == 2
        assert page.locator("svg.grid rect.stab-bar").count() == 12
        box = page.locator("svg.grid").bounding_box()
        assert box is not None and box["width"] > 150 and box["height"] > 90
        # the embedded HeadGrid renders from the page itself and answers clicks and keys
        page.locator("details summary").click()
        page.wait_for_selector("#scw-headgrid[data-rendered=true]", timeout=15000)
        assert page.locator("#scw-headgrid .scw-cell").count() == 12
        assert page.locator("#scw-headgrid .scw-cell.scw-gt").count() == 2
        page.locator("#scw-headgrid .scw-cell").nth(6).click()
        assert page.locator("#scw-headgrid-status").text_content() == "selected: L1.H2, score 5"
        page.keyboard.press("ArrowLeft")
        assert page.locator("#scw-headgrid-status").text_content() == "selected: L1.H1, score 0"
        # the prompt is text: no <img> element, its handler never ran
        assert page.locator("img").count() == 0
        assert page.evaluate("window.hacked") is None
        assert EVIL in page.locator("table.positives").inner_text()
    finally:
        context.close()
    assert errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
