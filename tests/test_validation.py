"""Bad prompt input: each case gives a clear error or a documented warning."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_helpers import toy_ioi

from sae_circuits_widget.engine.validation import check_prompts, validate_prompts
from sae_circuits_widget.errors import PromptError, PromptTypeError

GOOD = toy_ioi(4)


def kinds(issues):
    return [(i.side, i.index, i.kind, i.severity) for i in issues]


def test_good_prompts_have_no_issues(tiny_model):
    assert validate_prompts(tiny_model, GOOD.positives, GOOD.negatives) == []


@pytest.mark.parametrize("side", ["positives", "negatives"])
def test_empty_lists(tiny_model, side):  # case 1
    pos, neg = (GOOD.positives, []) if side == "negatives" else ([], GOOD.negatives)
    issues = validate_prompts(tiny_model, pos, neg)
    assert (side, None, "too_few", "error") in kinds(issues)
    with pytest.raises(PromptError, match=f"no {side}"):
        check_prompts(tiny_model, pos, neg)


def test_one_prompt_per_side(tiny_model):  # case 2
    with pytest.raises(PromptError, match="only 1 of positives.*only 1 of negatives"):
        check_prompts(tiny_model, GOOD.positives[:1], GOOD.negatives[:1])


def test_unequal_counts_are_allowed(tiny_model):  # case 3
    assert validate_prompts(tiny_model, GOOD.positives, GOOD.negatives[:2]) == []
    assert validate_prompts(tiny_model, GOOD.positives[:2], GOOD.negatives) == []


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_or_whitespace_prompt(tiny_model, bad):  # case 4
    pos = GOOD.positives[:2] + [bad]
    issues = validate_prompts(tiny_model, pos, GOOD.negatives)
    assert kinds(issues) == [("positives", 2, "empty", "error")]
    with pytest.raises(PromptError, match=r"positives\[2\] is empty") as info:
        check_prompts(tiny_model, pos, GOOD.negatives)
    assert info.value.issues[0].index == 2


def test_duplicates_are_a_warning(tiny_model):  # case 5
    pos = GOOD.positives + [GOOD.positives[0]]
    issues = validate_prompts(tiny_model, pos, GOOD.negatives)
    assert kinds(issues) == [("positives", 4, "duplicate", "warning")]
    check_prompts(tiny_model, pos, GOOD.negatives)  # allowed
    both = validate_prompts(tiny_model, GOOD.positives, GOOD.negatives + [GOOD.positives[1]])
    assert ("negatives", 4, "in_both", "warning") in kinds(both)


def test_prompt_longer_than_context(tiny_model):  # case 6
    long = " ".join(["Mary"] * (tiny_model.cfg.n_ctx + 1))
    issues = validate_prompts(tiny_model, GOOD.positives, GOOD.negatives + [long])
    assert kinds(issues) == [("negatives", 4, "too_long", "error")]
    assert f"context is {tiny_model.cfg.n_ctx}" in issues[0].message


def test_unknown_words_are_named(tiny_model):  # case 7
    pos = GOOD.positives[:2] + ["When Zelda and John went to the store , Zelda gave a drink to"]
    issues = validate_prompts(tiny_model, pos, GOOD.negatives)
    assert kinds(issues) == [("positives", 2, "unknown_words", "error")]
    assert issues[0].words == ("Zelda",)
    with pytest.raises(PromptError, match="'Zelda'"):
        check_prompts(tiny_model, pos, GOOD.negatives)


def test_non_ascii_and_emoji(tiny_model):  # case 8
    pos = GOOD.positives[:2] + ["When Mary and Zoë went to the store 🙂"]
    issues = validate_prompts(tiny_model, pos, GOOD.negatives)
    assert issues[0].kind == "unknown_words"
    assert set(issues[0].words) == {"Zoë", "🙂"}


def test_answers_must_be_single_tokens(tiny_model):  # case 10
    answers = ["Mary", "John and", "Zelda", "Tom"]
    issues = validate_prompts(tiny_model, GOOD.positives, GOOD.negatives, answers)
    bad = [(i.index, i.kind) for i in issues]
    assert bad == [(1, "answer_not_single_token"), (2, "answer_not_single_token")]
    assert "'John and'" in issues[0].message
    assert validate_prompts(tiny_model, GOOD.positives, GOOD.negatives, ["Mary"] * 4) == []
    short = validate_prompts(tiny_model, GOOD.positives, GOOD.negatives, ["Mary"])
    assert short[0].kind == "answer_count"


@pytest.mark.parametrize(
    "value, match",
    [
        ("When Mary went", "single string"),
        (torch.tensor([[1, 2, 3]]), "got Tensor"),
        (np.array(["a", "b"]), "got ndarray"),
        (None, "got NoneType"),
        (["When Mary went", 3], r"positives\[1\] must be a string, got int"),
    ],
)
def test_wrong_types(tiny_model, value, match):  # case 16
    with pytest.raises(PromptTypeError, match=match):
        validate_prompts(tiny_model, value, GOOD.negatives)
    assert issubclass(PromptTypeError, TypeError)


def test_issue_to_dict(tiny_model):
    issues = validate_prompts(tiny_model, [""], GOOD.negatives)
    d = issues[-1].to_dict()
    assert set(d) == {"side", "index", "kind", "message", "severity", "words"}
