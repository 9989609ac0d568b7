"""A failed run and a refused setting as the page shows them, in real Chromium."""

from __future__ import annotations

import pytest

from sae_circuits_widget.widgets import CircuitExplorer

from .pages import ROOT, bare_page_html, route_page, short_sae_fit

pytestmark = pytest.mark.browser


@pytest.fixture
def failed_explorer(monkeypatch):
    from sae_circuits_widget.testing import tiny_model

    with short_sae_fit():
        e = CircuitExplorer(tiny_model(), "ioi", n_pairs=4, n_features=32, n_saes=1, position="last", live=False)

    def out_of_memory(*args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 8000000000000 bytes.")

    monkeypatch.setattr(e.session, "discover", out_of_memory)
    e.n_features = 4096  # valid, but the run fails
    assert e.stale and "out of memory" in e.error
    yield e
    e.close()


def test_a_failed_run_dims_the_old_result_and_a_bad_number_is_not_sent(page, failed_explorer):
    route_page(page, bare_page_html("circuit_explorer", failed_explorer))
    page.goto(ROOT + "/")
    page.wait_for_function("window.rendered === true", timeout=15000)
    assert page.evaluate("window.errors") == []
    banner = page.locator(".scw-stale-banner")
    assert banner.is_visible()
    assert banner.inner_text() == "stale: the last run failed; showing the result for n_features=32"
    assert "ran out of memory" in page.locator(".scw-run-error").inner_text()
    opacity = page.eval_on_selector(".scw-grid-box .scw-headgrid", "e => getComputedStyle(e).opacity")
    assert float(opacity) < 0.6
    assert float(page.eval_on_selector(".scw-inspector-box .scw-inspector", "e => getComputedStyle(e).opacity")) < 0.6

    features = page.locator("input.scw-set-n_features")
    assert features.get_attribute("max") == "65536"
    features.fill("1000000000000")
    features.press("Enter")
    main = failed_explorer.model_id
    assert page.evaluate(f"window.models['{main}'].get('n_features')") == 4096  # not sent
    assert page.evaluate(f"window.models['{main}'].saved.length") == 0
    assert features.input_value() == "1000000000000"  # the typed text stays
    assert "n_features must be between 2 and 65536" in page.locator(".scw-setting-error").inner_text()
