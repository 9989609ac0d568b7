"""The project-side helpers of benchmarks/reference_crosscheck.py (no reference code needed)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_crosscheck.py"


@pytest.fixture(scope="module")
def rc():
    spec = importlib.util.spec_from_file_location("reference_crosscheck", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_code_agreement_counts_silent_only_as_no_code(rc):
    ours = np.array([[3, -1, 0, 2], [-1, -1, 5, 0]])
    theirs = np.array([[3, 0, 0, 1], [0, 0, 5, 0]])
    silent = np.array([[False, True, True, False], [True, False, False, True]])
    # matches: 3/3, -1/silent, (0 vs silent: no), 2/1 no; -1/silent, -1 vs live 0 no, 5/5, (0 vs silent: no)
    agree, live = rc.code_agreement(ours, theirs, silent)
    assert agree == pytest.approx(4 / 8)
    assert live == pytest.approx(2 / 6)  # two vectors silent on both sides are left out


def test_code_agreement_all_silent(rc):
    agree, live = rc.code_agreement(np.full(3, -1), np.zeros(3, dtype=int), np.ones(3, dtype=bool))
    assert agree == 1.0 and np.isnan(live)


def test_loss_differences(rc):
    assert rc.loss_differences([1.0, 2.0], [1.0, 2.0]) == (0.0, 0.0)
    abs_d, rel_d = rc.loss_differences([1.0, 2.5], [1.0, 2.0])
    assert abs_d == pytest.approx(0.5) and rel_d == pytest.approx(0.25)
    with pytest.raises(ValueError):
        rc.loss_differences([1.0], [1.0, 2.0])


def test_silence_to_no_code_and_labels(rc):
    out = rc.silence_to_no_code(np.array([[0, 4], [0, 1]]), np.array([[True, False], [False, False]]))
    assert out.tolist() == [[-1, 4], [0, 1]]
    assert rc.head_labels(2, 2) == ["L0H0", "L0H1", "L1H0", "L1H1"]


def test_pooled_counts(rc):
    components = [(1, 0), (0, 1), (1, 0), (0, 0), (1, 1)]
    assert rc.pooled_counts(components, 3, 2, 2).tolist() == [[0, 1], [2, 0]]


def test_stubs_import_and_refuse_calls(rc, tmp_path):
    stubs = rc.write_stubs(tmp_path / "stubs")
    code = (
        "import plotly.express as px, plotly.io, plotly.graph_objects as go, fancy_einsum\n"
        "from plotly.subplots import make_subplots\n"
        "from sparse_autoencoder import SparseAutoencoder\n"
        "from transformer_lens import HookedTransformer, HookedTransformerConfig\n"
        "import transformer_lens.utils as utils\n"
        "assert 'stubs' in utils.__file__\n"
        "try:\n    utils.to_numpy(1)\nexcept NotImplementedError:\n    print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(stubs)}, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
