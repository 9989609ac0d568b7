"""Reliability cases of issue 6 that the per-module tests leave open.

Each test names its case number. The scoring cases use prompts whose scores are not all
zero (``position="last"`` on the tiny model), so a double count would show.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import torch
from engine_helpers import toy_ioi
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sae_circuits_widget import discover
from sae_circuits_widget.engine.activations import HeadOutputCache
from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.engine.scoring import unique_positive_codes, unique_positive_pairs
from sae_circuits_widget.engine.session import Session
from sae_circuits_widget.engine.validation import check_prompts, validate_prompts
from sae_circuits_widget.errors import FileFormatError, PromptError, PromptTypeError, UnsupportedModelError

# the warning for a ranking with no signal is tested in test_discover
pytestmark = pytest.mark.filterwarnings("ignore:no head has a code unique")

TASK = toy_ioi(6)
LAST = dict(n_features=32, position="last", n_saes=1)  # the tiny model shows codes unique to positives here; one SAE


# ---------------------------------------------------------------- policy


def test_unequal_counts_and_duplicates_are_documented_where_users_read():
    for fn in (discover, validate_prompts):
        doc = " ".join(inspect.getdoc(fn).split())
        assert "differ in length" in doc or "different numbers of positives and negatives" in doc, fn
        assert "count once" in doc and "duplicate" in doc.lower(), fn


def test_duplicate_prompts_change_no_score(tiny_model):
    first = discover(tiny_model, TASK, **LAST)
    assert first.node_scores.any() and first.edge_scores.any()  # otherwise a double count could not show
    doubled = discover(
        tiny_model,
        positives=TASK.positives + TASK.positives[::-1],  # every positive twice
        negatives=TASK.negatives + TASK.negatives[:1],
        sae=first.sae,
        **LAST,
    )
    np.testing.assert_array_equal(doubled.node_scores, first.node_scores)
    np.testing.assert_array_equal(doubled.edge_scores, first.edge_scores)
    np.testing.assert_array_equal(doubled.edge_head_scores, first.edge_head_scores)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.data())
def test_repeating_a_prompt_never_changes_scores(data):
    n_prompts = data.draw(st.integers(2, 8))
    n_heads = data.draw(st.integers(2, 5))
    codes = data.draw(arrays(np.int64, (n_prompts, n_heads), elements=st.integers(-1, 5)))
    pos = data.draw(arrays(np.bool_, (n_prompts,), elements=st.booleans()))
    extra = data.draw(st.lists(st.integers(0, n_prompts - 1), min_size=1, max_size=4))
    more_codes, more_pos = np.vstack([codes, codes[extra]]), np.concatenate([pos, pos[extra]])
    np.testing.assert_array_equal(unique_positive_codes(more_codes, more_pos), unique_positive_codes(codes, pos))
    np.testing.assert_array_equal(unique_positive_pairs(more_codes, more_pos), unique_positive_pairs(codes, pos))


def test_unequal_counts_run_both_ways(tiny_model):
    for pos, neg in ((TASK.positives, TASK.negatives[:2]), (TASK.positives[:2], TASK.negatives)):
        r = discover(tiny_model, positives=pos, negatives=neg, **LAST)
        assert r.is_positive.tolist() == [True] * len(pos) + [False] * len(neg)
        np.testing.assert_array_equal(r.node_scores.reshape(-1), unique_positive_codes(r.codes, r.is_positive))


# ---------------------------------------------------------------- prompt text


def test_too_long_prompt_stops_discovery_before_compute(tiny_model):
    long = " ".join(["Mary"] * (tiny_model.cfg.n_ctx + 5))
    cache = HeadOutputCache()
    with pytest.raises(PromptError, match=rf"negatives\[6\] is {tiny_model.cfg.n_ctx + 6} tokens.*shorten it"):
        discover(tiny_model, positives=TASK.positives, negatives=TASK.negatives + [long], cache=cache)
    assert cache.forward_prompts == 0


def test_unknown_answer_word_is_named_as_unknown(tiny_model):
    issues = validate_prompts(tiny_model, TASK.positives[:2], TASK.negatives[:2], ["Mary", "Zelda"])
    assert [(i.index, i.kind) for i in issues] == [(1, "answer_not_single_token")]
    assert "'Zelda'" in issues[0].message and "does not know" in issues[0].message
    assert "1 tokens" not in issues[0].message
    assert issues[0].words == ("Zelda",)


@pytest.mark.parametrize("text", ["When Zoë went 🙂 to the store", "<script>alert('Mary')</script> & <b>John</b>"])
def test_odd_text_survives_validation_and_saving(tiny_model, text, tmp_path):
    pos = TASK.positives[:2] + [text]
    issues = validate_prompts(tiny_model, pos, TASK.negatives)
    assert [i.kind for i in issues] == ["unknown_words"]
    assert all(w in text for w in issues[0].words)
    with pytest.raises(PromptError) as info:
        check_prompts(tiny_model, pos, TASK.negatives)
    assert info.value.issues[0].index == 2
    # the text the user typed is saved and read back exactly, whatever it contains
    session = Session(tiny_model)
    path = tmp_path / "session.json"
    session.to_json(path, positives=pos, negatives=TASK.negatives)
    assert Session.read_saved(path)["positives"] == pos


# ---------------------------------------------------------------- models


def test_discover_refuses_a_model_without_heads_before_anything_else():
    with pytest.raises(UnsupportedModelError, match="no attention heads.*load_model"):
        discover(torch.nn.Linear(3, 3), positives=TASK.positives, negatives=TASK.negatives)
    assert issubclass(UnsupportedModelError, ValueError)


# ---------------------------------------------------------------- saved files


@pytest.fixture(scope="module")
def saved(tiny_model):
    session = Session(tiny_model)
    session.discover(TASK.positives, TASK.negatives, n_features=16)
    return session.to_json(), session.last_result.to_json(include_sae=True)


def test_a_binary_file_is_a_format_error(tmp_path, saved):
    path = tmp_path / "weights.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00 not json")
    for read in (CircuitResult.from_json, Session.read_saved):
        with pytest.raises(FileFormatError, match="not a text.*to_json"):
            read(path)


def test_a_newer_result_file_is_refused(saved):
    data = json.loads(saved[1])
    data["format_version"] += 1
    with pytest.raises(FileFormatError, match="newer version.*upgrade"):
        CircuitResult.loads(json.dumps(data))


def test_damaged_sae_weights_are_a_format_error(saved):
    data = json.loads(saved[1])
    data["sae"]["weights"]["W_dec"] = [[1.0, 2.0]]
    with pytest.raises(FileFormatError, match=r"damaged \(RuntimeError: [^\n]*\); save it again"):
        CircuitResult.loads(json.dumps(data))


@pytest.mark.parametrize("value", ["When Mary and John went", ["ok", 3], None])
def test_saved_prompts_are_never_coerced(saved, value):
    data = json.loads(saved[0])
    data["positives"] = value
    with pytest.raises(FileFormatError, match="positives are missing or not a list of texts"):
        Session.read_saved_text(json.dumps(data))


# ---------------------------------------------------------------- safe files


UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "cloudpickle", "shelve", "marshal"}
UNSAFE_CALLS = {"torch.load", "torch.jit.load", "np.load", "numpy.load", "pd.read_pickle", "pandas.read_pickle"}


def _unsafe_uses(source: str) -> list[str]:
    """Imports of pickle-like modules and calls of pickle-based loaders, from the syntax tree."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(node.module)
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in UNSAFE_CALLS:
                found.append(name)
    return found


