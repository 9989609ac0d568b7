"""The bundled organism: loading, pinned accuracy, training, ground-truth consistency."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sae_circuits_widget.organism import WEIGHTS_DIR, is_organism
from sae_circuits_widget.organism.data import DataSource
from sae_circuits_widget.organism.train import HeadOutputNorms, train
from sae_circuits_widget.tasks import TASK_NAMES, get_task

# Accuracy of the shipped organism on get_task(name, model, n=40, seed=123), as measured
# when it was shipped (top-1 on the answer; greater-than: probability on years above the
# start year). Pinned within TOLERANCE: a broken model, tokenizer or loader moves it.
MEASURED = {"ioi": 1.0, "greater_than": 0.943, "docstring": 1.0, "induction": 1.0}
TOLERANCE = 0.1



def test_loads_offline_with_its_name(organism):
    assert is_organism(organism)
    conf = json.loads((WEIGHTS_DIR / "config.json").read_text())
    assert organism.cfg.n_layers == conf["n_layers"] and organism.cfg.n_heads == conf["n_heads"]
    assert organism.cfg.d_vocab == len(organism.tokenizer)
    assert organism.to_tokens(["When Mary"])[0, 0].item() == organism.tokenizer.bos_token_id


def test_shipped_files_small():
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.iterdir() if p.is_file())
    assert total < 10 * 1024 * 1024
    for name in ("model.safetensors", "config.json", "circuits.json", "MODEL_CARD.md", "tokenizer.json"):
        assert (WEIGHTS_DIR / name).exists(), name


@pytest.mark.parametrize("name", TASK_NAMES)
@torch.no_grad()
def test_pinned_accuracy(organism, name):
    task = get_task(name, organism, n=40, seed=123)
    hits = []
    for i, p in enumerate(task.positives):
        logits = organism(organism.to_tokens(p))[0, -1]
        if name == "greater_than":
            hits.append(float(logits.softmax(-1)[list(task.correct_ids[i])].sum()))
        else:
            hits.append(float(int(logits.argmax()) == task.correct_ids[i][0]))
    assert abs(np.mean(hits) - MEASURED[name]) <= TOLERANCE, (name, np.mean(hits))


@torch.no_grad()
def test_negatives_lose_the_behaviour(organism):
    task = get_task("ioi", organism, n=30, seed=7)
    pos = torch.stack([organism(organism.to_tokens(p))[0, -1] for p in task.positives])
    neg = torch.stack([organism(organism.to_tokens(p))[0, -1] for p in task.negatives])
    assert task.metric(pos).mean() > task.metric(neg).mean() + 1.0


def test_ground_truth_matches_geometry(organism, circuits):
    L, H = organism.cfg.n_layers, organism.cfg.n_heads
    assert circuits["n_layers"] == L and circuits["n_heads"] == H
    assert set(circuits["tasks"]) == set(TASK_NAMES)
    for name, entry in circuits["tasks"].items():
        heads = {tuple(h) for h in entry["heads"]}
        assert heads and all(0 <= l < L and 0 <= h < H for l, h in heads)
        assert np.asarray(entry["mean_ablation_effect"]).shape == (L, H)
        assert np.asarray(entry["resample_ablation_effect"]).shape == (L, H)
        for s, r in entry.get("edges", []):
            assert tuple(s) in heads and tuple(r) in heads and s[0] < r[0]
        assert entry["search"]["faithfulness"] >= circuits["threshold"]
        task = get_task(name, organism, n=2)
        assert task.ground_truth == frozenset(heads)


def test_few_training_steps_lower_the_loss():
    torch.manual_seed(0)
    _, _, _, hist = train(seed=0, out=None, steps=80, batch=16, lr=3e-3, warmup=5, n_layers=1, n_heads=2,
                          d_model=32, progress=False, log_every=0)
    assert np.mean(hist[-8:]) < np.mean(hist[:8]) - 0.3


def _mean_head_norm(model, data) -> float:
    norms = HeadOutputNorms(model)
    model.train()
    ids, _, _ = data.batch(16)
    with torch.no_grad():
        model(ids)
    value = float(norms.penalty(ids != data.pad))
    norms.remove()
    return value


def test_head_output_penalty_shrinks_head_outputs():
    kw = dict(seed=0, out=None, steps=30, batch=16, lr=3e-3, warmup=5, n_layers=1, n_heads=2, d_model=32,
              progress=False, log_every=0)
    plain, _, tok, _ = train(head_l1=0.0, **kw)
    sparse, _, _, _ = train(head_l1=1.0, **kw)
    data = DataSource(tok, seed=5)
    assert _mean_head_norm(sparse, data) < 0.5 * _mean_head_norm(plain, data)


def test_training_data_depends_only_on_the_seed():
    """Two fresh processes draw the same first batch (no hash- or dict-order leaks)."""
    import subprocess
    import sys

    code = ("from sae_circuits_widget.organism.data import DataSource;"
            "from sae_circuits_widget.organism.model import new_tokenizer;"
            "ids, mask, _ = DataSource(new_tokenizer(), seed=3).batch(32);"
            "print(ids.tolist(), mask.tolist())")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**__import__("os").environ, "PYTHONHASHSEED": str(s)}).stdout for s in (1, 2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("kind", ["ioi", "greater_than", "docstring", "induction", "filler", "lists", "stories"])
def test_every_training_kind_is_in_vocabulary_and_fits_the_context(kind):
    from sae_circuits_widget.organism.model import new_tokenizer

    tok = new_tokenizer()
    data = DataSource(tok, seed=0)
    ids, mask, _ = data.encode([getattr(data, kind)() for _ in range(300)])
    assert int((ids == tok.unk_token_id).sum()) == 0
    assert ids.shape[1] <= 64
    assert float(mask.sum()) > 0


def test_property_checklist_flags_each_broken_property(circuits):
    import copy

    from sae_circuits_widget.organism.ground_truth import property_checks

    base = {what: ok for what, ok, _ in property_checks(circuits)}
    assert len(base) == 4 * 4 + 1
    broken = copy.deepcopy(circuits)
    broken["tasks"]["ioi"]["properties"]["fraction_of_heads"] = 0.6
    broken["tasks"]["docstring"]["behaviour"]["positives"]["top1"] = 0.5
    broken["tasks"]["induction"]["trivial_auc"]["output_diff_norm_last"] = 0.95
    broken["jaccard_max_ioi_gt_doc"] = 0.9
    after = {what: ok for what, ok, _ in property_checks(broken)}
    assert not after["P3 ioi"] and not after["P1 docstring"] and not after["P5 induction"] and not after["P4"]
    unchanged = set(base) - {"P3 ioi", "P1 docstring", "P5 induction", "P4"}
    assert all(after[k] == base[k] for k in unchanged)


def test_free_heads_are_left_out_of_the_penalty():
    from sae_circuits_widget.organism.train import build

    model, _, tok = build(0, 1, 4, 32)
    data = DataSource(tok, seed=0)
    ids, _, _ = data.batch(8)
    values = []
    for free in (0, 2, 4):
        norms = HeadOutputNorms(model, free=free)
        model.train()
        with torch.no_grad():
            model(ids)
        values.append(float(norms.penalty(ids != data.pad)))
        norms.remove()
    assert values[0] > values[1] > 0 and values[2] == 0.0


def test_task_lm_weights_the_other_tokens_of_task_sentences():
    from sae_circuits_widget.organism.model import new_tokenizer

    tok = new_tokenizer()
    plain = DataSource(tok, seed=4).encode([DataSource(tok, seed=4).ioi()])[1][0]
    weighted = DataSource(tok, seed=4, task_lm=0.1).encode([DataSource(tok, seed=4).ioi()])[1][0]
    n = int((plain > 0).sum())
    assert n == 1 and float(plain.max()) == 1.0
    assert float(weighted.max()) == 1.0 and torch.isclose(weighted[weighted < 1], torch.tensor(0.1)).all()


def test_penalty_can_be_limited_to_task_sentences():
    from sae_circuits_widget.organism.model import new_tokenizer
    from sae_circuits_widget.organism.train import penalty_mask

    data = DataSource(new_tokenizer(), seed=2)
    ids, _, kinds = data.encode([data.ioi(), data.stories(), data.docstring(), data.filler()])
    everywhere = penalty_mask(ids, kinds, data.pad, "all")
    tasks = penalty_mask(ids, kinds, data.pad, "tasks")
    assert torch.equal(everywhere, ids != data.pad)
    assert torch.equal(tasks[[0, 2]], everywhere[[0, 2]]) and not tasks[[1, 3]].any()
    with pytest.raises(ValueError, match="head_l1_on"):
        train(seed=0, out=None, steps=1, head_l1_on="filler", progress=False)


def test_head_grouped_penalty_is_the_sum_of_each_heads_rms():
    """``group="head"`` charges a head by the RMS of its output norm over tokens, so a head
    active on one token costs more than under the per-token L1, and a dead head nothing."""
    from sae_circuits_widget.organism.train import build

    model, _, tok = build(0, 1, 2, 32)
    data = DataSource(tok, seed=0)
    ids, _, _ = data.batch(4)
    mask = ids != data.pad
    values = {}
    for group in ("token", "head"):
        norms = HeadOutputNorms(model, group=group)
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
        HeadOutputNorms(model, group="layer")


def test_training_can_continue_from_a_saved_model(tmp_path):
    kw = dict(seed=0, batch=8, lr=3e-3, warmup=1, n_layers=1, n_heads=2, d_model=32, progress=False, log_every=0)
    first, _, _, _ = train(out=tmp_path / "a", steps=3, **kw)
    same, _, _, _ = train(out=None, steps=0, init=tmp_path / "a", **kw)
    moved, _, _, _ = train(out=None, steps=2, init=tmp_path / "a", **kw)
    a, b, c = first.state_dict(), same.state_dict(), moved.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_recipe_trains_two_phases_equal_to_running_them_one_after_the_other(tmp_path):
    from sae_circuits_widget.organism.data import CONTINUE_MIX
    from sae_circuits_widget.organism.train import train_recipe

    kw = dict(seed=0, batch=8, lr=3e-3, warmup=1, n_layers=1, n_heads=2, d_model=32, progress=False, log_every=0)
    both, _, _, _ = train_recipe(out=tmp_path / "r", steps=3, continue_steps=2, **kw)
    train(out=tmp_path / "a", steps=3, **kw)
    by_hand, _, _, _ = train(out=None, init=tmp_path / "a", steps=2, warmup=100, head_l1=0.0,
                             mix=CONTINUE_MIX, **{k: v for k, v in kw.items() if k != "warmup"})
    a, b = both.state_dict(), by_hand.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rec = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert (rec["steps"], rec["head_l1"], rec["mix"], rec["init"]) == (2, 0.0, CONTINUE_MIX, "first phase")
    assert (rec["first_phase"]["steps"], rec["first_phase"]["head_l1"]) == (3, 0.01)
    one, _, _, _ = train_recipe(out=None, steps=3, continue_steps=0, **kw)
    first = train(out=None, steps=3, **kw)[0]
    assert all(torch.equal(one.state_dict()[k], first.state_dict()[k]) for k in a)
    with pytest.raises(ValueError, match="continue_steps"):
        train_recipe(out=None, steps=1, continue_steps=-1, **kw)


def test_added_layers_start_silent_and_frozen_layers_stay_put(tmp_path):
    kw = dict(seed=0, batch=8, lr=3e-3, warmup=1, n_heads=2, d_model=32, progress=False, log_every=0)
    first, _, _, _ = train(out=tmp_path / "a", steps=3, n_layers=1, **kw)
    grown, cfg, _, _ = train(out=None, steps=0, init=tmp_path / "a", add_layers=1, **kw)
    ids = torch.randint(0, cfg.d_vocab, (2, 7))
    assert cfg.n_layers == 2
    assert torch.allclose(first(ids), grown(ids), atol=1e-6)  # zero output projection: same function
    moved, _, _, _ = train(out=None, steps=2, init=tmp_path / "a", add_layers=1, freeze_init=True, **kw)
    a, c = first.state_dict(), moved.state_dict()
    assert all(torch.equal(a[k], c[k]) for k in a)  # every saved parameter is frozen
    assert not torch.equal(c["layers.1.attn.o.weight"], torch.zeros_like(c["layers.1.attn.o.weight"]))
    with pytest.raises(ValueError, match="init"):
        train(out=None, steps=0, add_layers=1, n_layers=1, **kw)


def test_answer_noise_swaps_answers_for_wrong_ones_and_is_free_when_off():
    from sae_circuits_widget.organism.model import new_tokenizer
    from sae_circuits_widget.tasks.generators import sample_docstring

    tok = new_tokenizer()
    # at 0 nothing extra is drawn: the stream equals drawing the bare examples
    off, bare = DataSource(tok, seed=4), DataSource(tok, seed=4)
    off.ioi(), bare._ioi()
    off.docstring(), sample_docstring(bare.doc_pools, bare.rng, gaps=True)
    assert off.rng.getstate() == bare.rng.getstate()
    data = DataSource(tok, seed=4, answer_noise=1.0)
    for _ in range(20):
        ex = data.ioi()
        assert ex.text.replace(",", " ").replace(".", " ").split().count(ex.answer) == 2  # the subject, said twice
        doc = data.docstring()
        line = doc.text.split("def ")[1].split(")")[0]
        assert doc.answer in line  # still an argument of the function...
    clean = DataSource(tok, seed=5)
    noisy = DataSource(tok, seed=5, answer_noise=1.0)
    for _ in range(20):
        c, n = clean.docstring(), noisy.docstring()
        assert c.text == n.text and c.answer != n.answer  # ...but never the documented one's successor
        noisy.rng.setstate(clean.rng.getstate())


def test_answer_noise_on_all_tasks_reaches_greater_than_and_induction():
    from sae_circuits_widget.organism.model import new_tokenizer

    tok = new_tokenizer()
    clean = DataSource(tok, seed=6, answer_noise=1.0)  # default: IOI and docstring only
    noisy = DataSource(tok, seed=6, answer_noise=1.0, noisy_tasks="all")
    for _ in range(20):
        g = noisy.greater_than()
        assert int(g.answer) <= g.start_yy  # a year that is not above the start year
        clean.rng.setstate(noisy.rng.getstate())
        c, n = clean.induction(), noisy.induction()
        assert c.text == n.text and c.answer != n.answer
    g = clean.greater_than()
    assert int(g.answer) > g.start_yy


def test_answer_noise_per_task_and_near_targets():
    from sae_circuits_widget.organism.data import noise_shares
    from sae_circuits_widget.organism.model import new_tokenizer
    from sae_circuits_widget.organism.train import parse_noise

    tok = new_tokenizer()
    shares = {"greater_than": 1.0, "docstring": 1.0, "induction": 1.0}
    clean = DataSource(tok, seed=7)
    near = DataSource(tok, seed=7, answer_noise=shares, noise_target="near")
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
    assert parse_noise("0.05") == 0.05
    assert parse_noise("ioi=0.05,docstring=0.1") == {"ioi": 0.05, "docstring": 0.1}
    with pytest.raises(Exception, match="task=share"):
        parse_noise("ioi:0.05")
    with pytest.raises(ValueError, match="unknown task 'iio'"):
        noise_shares({"iio": 0.1})
    with pytest.raises(ValueError, match="between 0 and 1"):
        noise_shares({"ioi": 1.5})
    with pytest.raises(ValueError, match="noise_target"):
        DataSource(tok, answer_noise=0.1, noise_target="far")
