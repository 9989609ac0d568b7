"""Size limits: each one refuses, with a one-line error, before any computation; saved
files are checked (size, array shapes, aligned lengths) before they are used; encoding
many vectors goes in chunks and gives the codes of encoding them all at once."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from engine_helpers import toy_ioi

from sae_circuits_widget import discover
from sae_circuits_widget.engine import sae as sae_module
from sae_circuits_widget.engine import validation
from sae_circuits_widget.engine.activations import HeadOutputCache, head_outputs
from sae_circuits_widget.engine.result import CircuitResult
from sae_circuits_widget.engine.sae import DiscreteSAE, SAEConfig, codes_from_activations, live_features
from sae_circuits_widget.engine.session import Session
from sae_circuits_widget.engine.validation import (
    MAX_FILE_BYTES,
    MAX_PROMPT_CHARS,
    MAX_PROMPTS_PER_SIDE,
    as_prompt_list,
    check_prompts,
    check_result_arrays,
    validate_prompts,
)
from sae_circuits_widget.errors import FileFormatError, PromptError

TASK = toy_ioi()
FAST = dict(n_features=16, n_saes=1, edges=False)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text, text
    return text


@pytest.fixture
def no_tokenising(tiny_model, monkeypatch):
    """The model's tokenizer and forward pass raise if touched: nothing may be computed."""

    def touched(*args, **kwargs):
        raise AssertionError("the model or its tokenizer was used before the limits were checked")

    monkeypatch.setattr(tiny_model, "to_tokens", touched)
    monkeypatch.setattr(tiny_model, "run_with_hooks", touched)
    monkeypatch.setattr(tiny_model.tokenizer, "__call__", touched)
    monkeypatch.setattr(type(tiny_model.tokenizer), "__call__", touched)
    return tiny_model


# ------------------------------------------------------------------ prompt limits


def test_too_many_prompts_per_side_stops_discover_before_compute(no_tokenising):
    too_many = [TASK.positives[0]] * (MAX_PROMPTS_PER_SIDE + 1)
    with pytest.raises(PromptError, match=r"10,001 positives: more than the limit of 10,000 per list; use at most") as info:
        discover(no_tokenising, positives=too_many, negatives=TASK.negatives, **FAST)
    one_line(info.value)
    assert [i.kind for i in info.value.issues] == ["too_many"]
    with pytest.raises(PromptError, match="10,001 negatives"):
        check_prompts(no_tokenising, TASK.positives, too_many)
    with pytest.raises(PromptError, match="10,001 answers"):
        check_prompts(no_tokenising, TASK.positives, TASK.negatives, answers=["Mary"] * (MAX_PROMPTS_PER_SIDE + 1))


def test_exactly_the_limit_is_allowed_by_the_size_check():
    prompts = ["x"] * MAX_PROMPTS_PER_SIDE
    assert as_prompt_list(prompts, "positives", limits=True) == prompts
    assert as_prompt_list(["x" * MAX_PROMPT_CHARS], "positives", limits=True)


