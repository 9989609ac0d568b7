"""Only safetensors and JSON are read from disk: no pickle-based loading anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import sae_circuits_widget

PACKAGE = Path(sae_circuits_widget.__file__).parent
UNSAFE = re.compile(r"\btorch\.load\(|\bimport pickle\b|\bpickle\.loads?\(|\bjoblib\b|\bnp\.load\(|\bnumpy\.load\(|\bdill\b")


def test_no_pickle_based_loading_in_the_package():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if UNSAFE.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{i}: {line.strip()}")
    assert offenders == []


def test_the_scanner_catches_unsafe_calls():
    assert UNSAFE.search("w = torch.load(path)")
    assert UNSAFE.search("import pickle")
    assert not UNSAFE.search("from safetensors.torch import load_file")


def test_bundled_weights_are_safetensors_and_json():
    weights = PACKAGE / "organism" / "weights"
    suffixes = {p.suffix for p in weights.iterdir() if p.is_file()}
    assert ".safetensors" in suffixes
    assert suffixes <= {".safetensors", ".json", ".md", ".txt"}
