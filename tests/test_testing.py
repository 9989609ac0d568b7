import pytest
import torch

from sae_circuits_widget.testing import tiny_model


def test_tiny_model_tokenizes_words_as_single_tokens(tiny_model):
    tokens = tiny_model.to_str_tokens("When Mary and John went to the store, John gave a drink to")
    assert tokens[0] == "<bos>"
    assert tokens[1:4] == ["When", "Mary", "and"]
    assert tiny_model.to_single_token(" Mary") == tiny_model.to_single_token("Mary")


def test_tiny_model_is_seeded():
    a, b = tiny_model(seed=1), tiny_model(seed=1)
    tokens = a.to_tokens("Mary gave a book to John")
    assert (a(tokens) == b(tokens)).all()


def test_toy_ioi_task_pairs_align_and_ragged_shortens_the_last(tiny_model):
    from sae_circuits_widget.testing import toy_ioi_task

    task = toy_ioi_task(tiny_model)
    lengths = [len(tiny_model.to_str_tokens(p)) for p in task.positives + task.negatives]
    assert len(set(lengths)) == 1
    assert not any("<unk>" in tiny_model.to_str_tokens(p) for p in task.positives + task.negatives)
    assert task.metric(tiny_model(tiny_model.to_tokens(task.positives))[:, -1]).shape == (4,)
    ragged = toy_ioi_task(tiny_model, ragged=True)
    assert [len(tiny_model.to_str_tokens(p)) for p in ragged.negatives] == [lengths[0]] * 3 + [lengths[0] - 1]
    assert toy_ioi_task(n=2).correct_ids is None and toy_ioi_task(n=2).positives == task.positives[:2]
    with pytest.raises(ValueError, match="n must be"):
        toy_ioi_task(n=5)


def test_zero_head_output_silences_only_that_head():
    from sae_circuits_widget.testing import zero_head_output

    model = tiny_model(seed=1)
    before = model.W_O.detach().clone()
    zero_head_output(model, 1, 2)
    after = model.W_O.detach()
    assert torch.all(after[1, 2] == 0) and before[1, 2].abs().sum() > 0
    keep = torch.ones(2, 4, dtype=torch.bool)
    keep[1, 2] = False
    assert torch.equal(after[keep], before[keep])