def test_too_long_prompt_stops_discover_before_tokenising(no_tokenising):
    long = "Mary " * (MAX_PROMPT_CHARS // 5 + 1)
    assert len(long) > MAX_PROMPT_CHARS
    pos = [TASK.positives[0], long]
    with pytest.raises(PromptError, match=r"positives\[1\] is 20,005 characters, more than the limit of 20,000; shorten it") as info:
        discover(no_tokenising, positives=pos, negatives=TASK.negatives, **FAST)
    one_line(info.value)
    assert info.value.issues[0].index == 1


def test_validate_prompts_reports_limits_as_issues_without_tokenising(no_tokenising):
    too_many = ["When Mary went"] * (MAX_PROMPTS_PER_SIDE + 1)
    issues = validate_prompts(no_tokenising, too_many, too_many)
    assert [(i.side, i.index, i.kind, i.severity) for i in issues] == [
        ("positives", None, "too_many", "error"), ("negatives", None, "too_many", "error"),
    ]


def test_a_prompt_over_the_character_limit_is_not_tokenised(tiny_model):
    calls = []
    real = tiny_model.to_tokens

    def counting(text, *args, **kwargs):
        calls.append(len(text))
        return real(text, *args, **kwargs)

    tiny_model.to_tokens = counting
    try:
        long = "Zq" * (MAX_PROMPT_CHARS // 2 + 1)
        issues = validate_prompts(tiny_model, TASK.positives, TASK.negatives[:3] + [long])
    finally:
        del tiny_model.to_tokens
    assert [(i.side, i.index, i.kind) for i in issues] == [("negatives", 3, "too_many_characters")]
    assert max(calls) < MAX_PROMPT_CHARS  # the long prompt never reached the tokenizer
    assert "20,002 characters" in issues[0].message


def test_head_output_memory_limit_names_how_many_prompts_fit(tiny_model, monkeypatch):
    per_prompt = validation.head_output_bytes(tiny_model, 1)
    monkeypatch.setattr(validation, "MAX_HEAD_OUTPUT_BYTES", 5 * per_prompt)
    with pytest.raises(PromptError, match=r"8 prompts need .* GB of head outputs on this model.*use at most 5 prompts in all") as info:
        check_prompts(tiny_model, TASK.positives[:4], TASK.negatives[:4])
    one_line(info.value)
    issues = validate_prompts(tiny_model, TASK.positives[:4], TASK.negatives[:4])
    assert [i.kind for i in issues] == ["too_much_memory"]
    check_prompts(tiny_model, TASK.positives[:3], TASK.negatives[:2])  # 5 prompts fit


# ------------------------------------------------------------------ saved files


@pytest.fixture(scope="module")
def saved_result(tiny_model):
    result = discover(tiny_model, positives=TASK.positives, negatives=TASK.negatives, n_features=16, n_saes=1)
    return json.loads(result.to_json())


def damaged(data, **changes):
    out = dict(data)
    out.update(changes)
    return json.dumps(out)


def test_one_dimensional_node_scores_are_refused_on_load(saved_result):
    flat = np.asarray(saved_result["node_scores"]).reshape(-1).tolist()
    with pytest.raises(FileFormatError, match=r"node_scores must be \[n_layers, n_heads\], got shape \(\d+,\)") as info:
        CircuitResult.loads(damaged(saved_result, node_scores=flat))
    one_line(info.value)


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("prompts", lambda d: d["prompts"][:-1], r"\d+ prompts but codes has \d+ rows"),
        ("is_positive", lambda d: d["is_positive"] + [True], r"codes has \d+ rows but is_positive has \d+ entries"),
        ("codes", lambda d: [row[:-1] for row in d["codes"]], r"codes must be \[n_prompts, \d+\]"),
        ("codes", lambda d: [[c + 0.5 for c in row] for row in d["codes"]], "codes must be a rectangular array of integers"),
        ("edge_scores", lambda d: d["edge_scores"][:-1], r"edge_scores must be \[\d+, \d+\]"),
        ("edge_head_scores", lambda d: d["edge_head_scores"][0], "edge_head_scores must have node_scores' shape"),
        ("node_scores", lambda d: [[1.0, 2.0], [3.0]], "node_scores must be a rectangular array of numbers"),
    ],
)
def test_misshapen_or_misaligned_arrays_are_refused_on_load(saved_result, field, value, match):
    assert saved_result.get(field) is not None
    with pytest.raises(FileFormatError, match=match) as info:
        CircuitResult.loads(damaged(saved_result, **{field: value(saved_result)}))
    one_line(info.value)


def test_a_result_over_the_prompt_limit_is_refused_before_its_arrays_are_built(saved_result):
    n = 2 * MAX_PROMPTS_PER_SIDE + 1
    big = damaged(saved_result, prompts=["a"] * n, codes=[[0]] * n, is_positive=[True] * n)
    with pytest.raises(FileFormatError, match=r"prompts has 20,001 entries, more than the limit of 20,000") as info:
        CircuitResult.loads(big)
    one_line(info.value)
    side = 2 * MAX_PROMPTS_PER_SIDE
    width = len(saved_result["codes"][0])
    lopsided = damaged(saved_result, prompts=["a"] * side, codes=[[0] * width] * side, is_positive=[True] * side)
    with pytest.raises(FileFormatError, match="20,000 positives, more than the limit of 10,000 per side"):
        CircuitResult.loads(lopsided)


def test_check_result_arrays_accepts_what_discover_saves(saved_result):
    d = saved_result
    check_result_arrays(
        d["node_scores"], d["edge_scores"], d["codes"], d["is_positive"], d["prompts"],
        d["edge_head_scores"],
    )
    assert CircuitResult.loads(json.dumps(d)).node_scores.ndim == 2


def test_an_oversize_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no time or disk to make
    for read in (CircuitResult.from_json, Session.read_saved):
        with pytest.raises(FileFormatError, match=r"the file .* is 64\.0 MB, more than the limit of 64 MB for a saved result") as info:
            read(path)
        one_line(info.value)
    with open(path, "rb") as f, pytest.raises(FileFormatError, match="more than the limit of 64 MB"):
        Session.read_saved(f)
    with pytest.raises(FileFormatError, match="more than the limit of 64 MB"):
        CircuitResult.loads(" " * (MAX_FILE_BYTES + 1))


# ------------------------------------------------------------------ chunked encoding


@pytest.fixture
def random_sae():
    sae = DiscreteSAE(SAEConfig(d_model=32, n_features=48, seed=3))
    with torch.no_grad():
        sae.b_enc.fill_(-2.5)  # about a quarter of random vectors have an active feature
    return sae


