"""The explorer's trust features in real Chromium: the model check per prompt, the score
kinds, agreement, the k control and faithfulness curve, the edge graph, and the layout."""

from __future__ import annotations

import pytest

from sae_circuits_widget.widgets import CircuitExplorer

from .pages import ROOT, bare_page_html, route_page, short_sae_fit

pytestmark = pytest.mark.browser

LONG = "When Mary and John went to the park , Tom gave a book to\nthen Anna and Tom went to the store , John gave a drink to"


@pytest.fixture
def explorer():
    from sae_circuits_widget.testing import tiny_model

    with short_sae_fit():
        yield from _explorer(tiny_model())


def _explorer(model):
    e = CircuitExplorer(model, "ioi", n_pairs=4, n_features=32, n_saes=1, position="last", live=False)
    pos, answers = list(e.panel.positives), list(e.panel.answers)
    pos[1], answers[1] = LONG, "Tom"
    e.panel.set_pairs(pos, e.panel.negatives, answers)
    e.run()
    # answers the random model predicts: the positives are solved, so the logit difference is
    # positive (faithfulness is defined); negatives it still solves are flagged
    answers = [row["top_token"] for row in e.panel.positive_behaviour]
    e.panel.set_pairs(pos, e.panel.negatives, answers)
    e.run()
    assert e.error == "" and e.edges and e.agreement and e.faithfulness_kept is not None
    yield e
    e.close()


def _open(page, widget, width=1200):
    page.set_viewport_size({"width": width, "height": 900})
    route_page(page, bare_page_html("circuit_explorer", widget))
    page.goto(ROOT + "/")
    page.wait_for_function("window.rendered === true", timeout=15000)
    assert page.evaluate("window.errors") == []


def _box(page, selector):
    return page.locator(selector).first.bounding_box()


def test_prompts_left_and_grid_right_when_wide_stacked_when_narrow(page, explorer):
    _open(page, explorer, width=1200)
    panel, grid = _box(page, ".scw-panel-box"), _box(page, ".scw-grid-box")
    assert panel["x"] + panel["width"] <= grid["x"] + 1  # side by side
    assert abs(panel["y"] - grid["y"]) < 5
    inspector = _box(page, ".scw-inspector-box")
    assert inspector["x"] >= grid["x"] - 1 and inspector["y"] > grid["y"]  # the inspector under the grid, on the right
    _open(page, explorer, width=900)
    panel, grid = _box(page, ".scw-panel-box"), _box(page, ".scw-grid-box")
    assert grid["y"] >= panel["y"] + panel["height"] - 1  # stacked
    assert abs(panel["x"] - grid["x"]) < 5


def test_a_long_multi_line_prompt_shows_whole_and_tokens_show_on_demand(page, explorer):
    _open(page, explorer)
    area = page.locator(".scw-positive textarea.scw-input").nth(1)
    assert area.input_value() == LONG
    fits = area.evaluate("e => e.scrollHeight <= e.clientHeight + 2 && e.scrollWidth <= e.clientWidth + 2")
    assert fits, "the text area grows with its text: nothing is cut off"
    assert area.evaluate("e => e.clientHeight") > page.locator(".scw-positive textarea.scw-input").nth(0).evaluate("e => e.clientHeight")
    visible = "els => els.filter(e => getComputedStyle(e).display !== 'none').length"
    assert page.eval_on_selector_all(".scw-tokens", visible) == 0  # no chips until asked
    area.focus()
    assert page.eval_on_selector_all(".scw-tokens", visible) == 2  # the edited row's two prompts
    page.locator(".scw-tokens-toggle").click()
    panel_id = explorer.panel.model_id
    assert page.evaluate(f"window.models['{panel_id}'].get('show_tokens')") is True
    assert page.eval_on_selector_all(".scw-tokens", visible) == 8


