"""Reliability findings 4-8: saved files, paths, the CLI's paths, rankings, typed special
tokens and seeds. Each test names its finding."""

from __future__ import annotations

import functools
import io
import json
import os

import numpy as np
import pytest
from engine_helpers import toy_ioi

from sae_circuits_widget import cli
from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.engine.session import Session
from sae_circuits_widget.engine.validation import check_prompts, validate_prompts
from sae_circuits_widget.errors import FileFormatError, PromptError, SettingsError, SettingsTypeError

pytestmark = pytest.mark.filterwarnings("ignore:no head has a code unique")

TASK = toy_ioi(6)
FAST = dict(n_pairs=6, n_features=32, n_train=4, live=False, position="last")


@pytest.fixture
def short_fit(monkeypatch):
    import importlib

    discover_module = importlib.import_module("sae_circuits_widget.engine.discover")
    monkeypatch.setattr(discover_module, "fit_saes", functools.partial(discover_module.fit_saes, epochs=40))


@pytest.fixture
def explorer(tiny_model, short_fit):
    from sae_circuits_widget.widgets import CircuitExplorer

    e = CircuitExplorer(tiny_model, "ioi", **FAST)
    yield e
    e.close()


@pytest.fixture
def on_tiny(monkeypatch, tiny_model):
    import sae_circuits_widget.engine.model as model_mod

    monkeypatch.setattr(model_mod, "load_model", lambda name=None, **k: tiny_model)
    return tiny_model


# ---------------------------------------------------------------- a saved file agrees with itself


@pytest.mark.parametrize("edit", ["empty_positives", "unknown_word"])
def test_save_after_invalid_edit_keeps_result_prompts_and_the_edit_apart(explorer, tmp_path, tiny_model, edit):
    from sae_circuits_widget.widgets import CircuitExplorer

    good = explorer.result
    good_pos = [p for p, f in zip(good.prompts, good.is_positive) if f]
    good_neg = [p for p, f in zip(good.prompts, good.is_positive) if not f]
    if edit == "empty_positives":
        explorer.panel.positives = []
        typed_pos = []
    else:
        typed_pos = list(explorer.panel.positives)
        typed_pos[1] = "When Zorblax went to the store"
        explorer.panel.positives = typed_pos
    assert explorer.error and explorer.result is good  # the edit failed; the last good result stays
    path = explorer.save(tmp_path / "c.json")

    raw = json.loads(path.read_text())
    # the prompts beside the result are the ones it was computed from
    assert raw["positives"] == good_pos and raw["negatives"] == good_neg
    assert raw["result"]["prompts"] == good_pos + good_neg
    # the edit is kept, apart
    assert raw["unsaved_edit"]["positives"] == typed_pos
    assert raw["unsaved_edit"]["negatives"] == good_neg
    saved = Session.read_saved(path)
    assert saved["positives"] == good_pos and saved["unsaved_edit"]["positives"] == typed_pos
    assert saved["result"].prompts == good_pos + good_neg

    # loading brings back the result's prompts and the edit on top of them, with its problem shown
    again = CircuitExplorer.load(path, tiny_model, live=False)
    try:
        assert again.result is not None and again.result.prompts == good_pos + good_neg
        assert again.panel.positives == typed_pos and again.error
        assert again.unsaved_edit["positives"] == typed_pos
    finally:
        again.close()


def test_save_without_an_edit_has_no_unsaved_edit(explorer, tmp_path):
    path = explorer.save(tmp_path / "c.json")
    saved = Session.read_saved(path)
    assert saved["unsaved_edit"] is None and "unsaved_edit" not in json.loads(path.read_text())
    assert saved["positives"] == explorer.panel.positives


# ---------------------------------------------------------------- paths are paths


