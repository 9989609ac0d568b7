"""The experiment switches of ``research.organism_switches`` (not part of the package's tests).

Run from the repository root: ``python -m pytest research/tests -p no:cacheprovider``
(the bit-for-bit check against the old trainer is marked ``slow``).
"""

from __future__ import annotations

import pytest
import torch

from research import organism_switches as R
from sae_circuits_widget.organism.data import STORIES_MIX, TASKS_MIX, DataSource
from sae_circuits_widget.organism.model import new_tokenizer
from sae_circuits_widget.organism.train import TrainConfig, build, train
from sae_circuits_widget.tasks.generators import sample_docstring

TINY = {"n_layers": 1, "n_heads": 2, "d_model": 32, "batch": 8, "lr": 3e-3, "accuracy_every": 0, "seed": 0}


def tiny(tasks_steps: int = 3, stories_steps: int = 0, **fields) -> TrainConfig:
    return TrainConfig.from_dict({**TINY, **fields, "tasks_phase": {"steps": tasks_steps, "warmup": 1},
                                  "stories_phase": {"steps": stories_steps}})


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_no_switch_trains_what_the_package_trains():
    config = tiny(3, 2)
    a = R.train_with_switches(config, R.Switches(), progress=False).model.state_dict()
    b = train(config, progress=False).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = R.train_with_switches(config, R.Switches(head_dropout=0.5), progress=False).model.state_dict()
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_free_heads_are_left_out_of_the_penalty():
    model, _, tok = build(TrainConfig(n_layers=1, n_heads=4, d_model=32, seed=0))
    data = DataSource(tok, seed=0)
    ids, _, _ = data.batch(8)
    values = []
    for free in (0, 2, 4):
        norms = R.SwitchNorms(model, free=free)
        model.train()
        with torch.no_grad():
            model(ids)
        values.append(float(norms.penalty(ids != data.pad)))
        norms.remove()
    assert values[0] > values[1] > 0 and values[2] == 0.0


def test_task_lm_weights_the_other_tokens_of_task_sentences():
    tok = new_tokenizer()
    plain = DataSource(tok, seed=4).encode([DataSource(tok, seed=4).ioi()])[1][0]
    weighted = R.SwitchData(tok, seed=4, task_lm=0.1).encode([DataSource(tok, seed=4).ioi()])[1][0]
    n = int((plain > 0).sum())
    assert n == 1 and float(plain.max()) == 1.0
    assert float(weighted.max()) == 1.0 and torch.isclose(weighted[weighted < 1], torch.tensor(0.1)).all()


def test_penalty_can_be_limited_to_task_sentences():
    data = DataSource(new_tokenizer(), seed=2)
    ids, _, kinds = data.encode([data.ioi(), data.stories(), data.docstring(), data.filler()])
    everywhere = R.penalty_mask(ids, kinds, data.pad, "all")
    tasks = R.penalty_mask(ids, kinds, data.pad, "tasks")
    assert torch.equal(everywhere, ids != data.pad)
    assert torch.equal(tasks[[0, 2]], everywhere[[0, 2]]) and not tasks[[1, 3]].any()
    with pytest.raises(ValueError, match="head_l1_on"):
        R.Switches(head_l1_on="filler")


def test_head_grouped_penalty_is_the_sum_of_each_heads_rms():
    """``group="head"`` charges a head by the RMS of its output norm over tokens, so a head
    active on one token costs more than under the per-token L1, and a dead head nothing."""
    model, _, tok = build(TrainConfig(n_layers=1, n_heads=2, d_model=32, seed=0))
    data = DataSource(tok, seed=0)
    ids, _, _ = data.batch(4)
    mask = ids != data.pad
    values = {}
    for group in ("token", "head"):
        norms = R.SwitchNorms(model, group=group)
        model.train()
        with torch.no_grad():
            model(ids)
        recorded = norms.norms[0].clone()  # [b, s, H]
        values[group] = float(norms.penalty(mask))
        norms.remove()
    m = mask.to(recorded.dtype)[..., None]
    rms = ((recorded ** 2 * m).sum((0, 1)) / m.sum()).sqrt()
    l1 = (recorded * m).sum((0, 1)) / m.sum()
    assert values["head"] == pytest.approx(float(rms.sum()), rel=1e-5)
    assert values["token"] == pytest.approx(float(l1.sum()), rel=1e-5)
    assert values["head"] >= values["token"]  # RMS >= mean, per head
    with pytest.raises(ValueError, match="group"):
        R.SwitchNorms(model, group="layer")


def test_training_can_continue_from_a_saved_model(tmp_path):
    first = train(tiny(3), tmp_path / "a", progress=False).model
    same = R.train_with_switches(tiny(0), R.Switches(init=str(tmp_path / "a")), progress=False).model
    moved = R.train_with_switches(tiny(2), R.Switches(init=str(tmp_path / "a")), progress=False).model
    a, b, c = first.state_dict(), same.state_dict(), moved.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_added_layers_start_silent_and_frozen_layers_stay_put(tmp_path):
    first = train(tiny(3), tmp_path / "a", progress=False).model
    grown = R.train_with_switches(tiny(0), R.Switches(init=str(tmp_path / "a"), add_layers=1), progress=False)
    ids = torch.randint(0, grown.cfg.d_vocab, (2, 7))
    assert grown.cfg.n_layers == 2
    assert torch.allclose(first(ids), grown.model(ids), atol=1e-6)  # zero output projection: same function
    moved = R.train_with_switches(tiny(2), R.Switches(init=str(tmp_path / "a"), add_layers=1, freeze_init=True),
                                  progress=False).model
    a, c = first.state_dict(), moved.state_dict()
    assert all(torch.equal(a[k], c[k]) for k in a)  # every saved parameter is frozen
    assert not torch.equal(c["layers.1.attn.o.weight"], torch.zeros_like(c["layers.1.attn.o.weight"]))
    with pytest.raises(ValueError, match="init"):
        R.Switches(add_layers=1)


