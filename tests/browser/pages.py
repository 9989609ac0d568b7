"""Serve the built widget bundles to a real Chromium page without a server.

``bare_page_html(states)`` builds a page that imports a bundle from
``http://widgets.test/static/`` and renders it against fake widget models whose state is
taken from real Python widgets (``widget.get_state()``), so the page shows exactly what
the Python side would send. Playwright's ``page.route`` answers those URLs from disk.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

ROOT = "http://widgets.test"
STATIC = Path(__file__).resolve().parents[2] / "sae_circuits_widget" / "static"

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


@contextlib.contextmanager
def short_sae_fit(epochs: int = 40):
    """Within the block, ``discover`` fits its SAEs for ``epochs`` epochs (keeps tests fast)."""
    import functools
    import importlib

    disc = importlib.import_module("sae_circuits_widget.engine.discover")
    name = "fit_saes" if hasattr(disc, "fit_saes") else "fit_sae"  # the ensemble's fits, or one
    original = getattr(disc, name)
    setattr(disc, name, functools.partial(original, epochs=epochs))
    try:
        yield
    finally:
        setattr(disc, name, original)


def chromium_path() -> str | None:
    """The system Chromium (Playwright cannot download browsers here)."""
    for cand in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    return None


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in state.items():
        if isinstance(v, (bytes, bytearray, memoryview)):
            out[k] = {"__b64__": base64.b64encode(bytes(v)).decode()}
        else:
            out[k] = v
    return out


def widget_states(widget: Any) -> dict[str, Any]:
    """``{model_id: state}`` of ``widget`` and every widget it references."""
    from ipywidgets import Widget

    found: dict[str, Any] = {}

    def visit(w: Any) -> None:
        if w.model_id in found:
            return
        state = w.get_state()
        found[w.model_id] = _jsonable(state)
        for name in w.keys:
            v = getattr(w, name, None)
            if isinstance(v, Widget):
                visit(v)

    visit(widget)
    return found


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>widget</title>
<style>body { margin: 12px; background: #fff; }</style></head>
<body><div id="root"></div>
<script type="module">
const STATES = %(states)s;
function decode(v) {
  if (v && typeof v === "object" && "__b64__" in v) {
    const bin = atob(v.__b64__);
    const buf = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
    return new DataView(buf.buffer);
  }
  return v;
}
class FakeModel {
  constructor(id, state) {
    this.id = id; this.state = {}; this.handlers = {}; this.saved = []; this.sent = [];
    for (const [k, v] of Object.entries(state)) this.state[k] = decode(v);
    this.widget_manager = { get_model: async (mid) => window.models[mid] };
  }
  get(k) { return this.state[k]; }
  set(k, v) { this.state[k] = v; (this.handlers["change:" + k] || []).slice().forEach((f) => f()); }
  on(ev, f) { (this.handlers[ev] = this.handlers[ev] || []).push(f); }
  off(ev, f) { if (ev && f && this.handlers[ev]) this.handlers[ev] = this.handlers[ev].filter((g) => g !== f); }
  save_changes() { this.saved.push(JSON.parse(JSON.stringify(this.state, (k, v) => (v instanceof DataView ? null : v)))); }
  send(content) { this.sent.push(content); }
}
window.models = {};
for (const [id, st] of Object.entries(STATES)) window.models[id] = new FakeModel(id, st);
window.errors = [];
window.addEventListener("error", (e) => window.errors.push(String(e.message)));
const mod = await import("%(root)s/static/%(bundle)s.js");
await mod.default.render({ model: window.models["%(main)s"], el: document.getElementById("root") });
window.rendered = true;
</script></body></html>
"""


def bare_page_html(bundle: str, widget: Any) -> str:
    """A page rendering ``bundle`` with the state of ``widget`` (and its parts)."""
    states = widget_states(widget)
    return PAGE % {"states": json.dumps(states), "root": ROOT, "bundle": bundle, "main": widget.model_id}


def route_page(page: Any, html: str) -> None:
    """Answer ``ROOT/`` with ``html`` and ``ROOT/static/*`` from the package's bundles."""

    def handle(route: Any) -> None:
        url = route.request.url
        if url.startswith(f"{ROOT}/static/"):
            path = STATIC / url[len(f"{ROOT}/static/"):]
            if path.is_file():
                route.fulfill(status=200, body=path.read_bytes(), content_type="text/javascript")
                return
            route.fulfill(status=404, body="missing")
            return
        if url.rstrip("/") == ROOT:
            route.fulfill(status=200, body=html, content_type="text/html")
            return
        route.abort()

    page.route("**/*", handle)
