"""The front end from Python's test run: the TypeScript unit tests (vitest + jsdom) and a
check that the shipped bundles are what the sources build to."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "sae_circuits_widget" / "static"
ENTRIES = ("prompt_panel", "head_grid", "code_inspector", "circuit_explorer")


def _need_node() -> None:
    if shutil.which("node") is None or not (ROOT / "node_modules" / ".bin" / "vitest").exists():
        msg = "node and the front-end dev dependencies are needed: npm ci"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def test_bundles_are_shipped():
    for name in ENTRIES:
        text = (STATIC / f"{name}.js").read_text()
        assert "export" in text and len(text) > 1000, f"{name}.js looks empty: run npm run build"


def test_bundles_match_the_sources(tmp_path):
    _need_node()
    subprocess.run(["node", "js/build.mjs", f"--outdir={tmp_path}"], cwd=ROOT, check=True, capture_output=True)
    stale = [n for n in ENTRIES if (tmp_path / f"{n}.js").read_bytes() != (STATIC / f"{n}.js").read_bytes()]
    assert not stale, f"bundles out of date: {stale}; run npm run build"


def test_typescript_unit_tests_pass():
    _need_node()
    proc = subprocess.run(["npm", "test", "--silent"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
