"""Render the CircuitExplorer on the bundled model in Chromium and save a PNG.

    python -m tests.browser.make_screenshot docs/explorer.png

The page is the bare test page (the built bundle, state from a real Python explorer),
so the picture is exactly what a notebook shows, without JupyterLab's chrome: prompts
with the model check under each on the left; on the right the summary line, the grid,
the strongest edges (the first one chosen, its code pairs listed), the agreement with
EAP, the k control with the faithfulness curve, and the code inspector.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from .pages import CHROMIUM_ARGS, ROOT, bare_page_html, chromium_path, route_page


def main(out: str = "docs/explorer.png") -> None:
    warnings.simplefilter("ignore", UserWarning)
    from playwright.sync_api import sync_playwright

    from sae_circuits_widget.widgets import CircuitExplorer

    explorer = CircuitExplorer(task="ioi", n_pairs=6, live=False)
    explorer.selected_edge = 0
    html = bare_page_html("circuit_explorer", explorer)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        route_page(page, html)
        page.goto(ROOT + "/")
        page.wait_for_function("window.rendered === true")
        page.locator("#root").screenshot(path=out)
        browser.close()
    explorer.close()
    print(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