def test_a_path_starting_with_a_bracket_is_a_path(explorer, tmp_path, tiny_model, monkeypatch):
    from sae_circuits_widget.widgets import CircuitExplorer

    monkeypatch.chdir(tmp_path)
    for path in ("[draft] circuit.json", "{v2} circuit.json", " [x].json"):
        explorer.save(path)
        again = CircuitExplorer.load(path, tiny_model, live=False, run=False)
        assert again.panel.positives == explorer.panel.positives
        again.close()
        assert Session.read_saved(path)["positives"] == explorer.panel.positives
        assert Session.load(tiny_model, path)[1]["positives"] == explorer.panel.positives
        explorer.result.to_json(path)
        assert CircuitResult.from_json(path).prompts == explorer.result.prompts


def test_json_text_goes_through_its_own_call(explorer, tmp_path, tiny_model):
    from sae_circuits_widget.widgets import CircuitExplorer

    path = explorer.save(tmp_path / "c.json")
    text = path.read_text()
    assert Session.read_saved_text(text)["positives"] == explorer.panel.positives
    session, saved = Session.loads(tiny_model, text)
    assert saved["positives"] == explorer.panel.positives and session.last_result is not None
    again = CircuitExplorer.loads(text, tiny_model, live=False, run=False)
    assert again.panel.positives == explorer.panel.positives
    again.close()
    r_text = explorer.result.to_json()
    assert CircuitResult.loads(r_text).prompts == explorer.result.prompts
    # file objects are read too
    assert Session.read_saved(io.StringIO(text))["positives"] == explorer.panel.positives
    with open(path, "rb") as f:
        assert Session.read_saved(f)["positives"] == explorer.panel.positives
    # text given where a path is expected: told to use the text call
    with pytest.raises(FileFormatError, match=r"no such file.*read_saved_text"):
        Session.read_saved(text)
    with pytest.raises(FileFormatError, match=r"no such file.*CircuitResult.loads"):
        CircuitResult.from_json(r_text)


def test_a_folder_is_not_a_saved_file(tmp_path):
    with pytest.raises(FileFormatError, match="is a folder"):
        Session.read_saved(tmp_path)


# ---------------------------------------------------------------- the CLI checks paths first


@pytest.fixture
def prompts_file(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"positives": TASK.positives, "negatives": TASK.negatives}))
    return p


def _no_compute(monkeypatch):
    """Make any discovery, demo or benchmark run fail loudly: the paths must be checked first."""
    import importlib

    bench = importlib.import_module("sae_circuits_widget.evaluation.benchmark")
    disc = importlib.import_module("sae_circuits_widget.engine.discover")

    def boom(*a, **k):
        raise AssertionError("computed before checking the paths")

    monkeypatch.setattr(disc, "discover", boom)
    monkeypatch.setattr(cli, "run_demo", boom)
    monkeypatch.setattr(bench, "run_benchmark", boom)


