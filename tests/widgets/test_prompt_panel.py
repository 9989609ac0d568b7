import pytest

from sae_circuits_widget.widgets import PromptPanel
from sae_circuits_widget.widgets.prompt_panel import token_infos

POS = ["When Mary and John went to the store , John gave a drink to", "When Tom and Anna went to the park , Anna gave a book to"]
NEG = ["When Mary and John went to the store , Tom gave a drink to", "When Tom and Anna went to the park , John gave a book to"]


def test_tokens_and_no_issues_for_known_words(tiny_model):
    panel = PromptPanel(POS, NEG, model=tiny_model)
    assert panel.positive_issues == ["", ""] and panel.negative_issues == ["", ""]
    assert [t["t"].strip() for t in panel.positive_tokens[0]] == POS[0].split()
    assert not any(t["u"] for row in panel.positive_tokens for t in row)
    assert not panel.has_errors


def test_unknown_word_is_named_and_text_is_kept(tiny_model):
    panel = PromptPanel(POS, NEG, model=tiny_model)
    edited = "When Zorblax and John went to the store , John gave a drink to"
    panel.set_state({"positives": [edited, POS[1]]})  # the browser's edit
    assert panel.positives[0] == edited  # never rewritten
    assert "Zorblax" in panel.positive_issues[0]
    flagged = [t["t"] for t in panel.positive_tokens[0] if t["u"]]
    assert flagged == ["Zorblax"]
    assert panel.has_errors


def test_empty_prompt_and_too_few_are_reported(tiny_model):
    panel = PromptPanel(POS[:1], ["   "], model=tiny_model)
    assert "empty" in panel.negative_issues[0]
    assert "add at least" in panel.error


def test_more_like_these_appends_generated_pairs(tiny_model):
    calls = []

    def generate(n):
        calls.append(n)
        return [f"a{i}" for i in range(n)], [f"b{i}" for i in range(n)]

    panel = PromptPanel(POS, NEG, model=None, generate=generate)
    assert panel.can_generate
    panel._on_msg(panel, {"kind": "more", "n": 3}, [])
    assert calls == [3]
    assert panel.positives[2:] == ["a0", "a1", "a2"] and panel.negatives[2:] == ["b0", "b1", "b2"]


def test_more_without_generator_explains(tiny_model):
    panel = PromptPanel(POS, NEG)
    panel._on_msg(panel, {"kind": "more"}, [])
    assert "no pair generator" in panel.error
    assert panel.positives == POS


def test_html_is_kept_as_plain_text(tiny_model):
    evil = "<script>alert(1)</script>"
    infos = token_infos(tiny_model, evil)
    assert "".join(t["t"] for t in infos).replace(" ", "") != ""
    panel = PromptPanel([evil, POS[0]], NEG, model=tiny_model)
    assert panel.positives[0] == evil
    assert "does not know" in panel.positive_issues[0]


def test_wrong_types_and_unknown_kwargs():
    with pytest.raises(TypeError, match="list of strings"):
        PromptPanel("just one string", [])
    with pytest.raises(TypeError, match="unknown keyword"):
        PromptPanel(POS, NEG, colour="red")