def test_each_prompt_shows_what_the_model_does_and_the_summary_sits_above_the_grid(page, explorer):
    _open(page, explorer)
    summary = page.locator(".scw-grid-box .scw-behaviour-summary .scw-summary-line")
    assert summary.inner_text() == f"model check: {explorer.behaviour_summary}"
    assert _box(page, ".scw-behaviour-summary")["y"] < _box(page, ".scw-grid")["y"]
    kinds = page.eval_on_selector_all(".scw-prompt .scw-behaviour", "els => els.map(e => e.dataset.kind)")
    rows = explorer.panel.positive_behaviour + explorer.panel.negative_behaviour
    order = [r for pair in zip(explorer.panel.positive_behaviour, explorer.panel.negative_behaviour) for r in pair]
    want = [
        "flag" if (r["side"] == "positive") != bool(r["solved"]) else "ok" for r in order
    ]
    assert kinds == want and len(kinds) == len(rows) and "flag" in want
    flagged = page.locator(".scw-prompt.scw-flagged")
    assert flagged.count() == want.count("flag")
    first = page.locator(".scw-prompt .scw-behaviour").first.inner_text()
    assert f"top {order[0]['top_token']!r}".replace("'", '"') in first and "Δlogit" in first
    # editing a prompt marks its model check as pending until the new result arrives
    page.locator(".scw-positive textarea.scw-input").first.fill("When Tom and Anna went to the park , Anna gave a book to")
    assert page.locator(".scw-prompt .scw-behaviour").first.get_attribute("data-kind") == "pending"


def test_score_kind_k_and_the_edge_graph_write_back(page, explorer):
    _open(page, explorer)
    main, k_max = explorer.model_id, explorer.k_max
    page.select_option("select.scw-set-score_kind", "overlap")
    assert page.evaluate(f"window.models['{main}'].get('score_kind')") == "overlap"
    # agreement and faithfulness as Python computed them
    agree = page.locator(".scw-agreement").inner_text()
    assert agree.startswith(f"SAE vs EAP: Spearman {explorer.agreement['spearman']:.2f}")
    value = page.locator(".scw-faithfulness-value").inner_text()
    assert value == f"top 5 head(s) keep {explorer.faithfulness_kept * 100:.0f}% of the logit difference (others mean-ablated)"
    assert page.locator(".scw-curve polyline").get_attribute("points").count(",") == k_max + 1
    slider = page.locator("input.scw-k-range")
    assert slider.get_attribute("max") == str(k_max)
    slider.fill("3")
    assert page.evaluate(f"window.models['{main}'].get('k')") == 3
    box = page.locator("input.scw-k-number")
    box.fill("99")
    box.press("Enter")
    assert page.evaluate(f"window.models['{main}'].get('k')") == 3 and box.input_value() == "99"
    # the edge graph: one line per edge, wider for a stronger edge; a click selects it
    lines = page.locator(".scw-edge-graph line.scw-edge")
    assert lines.count() == len(explorer.edges)
    widths = page.eval_on_selector_all(".scw-edge-graph line.scw-edge", "els => els.map(e => Number(e.getAttribute('stroke-width')))")
    assert widths == sorted(widths, reverse=True) and widths[0] == 6.0
    page.locator(".scw-edge-hit").nth(1).dispatch_event("click")  # edges may cross: click this one, not what lies on top
    assert page.evaluate(f"window.models['{main}'].get('selected_edge')") == 1
    assert "scw-edge-selected" in lines.nth(1).get_attribute("class")


def test_whole_number_scores_get_a_discrete_legend_and_eap_without_answers_its_reason(page):
    from sae_circuits_widget.testing import tiny_model

    pos = ["When Mary and John went to the store , John gave a drink to", "When Tom and Anna went to the park , Anna gave a book to"]
    neg = ["When Mary and John went to the store , Tom gave a drink to", "When Tom and Anna went to the park , John gave a book to"]
    with short_sae_fit():
        e = CircuitExplorer(tiny_model(), None, positives=pos * 2, negatives=neg * 2, n_features=32, n_saes=1, position="last", live=False)
    try:
        _open(page, e)
        levels = page.eval_on_selector_all(".scw-legend-level", "els => els.map(e => e.textContent)")
        assert levels == [str(int(v)) for v in sorted(set(e.result.node_scores.reshape(-1)))]
        e.score_kind = "eap"
        _open(page, e)
        reason = page.locator(".scw-grid-unavailable")
        assert reason.is_visible() and "EAP needs answers" in reason.inner_text()
        assert not page.locator(".scw-grid").is_visible()
        assert "EAP needs answers" in page.locator(".scw-agreement").inner_text()
        assert page.locator(".scw-summary-line").inner_text().startswith("model check: no answers given")
    finally:
        e.close()