@pytest.mark.parametrize(
    "argv, match",
    [
        (["discover", "--prompts", "."], "--prompts '.' is a folder"),
        (["discover", "--prompts", "{tmp}/missing.json"], "no such prompts file"),
        (["discover", "--prompts", "{prompts}", "--json", "."], "--json '.' is a folder"),
        (["discover", "--prompts", "{prompts}", "--json", "{tmp}/no/such/dir/out.json"], "folder .* does not exist"),
        (["discover", "--prompts", "{prompts}", "--json", "{prompts}/out.json"], "is not a folder"),
        (["discover", "--prompts", "{prompts}", "--json", "/proc/sae-circuits-out.json"], "cannot write"),
        (["discover", "--prompts", "{prompts}", "--json", "{prompts}"], "would overwrite the --prompts file"),
        (["discover", "--task", "ioi", "--json", "{tmp}"], "is a folder"),
        (["demo", "--json", "{tmp}"], "is a folder"),
        (["demo", "--json", "/proc/sae-circuits-out.json"], "cannot write"),
        (["bench", "--tasks", "ioi", "--json", "{tmp}/no/out.json"], "does not exist"),
    ],
)
def test_cli_bad_paths_are_one_line_before_any_compute(monkeypatch, capsys, on_tiny, tmp_path, prompts_file, argv, match):
    _no_compute(monkeypatch)
    monkeypatch.chdir(tmp_path)
    argv = [a.format(tmp=tmp_path, prompts=prompts_file) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sae-circuits: error:") and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1
    import re

    assert re.search(match, err), err
    assert not os.path.exists("/proc/sae-circuits-out.json")


def test_cli_checking_a_new_output_path_leaves_no_file(monkeypatch, capsys, on_tiny, tmp_path, prompts_file):
    out = tmp_path / "out.json"
    _no_compute(monkeypatch)
    with pytest.raises(AssertionError, match="computed before"):
        cli.main(["discover", "--prompts", str(prompts_file), "--json", str(out)])
    assert not out.exists()


def test_model_help_names_local_folders():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for name in ("discover", "bench"):
        help_text = next(a.help for a in sub[name]._actions if a.dest == "model")
        assert "save_pretrained" in help_text and "folder" in help_text


# ---------------------------------------------------------------- no ties at zero in rankings


def test_top_heads_stop_at_the_last_positive_score():
    r = CircuitResult("x", node_scores=np.array([[0.0, 3.0, 0.0], [1.0, 0.0, 0.0]]))
    assert r.top_heads(5) == [(0, 1), (1, 0)]
    assert CircuitResult("x", node_scores=np.zeros((2, 3))).top_heads(5) == []
    assert r.top_heads(1) == [(0, 1)]


def test_ties_rank_by_pooled_edge_score_then_index_everywhere():
    node = np.array([[2.0, 2.0, 0.0], [2.0, 0.0, 1.0]])
    pooled = np.array([[0.5, 3.0, 9.0], [0.5, 0.0, 0.0]])
    from sae_circuits_widget.engine.result import rank_heads

    r = CircuitResult("sae", node_scores=node, edge_head_scores=pooled)
    assert r.top_heads(4) == [(0, 1), (0, 0), (1, 0), (1, 2)]
    assert rank_heads(node, pooled) == r.top_heads(6)


def test_cli_discover_table_and_json_rank_the_same(monkeypatch, capsys, on_tiny, tmp_path, prompts_file):
    import importlib

    discover_module = importlib.import_module("sae_circuits_widget.engine.discover")

    node = np.zeros((on_tiny.cfg.n_layers, on_tiny.cfg.n_heads))
    node[1, 3], node[0, 2], node[1, 0] = 2.0, 2.0, 1.0
    pooled = np.zeros_like(node)
    pooled[1, 3] = 5.0  # breaks the tie with 0.2
    fake = CircuitResult(
        "sae", node_scores=node, is_positive=np.array([True] * 6 + [False] * 6),
        edge_head_scores=pooled, timings={"x": 0.1},
    )
    monkeypatch.setattr(discover_module, "discover", lambda *a, **k: fake)
    out = tmp_path / "o.json"
    assert cli.main(["discover", "--prompts", str(prompts_file), "--top", "5", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = [line.split() for line in printed.splitlines() if line.strip()[:1].isdigit() and line.split()[1].startswith("L")]
    assert [row[1] for row in rows] == ["L1H3", "L0H2", "L1H0"]  # only heads that scored above 0
    assert json.loads(out.read_text())["top_heads"] == [[1, 3], [0, 2], [1, 0]]
    assert "score > 0" in printed


def test_demo_table_shows_only_positive_heads_and_says_so():
    rows = [{
        "task": "docstring", "n_ground_truth": 5, "n_heads": 24, "node_auc": 0.4, "edge_auc": 0.5,
        "best_f1": 0.3, "silent_fraction": 0.1, "seconds": 0.5, "top_heads": [(0, 2), (1, 2)],
    }]
    table = cli.format_demo_table(rows)
    header = table.splitlines()[0]
    assert "top heads (score > 0)" in header and "top 5" not in header
    assert table.splitlines()[2].endswith("0.2 1.2")


def test_demo_json_and_table_agree(monkeypatch, on_tiny):
    import importlib

    tasks_module = importlib.import_module("sae_circuits_widget.tasks")
    discover_module = importlib.import_module("sae_circuits_widget.engine.discover")

    node = np.zeros((2, 4))
    node[0, 1] = 3.0
    fake = CircuitResult("sae", node_scores=node,
                         settings={"n_features": 2, "l1": 0.0, "position": "mean", "recipe": "paper", "n_train": 2, "n_saes": 1})
    monkeypatch.setattr(discover_module, "discover", lambda *a, **k: fake)
    monkeypatch.setattr(tasks_module, "TASK_NAMES", ("ioi",))
    out = cli.run_demo(n=4)
    assert out["tasks"]["ioi"]["top_heads"] == [[0, 1]]
    assert out["_rows"][0]["top_heads"] == [(0, 1)]


# ---------------------------------------------------------------- special tokens, seeds, long words


def test_typed_special_tokens_are_flagged(tiny_model):
    pos = ["Mary <bos> John <pad>", TASK.positives[1]]
    issues = validate_prompts(tiny_model, pos, TASK.negatives[:2])
    assert [(i.side, i.index, i.kind) for i in issues] == [("positives", 0, "special_tokens")]
    assert "'<bos>'" in issues[0].message and "'<pad>'" in issues[0].message
    assert "special token" in issues[0].message and "remove" in issues[0].message
    assert issues[0].words == ("<bos>", "<pad>")
    with pytest.raises(PromptError, match="special token"):
        check_prompts(tiny_model, pos, TASK.negatives[:2])
    # a typed unknown-token marker is a special token, not an unknown word
    issues = validate_prompts(tiny_model, ["Mary <unk>", TASK.positives[1]], TASK.negatives[:2])
    assert [i.kind for i in issues] == ["special_tokens"]


@pytest.mark.parametrize("seed", [float("nan"), None, "abc", -5, [1, 2], 2**63, 1.0, True])
def test_get_task_validates_seeds_like_settings(tiny_model, seed):
    from sae_circuits_widget import get_task
    from sae_circuits_widget.settings import Settings

    with pytest.raises((SettingsError, SettingsTypeError)) as info:
        get_task("ioi", tiny_model, n=2, seed=seed)
    with pytest.raises(type(info.value)) as same:
        Settings(seed=seed)
    assert str(info.value) == str(same.value)


def test_get_task_takes_valid_seeds(tiny_model):
    from sae_circuits_widget import get_task

    assert get_task("ioi", tiny_model, n=2, seed=np.int64(3)).positives == get_task("ioi", tiny_model, n=2, seed=3).positives
    get_task("ioi", tiny_model, n=2, seed=2**63 - 1)


def test_cli_bench_seeds_are_checked(capsys, on_tiny, monkeypatch):
    _no_compute(monkeypatch)
    assert cli.main(["bench", "--tasks", "ioi", "--seeds", "0,-3"]) == 2
    assert "seed must be between 0" in capsys.readouterr().err


def test_a_long_unknown_word_is_shortened_in_the_message_only(tiny_model):
    word = "Zq" * 5000
    pos = [f"When {word} went", TASK.positives[1]]
    issues = validate_prompts(tiny_model, pos, TASK.negatives[:2])
    assert [i.kind for i in issues] == ["unknown_words"]
    assert len(issues[0].message) < 400 and "10000 characters" in issues[0].message
    assert issues[0].words == (word,)  # the word itself is kept whole
    assert pos[0] == f"When {word} went"
    with pytest.raises(PromptError) as info:
        check_prompts(tiny_model, pos, TASK.negatives[:2])
    assert len(str(info.value)) < 400