def test_no_pickle_based_loading_by_syntax_tree():  # safe files
    from pathlib import Path

    import sae_circuits_widget

    root = Path(sae_circuits_widget.__file__).parent
    offenders = {
        str(p.relative_to(root)): uses
        for p in sorted(root.rglob("*.py"))
        if (uses := _unsafe_uses(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}
    # the scanner sees the forms a line-by-line pattern can miss
    assert _unsafe_uses("from pickle import loads\nimport dill as d\nx = torch.load(\n  p)\ny = pd.read_pickle(p)") == [
        "pickle", "dill", "torch.load", "pd.read_pickle"
    ]
    assert _unsafe_uses("from safetensors.torch import load_file\nw = load_file(p)") == []


def test_bundled_weights_are_safetensors_and_json():
    from pathlib import Path

    import sae_circuits_widget

    weights = Path(sae_circuits_widget.__file__).parent / "organism" / "weights"
    suffixes = {p.suffix for p in weights.iterdir() if p.is_file()}
    assert ".safetensors" in suffixes
    assert suffixes <= {".safetensors", ".json", ".md", ".txt"}


# ---------------------------------------------------------------- wrong types, missing lists


def test_a_missing_list_says_to_pass_it_not_to_convert_tensors(tiny_model):
    with pytest.raises(PromptTypeError, match=r"negatives is missing.*negatives=\[\.\.\.\]") as info:
        discover(tiny_model, positives=TASK.positives)
    assert "tensor" not in str(info.value)
    with pytest.raises(PromptTypeError, match=r"got ndarray of texts.*tolist"):
        validate_prompts(tiny_model, np.array(TASK.positives), TASK.negatives)
    with pytest.raises(PromptTypeError, match=r"got Tensor; convert token tensors"):
        validate_prompts(tiny_model, torch.tensor([[1, 2]]), TASK.negatives)


def test_top_heads_takes_a_whole_number():
    from sae_circuits_widget.engine.result import CircuitResult

    r = CircuitResult("x", node_scores=np.array([[0.1, 0.9], [0.5, 0.0]]))
    assert r.top_heads(2) == [(0, 1), (1, 0)]
    for bad in (3.5, "2", -1, True):
        with pytest.raises(TypeError, match="whole number"):
            r.top_heads(bad)