@pytest.mark.parametrize("n, chunk_rows", [(1000, 64), (1000, 300), (777, 333), (2500, 640), (130, 7)])
def test_chunked_codes_equal_all_at_once(random_sae, n, chunk_rows):
    x = torch.randn(n, 32, generator=torch.Generator().manual_seed(n))
    whole = codes_from_activations(random_sae.encode(x))
    assert (whole == -1).any() and (whole >= 0).any()
    assert torch.equal(random_sae.codes(x, chunk_rows=chunk_rows), whole)
    chunks = list(random_sae.encode_chunks(x, chunk_rows))
    rows = max(chunk_rows, 64)  # chunks are never under 64 rows
    assert [a for a, _, _ in chunks] == list(range(0, n, rows))[: len(chunks)] and chunks[-1][1] == n
    assert all(b - a == rows for a, b, _ in chunks[:-1])
    assert min(n, 64) <= chunks[-1][1] - chunks[-1][0] < rows + 64  # a tail under 64 rows joins the last chunk
    assert torch.equal(torch.cat([acts for _, _, acts in chunks]), random_sae.encode(x))
    assert torch.equal(live_features(random_sae, x, chunk_rows), (random_sae.encode(x) > 0).any(0).nonzero().flatten())


def test_codes_keep_the_input_shape(random_sae):
    x = torch.randn(50, 6, 32)
    assert torch.equal(random_sae.codes(x, chunk_rows=64), codes_from_activations(random_sae.encode(x)))
    assert random_sae.codes(x).shape == (50, 6)


def test_the_whole_activation_matrix_never_exists(random_sae, monkeypatch):
    monkeypatch.setattr(sae_module, "ENCODE_CHUNK_BYTES", 128 * 48 * 4)  # 128 vectors of activations
    seen = []
    encode = DiscreteSAE.encode

    def recording(self, x):
        seen.append(int(x.reshape(-1, x.shape[-1]).shape[0]))
        return encode(self, x)

    monkeypatch.setattr(DiscreteSAE, "encode", recording)
    x = torch.randn(1000, 32)
    codes = random_sae.codes(x)
    assert max(seen) < 128 + 64 and sum(seen) == 1000
    seen.clear()
    assert torch.equal(codes, codes_from_activations(encode(random_sae, x)))


def test_discover_encodes_in_chunks(tiny_model, monkeypatch):
    monkeypatch.setattr(sae_module, "ENCODE_CHUNK_BYTES", 64 * 16 * 4)  # 64 vectors at 16 features
    seen = []
    encode = DiscreteSAE.encode

    def recording(self, x):
        seen.append(int(x.reshape(-1, x.shape[-1]).shape[0]))
        return encode(self, x)

    monkeypatch.setattr(DiscreteSAE, "encode", recording)
    task = toy_ioi(24)
    result = discover(tiny_model, positives=task.positives, negatives=task.negatives, **FAST)
    n_vectors = result.codes.size
    assert n_vectors >= 4 * 64 and sum(seen) >= n_vectors
    assert max(seen) < 2 * 64  # chunks of 64 (a short tail joins the last), never all vectors at once


# ------------------------------------------------------------------ head-output cache


def test_head_output_cache_is_bounded(tiny_model):
    one = head_outputs(tiny_model, TASK.positives[:1], use_cache=False)[0]
    per_prompt = one.numel() * one.element_size()
    cache = HeadOutputCache(max_bytes=3 * per_prompt)
    prompts = TASK.positives + TASK.negatives
    x = head_outputs(tiny_model, prompts, cache=cache)
    assert len(cache) == 3 and cache.nbytes(tiny_model) == 3 * per_prompt
    assert torch.equal(x, head_outputs(tiny_model, prompts, use_cache=False))
    again = head_outputs(tiny_model, prompts[-3:], cache=cache)  # the most recent are kept
    assert cache.forward_prompts == len(prompts) and torch.equal(again, x[-3:])
    with pytest.raises(ValueError, match="max_bytes"):
        HeadOutputCache(max_bytes=-1)


def test_check_finite_goes_in_chunks_and_names_the_prompt(monkeypatch):
    from sae_circuits_widget.engine import activations
    from sae_circuits_widget.errors import NonFiniteActivationsError

    monkeypatch.setattr(activations, "FINITE_CHUNK", 2)
    seen = []
    isfinite = torch.isfinite
    monkeypatch.setattr(torch, "isfinite", lambda t: seen.append(t.shape[0]) or isfinite(t))
    x = torch.zeros(5, 3, 4)
    activations.check_finite(x)
    assert seen == [2, 2, 1]
    x[4, 1, 2] = float("nan")
    with pytest.raises(NonFiniteActivationsError, match=r"for 1 prompt\(s\) \('e'\)"):
        activations.check_finite(x, ["a", "b", "c", "d", "e"])


def test_saved_prompt_lists_over_the_limits_are_refused():
    from sae_circuits_widget.engine.validation import check_saved_prompt_lists

    check_saved_prompt_lists(positives=["a"] * MAX_PROMPTS_PER_SIDE, negatives=["b"])
    with pytest.raises(FileFormatError, match="the saved session's negatives has 10,001 prompts, more than the limit") as info:
        check_saved_prompt_lists(positives=["a"], negatives=["b"] * (MAX_PROMPTS_PER_SIDE + 1))
    one_line(info.value)
    with pytest.raises(FileFormatError, match="a prompt of 20,001 characters"):
        check_saved_prompt_lists(positives=["a" * (MAX_PROMPT_CHARS + 1)])
