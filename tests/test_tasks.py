"""Task generators: aligned pairs, single-token answers, ground truth, errors."""

from __future__ import annotations

import pytest

from sae_circuits_widget.organism.model import make_config, new_tokenizer, wrap
from sae_circuits_widget.tasks import TASK_NAMES, get_task, published_ground_truth
from sae_circuits_widget.tasks.generators import _bpe_years, greater_than_text


@pytest.fixture(scope="module")
def vocab_model():
    """A random model with the organism's vocabulary (no weights file needed)."""
    from transformer_lens.model_bridge.sources.native.model import NativeModel

    tok = new_tokenizer()
    cfg = make_config(len(tok), 2, 2, 16, 64, seed=0)
    return wrap(NativeModel(cfg), cfg, tok)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_pairs_are_aligned_and_answers_single_tokens(vocab_model, name):
    task = get_task(name, vocab_model, n=12, seed=3)
    tok = vocab_model.tokenizer
    assert task.n_pairs == 12 and len(task.negatives) == 12
    for p, q, a, good, bad in zip(task.positives, task.negatives, task.answers, task.correct_ids, task.incorrect_ids):
        assert p != q
        assert vocab_model.to_tokens(p).shape == vocab_model.to_tokens(q).shape
        ids = tok.encode(p, add_special_tokens=False)
        assert tok.unk_token_id not in ids, p
        assert len(good) >= 1 and len(bad) >= 1
        assert not set(good) & set(bad)
        enc = tok.encode(a, add_special_tokens=False)
        assert len(enc) == 1 and enc[0] in good


def test_seeded_and_distinct(vocab_model):
    a = get_task("ioi", vocab_model, n=5, seed=1)
    b = get_task("ioi", vocab_model, n=5, seed=1)
    c = get_task("ioi", vocab_model, n=5, seed=2)
    assert a.positives == b.positives and a.positives != c.positives


def test_ioi_answer_is_the_name_said_once(vocab_model):
    task = get_task("ioi", vocab_model, n=10, seed=0)
    for p, q, a in zip(task.positives, task.negatives, task.answers):
        words = p.replace(",", " ").replace(".", " ").split()
        assert words.count(a.strip()) == 1
        assert q.replace(",", " ").split().count(a.strip()) == 1


def test_greater_than_negative_uses_start_year_01(vocab_model):
    task = get_task("greater_than", vocab_model, n=10, seed=0)
    for q, yy in zip(task.negatives, task.meta["start_yy"]):
        assert q.split()[-5] == "01" and 2 <= yy <= 98
    assert not _bpe_years(vocab_model.tokenizer)
    assert greater_than_text(vocab_model.tokenizer, "war", 17, 32)[0].endswith("17 32 to the year 17")


def test_docstring_negative_hides_documented_names(vocab_model):
    task = get_task("docstring", vocab_model, n=10, seed=0)
    for p, q in zip(task.positives, task.negatives):
        sig = q.split(")")[0]
        documented = [line.split(":param")[1].split(":")[0].strip() for line in q.split("\n") if ":param " in line]
        assert documented and all(d not in sig for d in documented)
        assert p.split(")")[0] == sig


def test_unknown_task_lists_names(tiny_model):
    with pytest.raises(ValueError) as e:
        get_task("nope", tiny_model)
    for n in TASK_NAMES:
        assert n in str(e.value)


def test_bad_n(tiny_model):
    with pytest.raises(ValueError, match="n must be"):
        get_task("ioi", tiny_model, n=0)


def test_tiny_model_ioi_and_induction(tiny_model):
    for name in ("ioi", "induction"):
        task = get_task(name, tiny_model, n=4)
        assert task.ground_truth is None
        for p, q in zip(task.positives, task.negatives):
            assert tiny_model.to_tokens(p).shape == tiny_model.to_tokens(q).shape


def test_tiny_model_missing_words_explained(tiny_model):
    with pytest.raises(ValueError, match="single-token"):
        get_task("docstring", tiny_model)


def test_published_ground_truth_sizes():
    assert len(published_ground_truth("gpt2", "ioi")) == 26
    assert len(published_ground_truth("gpt2", "greater_than")) == 9
    assert published_ground_truth("attn-only-4l", "docstring") == frozenset(
        {(0, 5), (1, 0), (1, 4), (2, 0), (3, 0), (3, 6)})
    assert published_ground_truth("gpt2", "docstring") is None


class _FakeBPE:
    """A tokenizer that splits like GPT-2 for the words used here (leading-space tokens)."""

    unk_token_id = None

    def __init__(self):
        self.vocab: dict[str, int] = {}

    def _id(self, piece):
        return self.vocab.setdefault(piece, len(self.vocab))

    def encode(self, text, add_special_tokens=False):
        import re

        out = []
        for m in re.finditer(r" ?[A-Za-z]+| ?\d{1,2}|\s+|[^\sA-Za-z\d]", text):
            piece = m.group(0)
            if piece.strip() == "" and piece != " ":
                piece = piece  # newline runs
            out.append(self._id(piece))
        return out


class _FakeModel:
    def __init__(self, name):
        self.tokenizer = _FakeBPE()

        class C:
            model_name = name

        self.cfg = C()


def test_bpe_style_and_published_ground_truth():
    gpt2 = _FakeModel("gpt2")
    task = get_task("greater_than", gpt2, n=5)
    assert task.positives[0].split()[-5].isdigit() and len(task.positives[0].split()[-5]) == 4
    assert task.ground_truth == published_ground_truth("gpt2", "greater_than")
    assert get_task("ioi", gpt2, n=3).ground_truth == published_ground_truth("gpt2", "ioi")
    doc = get_task("docstring", _FakeModel("attn-only-4l"), n=3)
    assert doc.ground_truth is not None and doc.meta["gaps"] is False
