"""The sae-circuits command: demo, discover, bench, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from engine_helpers import toy_ioi

from sae_circuits_widget import cli

# the random tiny model often shows no task signal; that warning is tested on its own
pytestmark = pytest.mark.filterwarnings("ignore:no head has a code unique")


def test_demo_prints_the_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "demo.json"
    assert cli.main(["demo", "--n", "8", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "node AUC" in printed and "edge AUC" in printed and "best F1" in printed
    data = json.loads(out.read_text())
    from sae_circuits_widget.tasks import TASK_NAMES

    assert data["model"] == "sae-circuits-organism"
    assert set(data["tasks"]) == set(TASK_NAMES)
    for name, row in data["tasks"].items():
        assert {"node_auc", "edge_auc", "best_f1", "seconds", "n_heads", "n_ground_truth"} <= set(row)
        assert name in printed
        if row["n_ground_truth"]:
            assert 0.0 <= row["node_auc"] <= 1.0


@pytest.fixture()
def on_tiny(monkeypatch, tiny_model):
    import sae_circuits_widget.engine.model as model_mod

    monkeypatch.setattr(model_mod, "load_model", lambda name=None, **k: tiny_model)
    return tiny_model


def test_discover_with_a_prompts_file(tmp_path, capsys, on_tiny):
    task = toy_ioi(6)
    prompts = tmp_path / "p.json"
    prompts.write_text(json.dumps({"positives": task.positives, "negatives": task.negatives}))
    out = tmp_path / "scores.json"
    assert cli.main(["discover", "--prompts", str(prompts), "--features", "32", "--top", "5", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rank" in printed and printed.count("\n") >= 7
    data = json.loads(out.read_text())
    assert len(data["node_scores"]) == on_tiny.cfg.n_layers and len(data["top_heads"]) <= 5
    flat = [s for row in data["node_scores"] for s in row]
    assert len(data["top_heads"]) == min(5, sum(s > 0 for s in flat))  # only heads that scored above 0
    assert all(data["node_scores"][layer][h] > 0 for layer, h in data["top_heads"])


@pytest.mark.parametrize(
    "content, match",
    [
        ('{"positives": ["a"]', "not valid JSON"),
        ('{"positives": []}', "must hold a JSON object"),
        ('{"positives": [], "negatives": []}', "no positives"),
    ],
)
def test_discover_bad_prompts_file_is_one_line(tmp_path, capsys, on_tiny, content, match):
    prompts = tmp_path / "p.json"
    prompts.write_text(content)
    assert cli.main(["discover", "--prompts", str(prompts)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sae-circuits: error:") and match in err
    assert "Traceback" not in err


def test_discover_needs_exactly_one_source(capsys, on_tiny):
    assert cli.main(["discover"]) == 2
    assert "exactly one of --task" in capsys.readouterr().err


def test_unknown_task_and_model_are_one_line(capsys):
    assert cli.main(["discover", "--model", "gpt-2", "--task", "ioi"]) == 2
    err = capsys.readouterr().err
    assert "unknown model name" in err and "Traceback" not in err


def test_bench_delegates(monkeypatch, capsys, on_tiny):
    import sae_circuits_widget.evaluation.benchmark as bench

    calls = {}

    def fake_run(model, task_names, seeds, **kwargs):
        calls.update(model=model, tasks=task_names, seeds=seeds, **kwargs)
        return {"tasks": {}}

    monkeypatch.setattr(bench, "run_benchmark", fake_run)
    monkeypatch.setattr(bench, "format_table", lambda out: "TABLE")
    assert cli.main(["bench", "--tasks", "ioi,docstring", "--seeds", "0,1", "--methods", "sae,eap", "--n", "5"]) == 0
    assert capsys.readouterr().out.strip() == "TABLE"
    assert calls["tasks"] == ["ioi", "docstring"] and calls["seeds"] == [0, 1]
    assert calls["methods"] == ["sae", "eap"] and calls["n"] == 5 and calls["model"] is on_tiny
    assert cli.main(["bench", "--tasks", "ioi", "--seeds", "3"]) == 0
    assert calls["seeds"] == [0, 1, 2]
    assert cli.main(["bench", "--tasks", "ioi", "--seeds", "0"]) == 2


def test_bench_runs_on_one_cpu_thread_unless_told(monkeypatch, capsys, on_tiny):
    import torch

    import sae_circuits_widget.evaluation.benchmark as bench

    seen = []
    monkeypatch.setattr(bench, "run_benchmark", lambda *a, **k: seen.append(torch.get_num_threads()) or {"tasks": {}})
    monkeypatch.setattr(bench, "format_table", lambda out: "TABLE")
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert cli.main(["bench", "--tasks", "ioi"]) == 0
        assert cli.main(["bench", "--tasks", "ioi", "--threads", "2"]) == 0
        assert seen == [1, 2]
        assert torch.get_num_threads() == 2  # restored after the run
        assert cli.main(["bench", "--tasks", "ioi", "--threads", "0"]) == 2
        assert "--threads must be at least 1" in capsys.readouterr().err
    finally:
        torch.set_num_threads(before)


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "sae_circuits_widget.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "demo" in out.stdout and "discover" in out.stdout


def test_unknown_task_lists_the_known_ones(capsys, on_tiny):
    assert cli.main(["discover", "--task", "nope"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "ioi" in err and "Traceback" not in err