def test_answer_noise_swaps_answers_for_wrong_ones_and_is_free_when_off():
    tok = new_tokenizer()
    # at 0 nothing extra is drawn: the stream equals the package's
    off, bare = R.SwitchData(tok, seed=4), DataSource(tok, seed=4)
    off.ioi(), bare.ioi()
    off.docstring(), sample_docstring(bare.doc_pools, bare.rng, gaps=True)
    assert off.rng.getstate() == bare.rng.getstate()
    data = R.SwitchData(tok, seed=4, answer_noise=1.0)
    for _ in range(20):
        ex = data.ioi()
        assert ex.text.replace(",", " ").replace(".", " ").split().count(ex.answer) == 2  # the subject, said twice
        doc = data.docstring()
        line = doc.text.split("def ")[1].split(")")[0]
        assert doc.answer in line  # still an argument of the function...
    clean = R.SwitchData(tok, seed=5)
    noisy = R.SwitchData(tok, seed=5, answer_noise=1.0)
    for _ in range(20):
        c, n = clean.docstring(), noisy.docstring()
        assert c.text == n.text and c.answer != n.answer  # ...but never the documented one's successor
        noisy.rng.setstate(clean.rng.getstate())


def test_answer_noise_on_all_tasks_reaches_greater_than_and_induction():
    tok = new_tokenizer()
    clean = R.SwitchData(tok, seed=6, answer_noise=1.0)  # default: IOI and docstring only
    noisy = R.SwitchData(tok, seed=6, answer_noise=1.0, noisy_tasks="all")
    for _ in range(20):
        g = noisy.greater_than()
        assert int(g.answer) <= g.start_yy  # a year that is not above the start year
        clean.rng.setstate(noisy.rng.getstate())
        c, n = clean.induction(), noisy.induction()
        assert c.text == n.text and c.answer != n.answer
    g = clean.greater_than()
    assert int(g.answer) > g.start_yy


def test_answer_noise_per_task_and_near_targets():
    tok = new_tokenizer()
    shares = {"greater_than": 1.0, "docstring": 1.0, "induction": 1.0}
    clean = R.SwitchData(tok, seed=7)
    near = R.SwitchData(tok, seed=7, answer_noise=shares, noise_target="near")
    for _ in range(20):
        # IOI has no share here, so its answers stay right and nothing extra is drawn
        clean.rng.setstate(near.rng.getstate())
        c, n = clean.ioi(), near.ioi()
        assert (c.text, c.answer) == (n.text, n.answer)
        assert clean.rng.getstate() == near.rng.getstate()
        g = near.greater_than()
        assert int(g.answer) == g.start_yy  # the start year itself
        clean.rng.setstate(near.rng.getstate())
        c, n = clean.docstring(), near.docstring()
        args = c.text.split("(")[1].split(")")[0].replace(",", " ").split()[1:]  # after self
        documented = [line.split(":")[0].strip() for line in c.text.split(":param")[1:-1]]
        i = args.index(c.answer)  # the right answer follows the last documented argument
        assert n.answer == (args[i + 1] if i + 1 < len(args) else documented[-1])
        clean.rng.setstate(near.rng.getstate())
        c, n = clean.induction(), near.induction()
        words = c.text.split()
        seq = words[1:c.train_from]
        k = seq.index(c.answer)
        assert n.answer == (seq[k + 1] if k + 1 < len(seq) else seq[k - 1])
    assert R.parse_noise("0.05") == 0.05
    assert R.parse_noise("ioi=0.05,docstring=0.1") == {"ioi": 0.05, "docstring": 0.1}
    with pytest.raises(Exception, match="task=share"):
        R.parse_noise("ioi:0.05")
    with pytest.raises(ValueError, match="unknown task 'iio'"):
        R.noise_shares({"iio": 0.1})
    with pytest.raises(ValueError, match="between 0 and 1"):
        R.noise_shares({"ioi": 1.5})
    with pytest.raises(ValueError, match="noise_target"):
        R.SwitchData(tok, answer_noise=0.1, noise_target="far")


def test_lists_fit_the_vocabulary_and_the_flags_keep_the_old_mix_order():
    tok = new_tokenizer()
    data = R.SwitchData(tok, seed=0, mix=R.mix_with_lists(TASKS_MIX, 0.1))
    ids, mask, _ = data.encode([data.lists() for _ in range(300)])
    assert int((ids == tok.unk_token_id).sum()) == 0 and ids.shape[1] <= 64 and float(mask.sum()) > 0
    assert list(data.mix) == ["ioi", "greater_than", "docstring", "induction", "filler", "lists", "stories"]
    args = R.parser().parse_args(["--out", "x", "--mix", "lists=0.1,filler=0.2", "--head-l1-free", "3",
                                  "--continue-steps", "0"])
    config, switches = R.config_and_switches(args)
    assert (switches.lists, switches.head_l1_free, config.tasks_phase.mix.filler) == (0.1, 3, 0.2)
    assert config.stories_phase.steps == 0 and config.stories_phase.mix == STORIES_MIX and config.seed == 1
    with pytest.raises(ValueError, match="unknown mixture part 'list'"):
        R.config_and_switches(R.parser().parse_args(["--out", "x", "--mix", "list=0.1"]))
